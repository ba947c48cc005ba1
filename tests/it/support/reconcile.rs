//! Shared helpers of the reconciler tests: a simulator, ado-ingest in process (or just a store and a
//! reconciler), a tap on the test's exchange, and the events the ground truth says should exist.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use ado_ingest::ado::{ClientOptions, OrgClient, PatCredential};
use ado_ingest::config::{OrganizationConfig, ReconcileConfig, Stream};
use ado_ingest::normalize::{NormalizeOptions, Origin, normalize_hook, parse_envelope};
use ado_ingest::reconcile::Reconciler;
use ado_ingest::store::{Store, sqlite::SqliteStore};
use ado_sim::{Simulator, TruthEntry};
pub use ado_testkit::{PASSWORD, ServerOptions, Tap, TestServer, Topology, USER, unique};
use serde_json::Value;

pub use ado_testkit::sim::{fast_sim, start_sim};

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

/// ado-ingest in process for the reconciler tests: the organizations, `page_size`, an hourly
/// interval (passes run when a test says so) and messages without `raw`.
pub fn server_options(orgs: Vec<OrganizationConfig>, page_size: u32) -> ServerOptions {
    ServerOptions::default()
        .organizations(orgs)
        .with("ADO_INGEST_PUBLISH_INCLUDE_RAW", "false")
        .with("ADO_INGEST_RECONCILE_INTERVAL", "1h")
        .with("ADO_INGEST_RECONCILE_PAGE_SIZE", &page_size.to_string())
}

/// Starts a server and waits until it is ready.
pub async fn start_server(options: ServerOptions) -> TestServer {
    TestServer::ready(options).await
}

/// Types REST reproduces completely: every change of these types must be found.
pub const REST_COMPLETE: &[&str] = &[
    "git.push",
    "git.pullrequest.created",
    "git.pullrequest.updated",
    "git.pullrequest.commented",
    "build.completed",
    "pipeline.run.state_changed",
    "pipeline.stage.state_changed",
    "pipeline.job.state_changed",
    "pipeline.approval.pending",
    "pipeline.approval.completed",
    "release.deployment.started",
    "release.deployment.completed",
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
