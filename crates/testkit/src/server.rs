//! One in-process ado-ingest on port 0 with its own store and exchange, built in the service's two
//! phases (so the reconcilers and the store are at hand before it serves), and the topology guard
//! that deletes a test's exchanges and queues even when the test panics.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ado_ingest::app::App;
use ado_ingest::config::{Config, OrganizationConfig};
use ado_ingest::reconcile::Reconcilers;
use ado_ingest::store::Store;
use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::http::{PASSWORD, USER, post_hook};

/// Deletes everything the service (and a [`crate::Tap`]) declares for an exchange when dropped.
pub struct Topology {
    exchange: String,
    armed: bool,
}

impl Topology {
    pub fn guard(exchange: &str) -> Self {
        Self {
            exchange: exchange.to_string(),
            armed: true,
        }
    }

    pub fn exchange(&self) -> &str {
        &self.exchange
    }

    /// Leaves the topology in place (to look at it after a test).
    pub fn keep(mut self) {
        self.armed = false;
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let exchange = self.exchange.clone();
        crate::broker::run_blocking(async move {
            crate::broker::delete(&[format!("{exchange}.tap")], &[]).await;
            ado_ingest::publish::delete_topology(&crate::amqp_url(), &exchange).await;
        });
    }
}

/// How to start a [`TestServer`]: `ADO_INGEST_*` keys on top of the test defaults, and where its
/// store and exchange are (fresh ones unless given — a restarted server reuses both).
#[derive(Clone, Default)]
pub struct ServerOptions {
    pub env: Vec<(String, String)>,
    pub amqp_url: Option<String>,
    pub store_dir: Option<PathBuf>,
    pub exchange: Option<String>,
    pub organizations: Vec<OrganizationConfig>,
    /// Sets `reconcile.hook_url` to this server's own `/hooks`.
    pub hook_url_is_self: bool,
}

impl ServerOptions {
    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn amqp_url(mut self, url: &str) -> Self {
        self.amqp_url = Some(url.into());
        self
    }

    pub fn store_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.store_dir = Some(dir.into());
        self
    }

    pub fn exchange(mut self, exchange: &str) -> Self {
        self.exchange = Some(exchange.into());
        self
    }

    pub fn organizations(mut self, orgs: Vec<OrganizationConfig>) -> Self {
        self.organizations = orgs;
        self
    }

    pub fn hook_url_is_self(mut self) -> Self {
        self.hook_url_is_self = true;
        self
    }

    /// The configuration a server with these options runs on.
    pub fn config(&self, exchange: &str, store_dir: &std::path::Path) -> Config {
        let mut env: BTreeMap<String, String> = BTreeMap::new();
        env.insert("ADO_INGEST_EXCHANGE".into(), exchange.into());
        let url = self.amqp_url.clone().unwrap_or_else(crate::amqp_url);
        env.insert("ADO_INGEST_AMQP_URL".into(), url);
        let store = store_dir.join("ado-ingest.sqlite");
        env.insert("ADO_INGEST_STORE".into(), store.display().to_string());
        env.insert(
            "ADO_INGEST_HOOK_CREDENTIALS".into(),
            format!("{USER}:{PASSWORD}"),
        );
        env.insert("ADO_INGEST_SHUTDOWN_GRACE".into(), "10s".into());
        env.insert("ADO_INGEST_PUBLISH_MAX_BACKOFF".into(), "1s".into());
        for (k, v) in &self.env {
            env.insert(k.clone(), v.clone());
        }
        let mut config = Config::load(None, &env).expect("test config");
        if !self.organizations.is_empty() {
            config.organizations = self.organizations.clone();
        }
        config
    }
}

/// A running in-process server. Dropping it cancels it; the topology of an exchange it made up
/// itself is deleted then too (a test that names the exchange holds its own [`Topology`]).
pub struct TestServer {
    pub base: String,
    pub exchange: String,
    pub shutdown: CancellationToken,
    pub task: Option<JoinHandle<anyhow::Result<()>>>,
    pub reconcilers: Reconcilers,
    pub store: Arc<dyn Store>,
    _topology: Option<Topology>,
    _tmp: Option<tempfile::TempDir>,
}

impl TestServer {
    /// Builds the server (store open, reconcilers made) and starts serving; does not wait for the
    /// broker (see [`TestServer::wait_ready`]).
    pub async fn start(opts: ServerOptions) -> Self {
        let (exchange, topology) = match &opts.exchange {
            Some(x) => (x.clone(), None),
            None => {
                let x = crate::unique("ex");
                let guard = Topology::guard(&x);
                (x, Some(guard))
            }
        };
        let (tmp, store_dir) = match &opts.store_dir {
            Some(d) => (None, d.clone()),
            None => {
                let t = tempfile::tempdir().unwrap();
                let p = t.path().to_path_buf();
                (Some(t), p)
            }
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut config = opts.config(&exchange, &store_dir);
        if opts.hook_url_is_self {
            config.reconcile.hook_url = format!("{base}/hooks");
        }
        let app = App::build(config, listener).await.expect("build the app");
        let reconcilers = app.reconcilers().clone();
        let store = app.store().clone();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(app.run(shutdown.clone()));
        Self {
            base,
            exchange,
            shutdown,
            task: Some(task),
            reconcilers,
            store,
            _topology: topology,
            _tmp: tmp,
        }
    }

    /// [`TestServer::start`], then waits until `/readyz` says the broker is connected.
    pub async fn ready(opts: ServerOptions) -> Self {
        let server = Self::start(opts).await;
        server.wait_ready().await;
        server
    }

    /// Waits until `/readyz` answers 200 (store writable, broker connected, topology declared).
    pub async fn wait_ready(&self) {
        let stopped = self.task.as_ref().is_none_or(|t| t.is_finished());
        assert!(!stopped, "server stopped during start-up");
        crate::wait_ready(&self.base, Duration::from_secs(20)).await;
    }

    pub fn hooks_url(&self) -> String {
        format!("{}/hooks", self.base)
    }

    /// POSTs raw bytes to `/hooks` with the test credentials.
    pub async fn post(&self, body: &[u8]) -> (u16, Value) {
        post_hook(&self.hooks_url(), body, Some((USER, PASSWORD))).await
    }

    /// POSTs a JSON value to `/hooks` with the test credentials.
    pub async fn post_hook(&self, body: &Value) -> (u16, Value) {
        self.post(&serde_json::to_vec(body).unwrap()).await
    }

    /// Graceful stop (like SIGTERM); returns what the server returned.
    pub async fn stop(mut self) -> Option<anyhow::Result<()>> {
        self.shutdown.cancel();
        let task = self.task.take()?;
        match tokio::time::timeout(Duration::from_secs(30), task).await {
            Ok(Ok(result)) => Some(result),
            _ => None,
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
