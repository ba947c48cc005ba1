//! A simulated Azure DevOps (Services and Server collections) for the demo, the tests and the
//! benchmarks: seeded, deterministic activity; service hooks in the real envelope and resource
//! shapes, delivered with Azure DevOps' retry / probation / disable rules and optional faults; the
//! REST surface the reconciler and subscription management use; and a ground truth of every change.
//!
//! # Using it
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use std::time::Duration;
//! use ado_ingest::sim::{self, ActivitySpec, FaultRates, SimConfig, SubscriptionRequest};
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let sim = sim::start(SimConfig { seed: 7, time_scale: 0.001, ..SimConfig::default() }, listener).await?;
//! let org = sim.orgs()[0].clone();          // name, collection id, base URL ("http://127.0.0.1:PORT/contoso/")
//! // One subscription per event type (pinned resource versions, full resources), with Basic credentials:
//! sim.subscribe_all(&org.name, "http://127.0.0.1:8080/hooks", Some(("ado", "secret")))?;
//! // …or one at a time, exactly as `POST _apis/hooks/subscriptions` would:
//! sim.create_subscription(&org.name, SubscriptionRequest::webhook("git.push", "http://127.0.0.1:8080/hooks"))?;
//! sim.set_faults(FaultRates { duplicate: 0.05, reorder: 0.05, delay: 0.05, ..FaultRates::default() });
//! let report = sim.generate(&ActivitySpec::new(500))?;  // 500 actions → report.changes changes
//! let stats = sim.settle(Duration::from_secs(30)).await?;
//! for entry in sim.truth() {
//!     let _payload = entry.canonical_payload();   // feed to normalize_hook to get the expected id
//! }
//! let _per_type = sim.truth_summary();
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! REST (PAT via Basic auth, any user name; wrong PAT → 401) is served under
//! `http://127.0.0.1:PORT/{org}/…` (Services style) or `http://127.0.0.1:PORT/tfs/{Collection}/…`
//! (Server style), with and without a `{project}` segment: connectionData, projects, git
//! repositories / pushes / push commits / pull requests, builds / timeline, reporting work item
//! revisions, work items batch and updates, recycle bin, TFVC changesets, hook subscriptions,
//! notifications and notificationsquery. See [`rest`].

pub mod activity;
pub mod cli;
pub mod clock;
pub mod delivery;
pub mod event;
pub mod hooks;
pub mod ids;
pub mod model;
mod ops;
pub mod ratelimit;
pub mod render;
pub mod rest;
mod server;
mod shared;
pub mod truth;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use activity::{ActivityMix, ActivitySpec};
pub use clock::ClockMode;
pub use delivery::subscription::{SubscriptionRequest, SubscriptionStatus};
pub use delivery::{DeliveryStats, FaultRates};
pub use event::{EVENT_KINDS, EventKind};
pub use model::UrlStyle;
pub use model::seed::OrgSpec;
pub use ops::ActivityReport;
pub use ratelimit::RateLimit;
pub use server::start;
pub use shared::RestFaults;
pub use truth::{DeliveryTally, TruthEntry, TypeSummary};

/// Errors of the simulator API (the REST layer maps them to Azure DevOps error responses).
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("no simulated organization or collection named `{0}`")]
    UnknownOrg(String),
    #[error("no subscription `{0}`")]
    UnknownSubscription(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("deliveries did not settle in time: {outstanding} notifications outstanding")]
    NotSettled { outstanding: u64 },
}

/// How to start a simulator.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub seed: u64,
    pub orgs: Vec<OrgSpec>,
    /// The personal access token REST requests must present (Basic, any user name).
    pub pat: String,
    /// Multiplier on Azure DevOps' delivery delays (retries, probation, injected delays):
    /// 1.0 = real timings, 0.001 = a thousand times faster.
    pub time_scale: f64,
    pub clock: ClockMode,
    /// Per-POST timeout of hook deliveries (Azure DevOps: about 30 s).
    pub request_timeout: Duration,
    pub faults: FaultRates,
    pub rate_limit: Option<RateLimit>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            orgs: vec![OrgSpec::services("contoso")],
            pat: "sim-pat".into(),
            time_scale: 1.0,
            clock: ClockMode::default(),
            request_timeout: Duration::from_secs(30),
            faults: FaultRates::default(),
            rate_limit: None,
        }
    }
}

/// A simulated collection as the outside sees it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgInfo {
    pub name: String,
    pub style: UrlStyle,
    /// `resourceContainers.collection.id`: ado-ingest's tenant key.
    pub collection_id: String,
    /// Account id (Services) or server id (Server).
    pub host_id: String,
    /// REST base URL, ending with `/`.
    pub base_url: String,
    /// `(id, name)` of each project.
    pub projects: Vec<(String, String)>,
    /// `(id, name, project id)` of each Git repository.
    pub repositories: Vec<(String, String, String)>,
}

/// A subscription's delivery state.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionInfo {
    pub id: String,
    pub org: String,
    pub event_type: String,
    pub resource_version: Option<String>,
    pub status: SubscriptionStatus,
    pub probation_retries: u32,
    pub last_probation_retry_date: Option<DateTime<Utc>>,
    /// Notifications created so far (excludes events dropped on probation or by fault).
    pub notifications: usize,
    pub queued: usize,
}

/// A running simulator: cheap to clone, every clone drives the same organizations.
#[derive(Clone)]
pub struct Simulator {
    shared: Arc<shared::Shared>,
    addr: SocketAddr,
}

impl Simulator {
    /// The address the REST server listens on (hooks are sent from an ephemeral port).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn orgs(&self) -> Vec<OrgInfo> {
        let world = self.shared.world();
        world
            .orgs
            .iter()
            .map(|o| OrgInfo {
                name: o.name.clone(),
                style: o.style,
                collection_id: o.collection_id.clone(),
                host_id: o.host_id.clone(),
                base_url: o.base_url.clone(),
                projects: o
                    .projects
                    .iter()
                    .map(|p| (p.id.clone(), p.name.clone()))
                    .collect(),
                repositories: o
                    .repos
                    .iter()
                    .map(|r| {
                        (
                            r.id.clone(),
                            r.name.clone(),
                            o.projects[r.project].id.clone(),
                        )
                    })
                    .collect(),
            })
            .collect()
    }

    pub fn org(&self, name: &str) -> Option<OrgInfo> {
        self.orgs()
            .into_iter()
            .find(|o| o.name.eq_ignore_ascii_case(name))
    }

    /// The PAT REST requests must present.
    pub fn pat(&self) -> String {
        self.shared.controls().pat.clone()
    }

    pub fn set_pat(&self, pat: &str) {
        self.shared.controls().pat = pat.to_string();
    }

    /// Creates a subscription as `POST _apis/hooks/subscriptions` would; returns its id.
    pub fn create_subscription(
        &self,
        org: &str,
        req: SubscriptionRequest,
    ) -> Result<String, SimError> {
        let json = ops::create_subscription(&self.shared, org, req)?;
        Ok(json["id"].as_str().unwrap_or_default().to_string())
    }

    /// One Web Hooks subscription per event type the collection raises, posting to `url` with
    /// optional Basic credentials, pinned resource versions, full resources and all messages
    /// (explicit, because collection-wide subscriptions default to minimal resources).
    pub fn subscribe_all(
        &self,
        org: &str,
        url: &str,
        basic: Option<(&str, &str)>,
    ) -> Result<Vec<String>, SimError> {
        let server = self
            .org(org)
            .ok_or_else(|| SimError::UnknownOrg(org.to_string()))?
            .style
            == UrlStyle::Server;
        EVENT_KINDS
            .iter()
            .filter(|k| k.on_server || !server)
            .map(|k| {
                let mut req = SubscriptionRequest::webhook(k.event_type, url)
                    .consumer_input("resourceDetailsToSend", "all")
                    .consumer_input("messagesToSend", "all")
                    .consumer_input("detailedMessagesToSend", "all");
                if let Some((u, p)) = basic {
                    req = req.basic_auth(u, p);
                }
                self.create_subscription(org, req)
            })
            .collect()
    }

    fn info(org: &model::Org, s: &delivery::subscription::Subscription) -> SubscriptionInfo {
        SubscriptionInfo {
            id: s.id.clone(),
            org: org.name.clone(),
            event_type: s.request.event_type.clone(),
            resource_version: s.request.resource_version.clone(),
            status: s.status,
            probation_retries: s.probation_retries,
            last_probation_retry_date: s.last_probation_retry_date,
            notifications: s.notifications.len(),
            queued: s.queue.len(),
        }
    }

    pub fn subscriptions(&self, org: &str) -> Vec<SubscriptionInfo> {
        let world = self.shared.world();
        world
            .orgs
            .iter()
            .filter(|o| o.name.eq_ignore_ascii_case(org))
            .flat_map(|o| o.subscriptions.iter().map(move |s| Self::info(o, s)))
            .collect()
    }

    pub fn subscription(&self, org: &str, id: &str) -> Option<SubscriptionInfo> {
        self.subscriptions(org).into_iter().find(|s| s.id == id)
    }

    /// Sets a subscription's status as a PUT with only the status changed would (e.g. re-enable).
    pub fn set_subscription_status(
        &self,
        org: &str,
        id: &str,
        status: SubscriptionStatus,
    ) -> Result<(), SimError> {
        let req = {
            let world = self.shared.world();
            let o = world
                .orgs
                .iter()
                .find(|o| o.name.eq_ignore_ascii_case(org))
                .ok_or_else(|| SimError::UnknownOrg(org.into()))?;
            let s = o
                .subscriptions
                .iter()
                .find(|s| s.id == id)
                .ok_or_else(|| SimError::UnknownSubscription(id.into()))?;
            s.request.clone()
        };
        ops::replace_subscription(
            &self.shared,
            org,
            id,
            SubscriptionRequest {
                status: Some(status),
                ..req
            },
        )
        .map(|_| ())
    }

    pub fn delete_subscription(&self, org: &str, id: &str) -> Result<(), SimError> {
        ops::delete_subscription(&self.shared, org, id)
    }

    /// Performs `spec.actions` seeded actions; their hook deliveries proceed in the background.
    pub fn generate(&self, spec: &ActivitySpec) -> Result<ActivityReport, SimError> {
        ops::generate(&self.shared, spec)
    }

    /// Waits until no notification is queued, in flight, retrying or on probation.
    pub async fn settle(&self, timeout: Duration) -> Result<DeliveryStats, SimError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.counters.settled.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let stats = self.shared.counters.snapshot();
            if stats.outstanding == 0 {
                return Ok(stats);
            }
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(SimError::NotSettled { outstanding: self.shared.counters.snapshot().outstanding });
                }
            }
        }
    }

    pub fn stats(&self) -> DeliveryStats {
        self.shared.counters.snapshot()
    }

    /// Every change so far, in order.
    pub fn truth(&self) -> Vec<TruthEntry> {
        self.shared.world().truth.entries.clone()
    }

    pub fn truth_len(&self) -> usize {
        self.shared.world().truth.entries.len()
    }

    /// Changes and delivery outcome per normalized type.
    pub fn truth_summary(&self) -> BTreeMap<&'static str, TypeSummary> {
        self.shared.world().truth.summary()
    }

    pub fn set_faults(&self, faults: FaultRates) {
        self.shared.controls().faults = faults;
    }

    pub fn set_time_scale(&self, scale: f64) {
        self.shared.controls().time_scale = scale;
    }

    pub fn set_rate_limit(&self, rate_limit: Option<RateLimit>) {
        self.shared.set_rate_limit(rate_limit);
    }

    pub fn set_rest_faults(&self, faults: RestFaults) {
        self.shared.controls().rest_faults = faults;
    }

    /// Stops the REST server and the senders (in-flight retries are abandoned).
    pub async fn shutdown(&self) {
        self.shared.shutdown.cancel();
        self.shared.tasks.close();
        self.shared.tasks.wait().await;
    }
}
