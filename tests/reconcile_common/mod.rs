//! Shared helpers of the reconciler tests: a simulator, ado-ingest in process (or just a store and a
//! reconciler), a tap on the test's exchange, and the events the ground truth says should exist.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ado_ingest::ado::{ClientOptions, OrgClient, PatCredential};
use ado_ingest::config::{Config, OrganizationConfig, ReconcileConfig, Stream};
use ado_ingest::normalize::{NormalizeOptions, Origin, normalize_hook, parse_envelope};
use ado_ingest::reconcile::{Reconciler, Reconcilers};
use ado_ingest::sim::{self, SimConfig, Simulator, TruthEntry};
use ado_ingest::store::{Store, sqlite::SqliteStore};
use futures::StreamExt;
use lapin::options::BasicAckOptions;
use lapin::{Connection, ConnectionProperties};
use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
pub const USER: &str = "ado";
pub const PASSWORD: &str = "hook-secret";

pub fn unique(prefix: &str) -> String {
    let n: u64 = rand::random();
    format!("test.{prefix}.{n:016x}")
}

/// A simulator on 127.0.0.1:0 with fast delivery timings.
pub async fn start_sim(config: SimConfig) -> Simulator {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    sim::start(config, listener).await.unwrap()
}

pub fn fast_sim(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        time_scale: 0.0005,
        request_timeout: Duration::from_secs(5),
        ..SimConfig::default()
    }
}

/// The simulated organization as a configured one (PAT auth, every stream).
pub fn org_config(sim: &Simulator, name: &str) -> OrganizationConfig {
    let info = sim.org(name).expect("simulated org");
    let mut org = OrganizationConfig::with_pat(info.base_url.trim_end_matches('/'), sim.pat());
    org.max_concurrency = 4;
    org
}

/// Small pages so every stream needs several.
pub fn reconcile_config(page_size: u32) -> ReconcileConfig {
    ReconcileConfig {
        interval: Duration::from_secs(3600),
        overlap: Duration::from_secs(600),
        page_size,
        ..ReconcileConfig::default()
    }
}

/// Client options with short retry delays (tests hit injected 5xx and 429s).
pub fn fast_client(org: &OrganizationConfig) -> OrgClient {
    let options = ClientOptions {
        max_concurrency: org.max_concurrency,
        backoff_base: Duration::from_millis(20),
        backoff_max: Duration::from_millis(200),
        request_timeout: Duration::from_secs(20),
        max_retry_after: Duration::from_secs(3),
        slow_down_max: Duration::from_millis(200),
        ..ClientOptions::default()
    };
    let pat = org.pat.as_ref().expect("pat");
    OrgClient::with_credential(
        org.name(),
        &org.url,
        Arc::new(PatCredential::new(pat).unwrap()),
        options,
    )
    .unwrap()
}

/// A store and a reconciler without server or broker (events are read back from the outbox).
pub struct Bench {
    pub store: Arc<dyn Store>,
    pub reconciler: Reconciler,
    pub dir: tempfile::TempDir,
}

impl Bench {
    pub async fn new(org: OrganizationConfig, page_size: u32) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(&dir).await;
        let client = fast_client(&org);
        let reconciler = Reconciler::with_client(
            org,
            client,
            store.clone(),
            reconcile_config(page_size),
            false,
        );
        Self {
            store,
            reconciler,
            dir,
        }
    }

    /// Another reconciler on the same store, as after a restart (empty caches).
    pub fn restarted(&self, org: OrganizationConfig, page_size: u32) -> Reconciler {
        let client = fast_client(&org);
        Reconciler::with_client(
            org,
            client,
            self.store.clone(),
            reconcile_config(page_size),
            false,
        )
    }

    /// Every event in the outbox (id → body), failing on a repeated id.
    pub async fn outbox(&self) -> BTreeMap<String, Value> {
        let rows = self.store.claim_pending(1_000_000).await.unwrap();
        let mut out = BTreeMap::new();
        for r in rows {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            assert!(
                out.insert(r.id.clone(), body).is_none(),
                "id {} twice in the outbox",
                r.id
            );
        }
        out
    }
}

pub async fn open_store(dir: &tempfile::TempDir) -> Arc<dyn Store> {
    let path = dir.path().join("store.sqlite");
    Arc::new(
        SqliteStore::open(path.to_str().unwrap(), 10_000_000)
            .await
            .unwrap(),
    )
}

/// What the receiver publishes for one change: the canonical payload through the hook path.
#[derive(Debug, Clone)]
pub struct Expected {
    pub id: String,
    pub event_type: String,
    pub routing_key: String,
    pub body: Value,
    pub truth: TruthEntry,
}

pub fn expected(truth: &[TruthEntry]) -> Vec<Expected> {
    let opts = NormalizeOptions {
        include_raw: false,
        origin: Origin::Hook,
        org_override: None,
    };
    truth
        .iter()
        .map(|t| {
            let bytes = serde_json::to_vec(&t.canonical_payload()).unwrap();
            let env = parse_envelope(&bytes).unwrap();
            let e = normalize_hook(&env, &opts);
            Expected {
                id: e.id,
                event_type: e.event_type,
                routing_key: e.routing_key,
                body: serde_json::from_slice(&e.body).unwrap(),
                truth: t.clone(),
            }
        })
        .collect()
}

/// `data` without `raw` (what must be equal whichever path published a change).
pub fn data_of(body: &Value) -> Value {
    let mut d = body.get("data").cloned().unwrap_or(Value::Null);
    if let Some(m) = d.as_object_mut() {
        m.remove("raw");
    }
    d
}

/// ado-ingest in process: config from env-style keys plus the organizations.
pub struct Server {
    pub base: String,
    pub exchange: String,
    pub shutdown: CancellationToken,
    pub task: JoinHandle<anyhow::Result<()>>,
    pub reconcilers: Reconcilers,
    _dir: tempfile::TempDir,
}

impl Server {
    pub async fn start(orgs: Vec<OrganizationConfig>, page_size: u32) -> Self {
        Self::start_with(orgs, page_size, false).await
    }

    /// `repair_subscriptions`: `reconcile.hook_url` is this server's `/hooks`.
    pub async fn start_with(
        orgs: Vec<OrganizationConfig>,
        page_size: u32,
        repair_subscriptions: bool,
    ) -> Self {
        let exchange = unique("rec");
        let dir = tempfile::tempdir().unwrap();
        let mut env: BTreeMap<String, String> = BTreeMap::new();
        env.insert("ADO_INGEST_EXCHANGE".into(), exchange.clone());
        env.insert("ADO_INGEST_AMQP_URL".into(), AMQP_URL.into());
        env.insert(
            "ADO_INGEST_STORE".into(),
            dir.path().join("store.sqlite").display().to_string(),
        );
        env.insert(
            "ADO_INGEST_HOOK_CREDENTIALS".into(),
            format!("{USER}:{PASSWORD}"),
        );
        env.insert("ADO_INGEST_SHUTDOWN_GRACE".into(), "10s".into());
        env.insert("ADO_INGEST_PUBLISH_MAX_BACKOFF".into(), "1s".into());
        env.insert("ADO_INGEST_PUBLISH_INCLUDE_RAW".into(), "false".into());
        env.insert("ADO_INGEST_RECONCILE_INTERVAL".into(), "1h".into());
        env.insert(
            "ADO_INGEST_RECONCILE_PAGE_SIZE".into(),
            page_size.to_string(),
        );
        let mut config = Config::load(None, &env).expect("test config");
        config.organizations = orgs;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        if repair_subscriptions {
            config.reconcile.hook_url = format!("{base}/hooks");
        }
        let shutdown = CancellationToken::new();
        let slot: Arc<Mutex<Option<Reconcilers>>> = Arc::default();
        let put = slot.clone();
        let task = tokio::spawn(ado_ingest::app::run_with(
            config,
            listener,
            shutdown.clone(),
            move |r| *put.lock().unwrap() = Some(r.clone()),
        ));
        let reconcilers = loop {
            if let Some(r) = slot.lock().unwrap().clone() {
                break r;
            }
            assert!(!task.is_finished(), "server stopped during start-up");
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let server = Self {
            base,
            exchange,
            shutdown,
            task,
            reconcilers,
            _dir: dir,
        };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&self) {
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

    pub fn hooks_url(&self) -> String {
        format!("{}/hooks", self.base)
    }

    pub async fn post_hook(&self, body: &Value) -> (u16, Value) {
        let resp = reqwest::Client::new()
            .post(self.hooks_url())
            .basic_auth(USER, Some(PASSWORD))
            .header("content-type", "application/json")
            .body(serde_json::to_vec(body).unwrap())
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(30), self.task).await;
        cleanup(&self.exchange).await;
    }
}

/// A queue bound with `#` to the test exchange.
pub struct Tap {
    _conn: Connection,
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
            consumer,
        }
    }

    /// `(routing key, body)` of every message until `quiet` passes without one (or `timeout`).
    pub async fn drain(&mut self, quiet: Duration, timeout: Duration) -> Vec<(String, Value)> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        while Instant::now() < deadline {
            match tokio::time::timeout(quiet, self.consumer.next()).await {
                Ok(Some(Ok(d))) => {
                    out.push((
                        d.routing_key.to_string(),
                        serde_json::from_slice(&d.data).unwrap_or(Value::Null),
                    ));
                    d.ack(BasicAckOptions::default()).await.unwrap();
                }
                _ => break,
            }
        }
        out
    }
}

pub async fn cleanup(exchange: &str) {
    let Ok(conn) = Connection::connect(AMQP_URL, ConnectionProperties::default()).await else {
        return;
    };
    let Ok(ch) = conn.create_channel().await else {
        return;
    };
    for q in ["unrouted", "all", "tap", "ledger"] {
        let _ = ch
            .queue_delete(format!("{exchange}.{q}").into(), Default::default())
            .await;
    }
    for x in [
        format!("{exchange}.in"),
        exchange.to_string(),
        format!("{exchange}.unrouted"),
    ] {
        let _ = ch.exchange_delete(x.into(), Default::default()).await;
    }
    let _ = conn.close(200, "bye".into()).await;
}

/// Types REST reproduces completely: every change of these types must be found.
pub const REST_COMPLETE: &[&str] = &[
    "git.push",
    "git.pullrequest.created",
    "git.pullrequest.commented",
    "build.completed",
    "pipeline.run.state_changed",
    "pipeline.stage.state_changed",
    "pipeline.job.state_changed",
    "tfvc.checkin",
    "workitem.created",
    "workitem.commented",
];

/// Whether a `workitem.updated` change is a link-only update (no new revision).
pub fn link_only(e: &Expected) -> bool {
    e.body["data"]["linkOnly"].as_bool() == Some(true)
}

/// Ids by type, for messages.
pub fn ids_by_type(expected: &[Expected]) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in expected {
        out.entry(e.event_type.clone())
            .or_default()
            .insert(e.id.clone());
    }
    out
}

pub fn all_streams() -> Vec<Stream> {
    Stream::all()
}
