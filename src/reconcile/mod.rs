//! The reconciler: finds every change through the Azure DevOps REST API and sends it through the same
//! normalize + store path as hooks, so what a hook already delivered is a duplicate and only what is
//! missing gets published. Also runs manual backfills.
//!
//! # Entry points (used by `app::run`, the admin API and the `backfill` command)
//!
//! * [`Reconciler::new`] — one per configured organization (`[[organizations]]`), sharing the
//!   service's [`Store`]. Cheap to clone: clones share the REST client, rate-limit state and status.
//! * [`Reconciler::run`] — the periodic loop (every `reconcile.interval`), until cancelled.
//! * [`Reconciler::run_once`] — one pass over every configured stream from its stored watermarks
//!   (re-reading `reconcile.overlap` before them), then the failed-delivery replay.
//! * [`Reconciler::replay_failed`] — only the failed-delivery replay.
//! * [`Reconciler::backfill`] — a manual backfill of a window `[since, until)`; resumable from the
//!   per-stream `cursor` of a [`JobProgress`]; reports progress after every durable page.
//! * [`Reconciler::status`] — an [`OrgStatus`] snapshot for `GET /admin/status`.
//! * [`Reconcilers`] — every organization's reconciler, found by name or URL.
//!
//! # Guarantees
//!
//! Every event goes through [`crate::normalize::normalize_resource`] with `origin = backfill` (or
//! `replay` for failed notifications), the organization's collection id and base URL, and
//! `org_override = organization name`, so ids and routing keys equal the hook path's. Each page's
//! events are inserted into the store (new ids → outbox, known ids → duplicates, not published
//! again) and only then is the page's watermark or cursor written: a crash between pages resumes
//! from the last durable page, re-reading at most one page, which the seen ids absorb.
//!
//! # What REST can and cannot reproduce
//!
//! Exactly (same id, same `data`; `time` within the hook's raise delay where the resource has no
//! time of its own): `git.push` (+ commits), `git.pullrequest.created` (id; `data` is the PR as first
//! seen), `git.pullrequest.updated` (every state, replayed from the PR's system threads and
//! iterations; not title edits or policy vote resets), `git.pullrequest.commented` (threads),
//! `build.completed`, `pipeline.run/stage/job.state_changed` (build + timeline: every state a
//! record reached; jobs on Services only), `pipeline.approval.pending` / `.completed` (timeline
//! `Checkpoint.Approval` records → `pipelines/approvals?$expand=steps`),
//! `release.deployment.started` / `.completed` (`release/deployments` on the release host),
//! `tfvc.checkin` (project ids from the changed paths), `workitem.created` / `.updated` /
//! `.commented` (revisions report, previous revision or `updates` for the diff), link-only
//! `workitem.updated` (links report + `updates`; not while the item is in the recycle bin —
//! retried once it is back).
//! Partly: `workitem.deleted` (items in the bin at a look), `workitem.restored` (items that left the
//! bin between two looks, or went back in at a new rev; a delete + restore between two looks leaves
//! no trace); `git.pullrequest.merge_attempted` (the last attempt, when the source commit or merge
//! status changed between two looks; no history of merge statuses is kept). Whatever hook Azure
//! DevOps gave up
//! on is still replayed from `notificationsquery`, whatever its type.

mod ctx;
pub mod discovery;
pub mod hook_only;
mod pass;
mod registry;
mod replay;
pub mod spec;
mod status;
mod streams;
pub mod subscriptions;
mod walk;

use std::sync::Arc;
use tracing::Instrument;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use crate::ado::{AdoError, ClientOptions, OrgClient};
use crate::config::{OrganizationConfig, ReconcileConfig};
use crate::store::{Store, StoreError};

pub use registry::Reconcilers;
pub use spec::{BackfillSpec, JobProgress, StreamProgress};
pub use status::{OrgStatus, StreamStatus, SubscriptionsStatus};
pub use walk::WATERMARK_NAMESPACE;

/// State namespace recording which replica owns each organization's periodic passes.
pub const OWNERS_NAMESPACE: &str = "owners";

/// The store lock whose holder runs an organization's periodic passes.
pub fn ownership_lock(org: &str) -> String {
    format!("reconcile:{org}")
}

/// The name under which [`OrgStatus::streams`] reports the failed-delivery replay.
pub const REPLAY: &str = "notifications";

/// Why a pass, a stream or a backfill failed.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Ado(#[from] AdoError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A backfill request that cannot run as asked (the message says what to change).
    #[error("invalid backfill request: {0}")]
    InvalidSpec(String),
    /// The configuration names something the organization does not have.
    #[error("{0}")]
    Config(String),
    /// Azure DevOps answered with something the reconciler cannot read.
    #[error("{org}: unexpected response from {route}: {message}")]
    UnexpectedResponse {
        org: String,
        route: String,
        message: String,
    },
    /// A stored watermark or a resume cursor that cannot be read (it is ignored next time).
    #[error("unreadable cursor for {stream}: {message}")]
    Cursor { stream: String, message: String },
    #[error("cancelled")]
    Cancelled,
    /// A request run on its own task ended without an answer (it panicked or was aborted).
    #[error("read-ahead request ended without an answer: {0}")]
    Task(String),
}

/// The reconciler of one organization; cheap to clone.
#[derive(Clone)]
pub struct Reconciler {
    inner: Arc<Inner>,
}

struct Inner {
    org: OrganizationConfig,
    client: OrgClient,
    store: Arc<dyn Store>,
    config: ReconcileConfig,
    include_raw: bool,
    status: status::StatusBoard,
    /// Last revision per work item, so consecutive revisions diff without extra calls.
    wi_cache: streams::workitems::RevisionCache,
    /// One periodic pass at a time per organization (watermarks must not move backwards).
    pass_lock: tokio::sync::Mutex<()>,
    routes: Arc<ctx::RouteCounts>,
}

impl Reconciler {
    /// A reconciler for a configured organization, with the production REST client settings
    /// (`max_concurrency` from the organization).
    pub fn new(
        org: OrganizationConfig,
        store: Arc<dyn Store>,
        config: ReconcileConfig,
        include_raw: bool,
    ) -> Result<Self, ReconcileError> {
        let client = OrgClient::new(&org, ClientOptions::for_org(&org))?;
        Ok(Self::with_client(org, client, store, config, include_raw))
    }

    /// A reconciler with an explicit client (tests and benchmarks tune retries and timeouts).
    pub fn with_client(
        org: OrganizationConfig,
        client: OrgClient,
        store: Arc<dyn Store>,
        config: ReconcileConfig,
        include_raw: bool,
    ) -> Self {
        let status = status::StatusBoard::new(org.name(), org.url.clone());
        Self {
            inner: Arc::new(Inner {
                org,
                client,
                store,
                config,
                include_raw,
                status,
                wi_cache: Default::default(),
                pass_lock: tokio::sync::Mutex::new(()),
                routes: Arc::default(),
            }),
        }
    }

    /// The organization's configured name (watermark keys, logs).
    pub fn name(&self) -> String {
        self.inner.org.name()
    }

    pub fn organization(&self) -> &OrganizationConfig {
        &self.inner.org
    }

    /// The organization's REST client (shared with the reconciler).
    pub fn client(&self) -> &OrgClient {
        &self.inner.client
    }

    /// Whether `name_or_url` names this organization (name case-insensitively, or its URL).
    pub fn matches(&self, name_or_url: &str) -> bool {
        let wanted = name_or_url.trim().trim_end_matches('/');
        self.name().eq_ignore_ascii_case(wanted)
            || self
                .inner
                .org
                .url
                .trim()
                .trim_end_matches('/')
                .eq_ignore_ascii_case(wanted)
    }

    /// Marks this organization as found by discovery; `lost` says since when discovery no
    /// longer lists it (`None`: it does).
    pub fn set_discovered(&self, lost: Option<chrono::DateTime<Utc>>) {
        self.inner.status.update(|s| {
            s.discovered = true;
            s.access_lost_since = lost;
        });
    }

    /// A snapshot for `GET /admin/status`.
    pub fn status(&self) -> OrgStatus {
        let mut s = self.inner.status.snapshot();
        let now = Utc::now();
        for st in s.streams.values_mut() {
            st.lag_seconds = st
                .last_success
                .map(|t| (now - t).num_milliseconds() as f64 / 1000.0);
        }
        let c = self.inner.client.counters();
        s.rest_calls = c.calls;
        s.rest_retries = c.retries;
        s.rest_throttled = c.throttled;
        s.rest_calls_by_route = self.inner.routes.snapshot();
        s
    }

    /// The periodic loop: a pass right away, then one every `reconcile.interval` (measured from
    /// the start of the previous pass), until `shutdown` is cancelled. A pass in progress stops
    /// at the next page boundary; its durable pages stay covered by the watermarks.
    pub async fn run(self, shutdown: CancellationToken) {
        let interval = self.inner.config.interval;
        let mut owned = false;
        loop {
            let started = tokio::time::Instant::now();
            let owns = self.take_ownership(&mut owned).await;
            if owns {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    result = self.run_once() => {
                        if let Err(e) = result {
                            tracing::warn!(org = %self.name(), error = %e, "reconcile pass failed; retrying next interval");
                        }
                    }
                }
            }
            let next = started + interval;
            let next_wall = Utc::now()
                + chrono::Duration::from_std(next - tokio::time::Instant::now())
                    .unwrap_or_default();
            self.inner.status.update(|s| s.next_pass = Some(next_wall));
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep_until(next) => {}
            }
        }
        self.inner.status.update(|s| {
            s.next_pass = None;
            s.running = false;
        });
        tracing::info!(org = %self.name(), "reconciler stopped");
    }

    /// Whether this replica runs the organization's periodic passes: it holds, or has just taken,
    /// the organization's lock in the store (always, on a store no other process shares). The
    /// owner is recorded for `GET /admin/status`; a change of owner is logged once.
    async fn take_ownership(&self, owned: &mut bool) -> bool {
        let store = &self.inner.store;
        let lock = ownership_lock(&self.name());
        let me = store.replica_id().to_string();
        let owns = match store.try_own(&lock).await {
            Ok(owns) => owns,
            Err(e) => {
                tracing::warn!(org = %self.name(), error = %e, "cannot tell whether this replica owns the organization; skipping this pass");
                false
            }
        };
        if owns && !*owned {
            if store.is_shared() {
                tracing::info!(org = %self.name(), replica = %me, "this replica now runs the organization's reconciler");
            }
            if let Err(e) = store.put_state(OWNERS_NAMESPACE, &self.name(), &me).await {
                tracing::warn!(org = %self.name(), error = %e, "cannot record the organization's owner");
            }
        } else if !owns && *owned {
            tracing::warn!(org = %self.name(), replica = %me, "this replica no longer owns the organization's reconciler");
        }
        *owned = owns;
        let owner = if owns {
            Some(me)
        } else {
            store
                .get_state(OWNERS_NAMESPACE, &self.name())
                .await
                .ok()
                .flatten()
        };
        self.inner.status.update(|s| {
            s.owner = owner;
            s.owned_here = owns;
        });
        owns
    }

    /// One pass: every configured stream from its stored watermark (minus the overlap), then the
    /// failed-delivery replay. A stream that fails is recorded (its `errors`/`last_error`, the
    /// status) and the others still run; the pass fails as a whole only when the organization
    /// cannot be reached at all (credentials, negotiation) or the store fails.
    pub async fn run_once(&self) -> Result<JobProgress, ReconcileError> {
        let _one_at_a_time = self.inner.pass_lock.lock().await;
        pass::periodic(&self.inner).await
    }

    /// Only the failed-delivery replay (part of every [`Reconciler::run_once`]): republishes the
    /// original events of notifications Azure DevOps marked failed since the last look.
    pub async fn replay_failed(&self) -> Result<StreamProgress, ReconcileError> {
        let _one_at_a_time = self.inner.pass_lock.lock().await;
        let span =
            tracing::info_span!("reconcile_pass", org = %self.inner.org.name(), mode = "replay");
        pass::replay_only(&self.inner).instrument(span).await
    }

    /// A manual backfill of `spec` (its `organization` must be this one): walks the requested
    /// streams (empty = the configured ones) over `[since, until)` (`until` default: now) through the
    /// same normalize + store path, starting each stream from its `cursor` in `resume` when present
    /// (streams already `done` in `resume` are skipped). After every durable page `progress` is
    /// called with the whole job's progress (persist it to resume after a crash; the cursors only
    /// ever point after durable pages). Watermarks of the periodic loop are not touched. On
    /// cancellation returns `Ok` with unfinished streams `done = false`. A stream that fails is
    /// recorded in its progress (`errors`, `last_error`) and the others still run.
    pub async fn backfill<P>(
        &self,
        spec: &BackfillSpec,
        progress: P,
        resume: JobProgress,
        cancel: CancellationToken,
    ) -> Result<JobProgress, ReconcileError>
    where
        P: FnMut(&JobProgress) + Send,
    {
        if !self.matches(&spec.organization) {
            return Err(ReconcileError::InvalidSpec(format!(
                "organization {:?} is not {} ({})",
                spec.organization,
                self.name(),
                self.inner.org.url
            )));
        }
        let span = tracing::info_span!(
            "reconcile_pass",
            org = %self.inner.org.name(),
            mode = "backfill",
            since = %spec.since
        );
        pass::backfill(&self.inner, spec, progress, resume, cancel)
            .instrument(span)
            .await
    }
}

impl std::fmt::Debug for Reconciler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reconciler")
            .field("org", &self.name())
            .field("url", &self.inner.org.url)
            .finish_non_exhaustive()
    }
}
