//! Test harness: an in-process server on port 0 with its own store and exchange, a RabbitMQ
//! consumer bound to that exchange, fixture loading, and hook posting.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ado_ingest::config::Config;
use base64::Engine;
use futures::StreamExt;
use lapin::options::BasicAckOptions;
use lapin::{Connection, ConnectionProperties};
use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
pub const USER: &str = "ado";
pub const PASSWORD: &str = "hook-secret";

/// A unique name for this test's exchange and queues.
pub fn unique(prefix: &str) -> String {
    let n: u64 = rand::random();
    format!("test.{prefix}.{n:016x}")
}

/// The shared fixtures directory; missing fixtures fail under CI instead of skipping.
pub fn fixtures_dir(kind: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures")).join(kind);
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() || std::env::var_os("ADO_INGEST_REQUIRE_FIXTURES").is_some()
    {
        panic!("fixtures missing at {} (required under CI)", dir.display());
    }
    eprintln!("skipping: fixtures not found at {}", dir.display());
    None
}

/// Every `*.json` hook sample (name, bytes), sorted.
pub fn hook_samples() -> Vec<(String, Vec<u8>)> {
    let Some(dir) = fixtures_dir("ado-samples") else {
        return Vec::new();
    };
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("read fixtures")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

pub fn basic_auth(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// Options for [`TestServer::start`].
#[derive(Clone)]
pub struct ServerOptions {
    pub env: Vec<(String, String)>,
    pub amqp_url: String,
    pub store_dir: Option<PathBuf>,
    pub exchange: Option<String>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            env: Vec::new(),
            amqp_url: AMQP_URL.into(),
            store_dir: None,
            exchange: None,
        }
    }
}

impl ServerOptions {
    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }
}

pub struct TestServer {
    pub base: String,
    pub exchange: String,
    pub shutdown: CancellationToken,
    pub task: JoinHandle<anyhow::Result<()>>,
    _tmp: Option<tempfile::TempDir>,
}

impl TestServer {
    pub fn config(opts: &ServerOptions, exchange: &str, store_dir: &std::path::Path) -> Config {
        let mut env: BTreeMap<String, String> = BTreeMap::new();
        env.insert("ADO_INGEST_EXCHANGE".into(), exchange.into());
        env.insert("ADO_INGEST_AMQP_URL".into(), opts.amqp_url.clone());
        env.insert(
            "ADO_INGEST_STORE".into(),
            store_dir.join("ado-ingest.sqlite").display().to_string(),
        );
        env.insert(
            "ADO_INGEST_HOOK_CREDENTIALS".into(),
            format!("{USER}:{PASSWORD}"),
        );
        env.insert("ADO_INGEST_SHUTDOWN_GRACE".into(), "10s".into());
        env.insert("ADO_INGEST_PUBLISH_MAX_BACKOFF".into(), "1s".into());
        for (k, v) in &opts.env {
            env.insert(k.clone(), v.clone());
        }
        Config::load(None, &env).expect("test config")
    }

    pub async fn start(opts: ServerOptions) -> Self {
        let exchange = opts.exchange.clone().unwrap_or_else(|| unique("ex"));
        let (tmp, store_dir) = match &opts.store_dir {
            Some(d) => (None, d.clone()),
            None => {
                let t = tempfile::tempdir().unwrap();
                let p = t.path().to_path_buf();
                (Some(t), p)
            }
        };
        let config = Self::config(&opts, &exchange, &store_dir);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(ado_ingest::app::run(config, listener, shutdown.clone()));
        Self {
            base,
            exchange,
            shutdown,
            task,
            _tmp: tmp,
        }
    }

    /// Waits until `/readyz` says the broker is connected (topology declared).
    pub async fn wait_ready(&self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = client.get(format!("{}/readyz", self.base)).send().await
                && r.status() == 200
            {
                return;
            }
            assert!(Instant::now() < deadline, "server never became ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(30), self.task).await;
    }

    pub async fn post(&self, body: &[u8]) -> (u16, Value) {
        post_hook(
            &format!("{}/hooks", self.base),
            body,
            Some((USER, PASSWORD)),
        )
        .await
    }
}

pub async fn post_hook(url: &str, body: &[u8], creds: Option<(&str, &str)>) -> (u16, Value) {
    let client = reqwest::Client::new();
    let mut req = client
        .post(url)
        .header("content-type", "application/json; charset=utf-8")
        .body(body.to_vec());
    if let Some((u, p)) = creds {
        req = req.header("authorization", basic_auth(u, p));
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// One message read back from the exchange.
#[derive(Debug, Clone)]
pub struct Received {
    pub routing_key: String,
    pub message_id: Option<String>,
    pub content_type: Option<String>,
    pub kind: Option<String>,
    pub delivery_mode: Option<u8>,
    pub timestamp: Option<u64>,
    pub body: Value,
}

/// A queue bound with `#` to the test exchange (declared by the server).
pub struct Tap {
    /// Kept so the consumer's connection lives as long as the tap.
    _conn: Connection,
    pub queue: String,
    consumer: lapin::Consumer,
}

impl Tap {
    pub async fn bind(exchange: &str) -> Self {
        let conn = Connection::connect(AMQP_URL, ConnectionProperties::default())
            .await
            .unwrap();
        let queue = format!("{exchange}.tap");
        let consumer = ado_ingest::publish::consume_everything(&conn, exchange, Some(&queue))
            .await
            .unwrap();
        Self {
            _conn: conn,
            queue,
            consumer,
        }
    }

    /// Collects messages until `expected` arrived and then `quiet` passed without more, or `timeout`.
    pub async fn collect(
        &mut self,
        expected: usize,
        quiet: Duration,
        timeout: Duration,
    ) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        loop {
            let now = Instant::now();
            if now >= deadline {
                return out;
            }
            let wait = if out.len() >= expected {
                quiet
            } else {
                deadline - now
            };
            match tokio::time::timeout(wait.min(deadline - now), self.consumer.next()).await {
                Ok(Some(Ok(d))) => {
                    let p = &d.properties;
                    out.push(Received {
                        routing_key: d.routing_key.to_string(),
                        message_id: p.message_id().as_ref().map(|s| s.to_string()),
                        content_type: p.content_type().as_ref().map(|s| s.to_string()),
                        kind: p.kind().as_ref().map(|s| s.to_string()),
                        delivery_mode: *p.delivery_mode(),
                        timestamp: *p.timestamp(),
                        body: serde_json::from_slice(&d.data).unwrap_or(Value::Null),
                    });
                    d.ack(BasicAckOptions::default()).await.unwrap();
                }
                Ok(_) => return out,
                Err(_) => {
                    if out.len() >= expected {
                        return out;
                    }
                }
            }
        }
    }
}

/// Deletes the exchanges and queues a server declared for `exchange`, and the test's tap queue.
pub async fn cleanup(exchange: &str) {
    if let Ok(conn) = Connection::connect(AMQP_URL, ConnectionProperties::default()).await
        && let Ok(ch) = conn.create_channel().await
    {
        let _ = ch
            .queue_delete(format!("{exchange}.tap").into(), Default::default())
            .await;
        let _ = conn.close(200, "bye".into()).await;
    }
    ado_ingest::publish::delete_topology(AMQP_URL, exchange).await;
}
