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
//! use ado_sim::{self as sim, ActivitySpec, FaultRates, SimConfig, SubscriptionRequest};
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
//!
//! # Behaviour worth knowing
//!
//! * **Determinism**: ids, names, activity and (with the default [`ClockMode::Fixed`]) times follow
//!   from `seed`; [`ClockMode::Wall`] dates changes with the real time (what `ado-ingest sim` uses).
//! * **Actions and changes**: [`Simulator::generate`] performs actions (one step of a push, a pull
//!   request, a pipeline run, a TFVC check-in or a work item); each raises one or more hook events,
//!   and every event is one [`TruthEntry`] with its normalized type and identity
//!   (docs/contract.md#identities).
//! * **Delivery** ([`delivery`]): transient 408/502/503/504/timeouts → 8 retries after 1, 2, 4, 8,
//!   16, 32, 60, 60 s; any other failure → `onProbation` (new events dropped, the failed
//!   notification retried after 20 min … 15 h, then `disabledBySystem`); 410 → `disabledBySystem`.
//!   All delays are multiplied by `time_scale`. A PUT with `status: enabled` (or
//!   [`Simulator::set_subscription_status`]) re-enables and retries at once.
//! * **Subscriptions** follow Azure DevOps' defaults: without `projectId` a subscription gets
//!   `minimal` resources and no messages unless `resourceDetailsToSend`/`messagesToSend` say
//!   otherwise ([`Simulator::subscribe_all`] asks for everything).
//! * **REST**: `api-version` above the collection's ([`OrgSpec::api_version`]) gets the real 400
//!   "out of range … supports is X"; a [`RateLimit`] produces `X-RateLimit-*`, delays and 429 +
//!   `Retry-After`; [`RestFaults`] injects 500/503.

pub mod activity;
pub mod cli;
pub mod clock;
pub mod delivery;
pub mod event;
mod handle;
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

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use activity::{ActivityMix, ActivitySpec};
pub use clock::ClockMode;
pub use delivery::subscription::{SubscriptionRequest, SubscriptionStatus};
pub use delivery::{DeliveryStats, FaultRates};
pub use event::{EVENT_KINDS, EventKind, NOT_RAISED};
pub use handle::Simulator;
pub use model::UrlStyle;
pub use model::seed::OrgSpec;
pub use ops::ActivityReport;
pub use ratelimit::RateLimit;
pub use rest::entra::EntraBehaviour;
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
    /// `consumerInputs.url`: where it posts.
    pub url: String,
    /// `publisherInputs.projectId`: its project scope, if any.
    pub project_id: Option<String>,
}
