//! What `GET /admin/status` shows about a reconciler: per stream its watermark, when it last ran,
//! how far behind it is, its last error and running totals. Kept in memory by the reconciler
//! (watermarks themselves are durable in the store).

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::spec::StreamProgress;

/// The status of one organization's reconciler.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OrgStatus {
    /// The configured organization name (watermark keys, logs, metrics).
    pub organization: String,
    /// The configured base URL.
    pub url: String,
    /// A periodic pass or a backfill is running right now.
    pub running: bool,
    /// The replica that runs this organization's periodic passes (one among the replicas sharing
    /// a PostgreSQL store), as last seen; absent before the first look.
    pub owner: Option<String>,
    /// Whether that replica is this one.
    pub owned_here: bool,
    pub last_pass_started: Option<DateTime<Utc>>,
    pub last_pass_finished: Option<DateTime<Utc>>,
    /// When the periodic loop will start its next pass (absent when the loop is not running).
    pub next_pass: Option<DateTime<Utc>>,
    /// Error of the last pass as a whole (e.g. the organization could not be reached).
    pub last_error: Option<String>,
    /// Per stream; `notifications` is the failed-delivery replay.
    pub streams: BTreeMap<String, StreamStatus>,
    /// REST calls, retries and rate-limit waits of the organization's client so far.
    pub rest_calls: u64,
    pub rest_retries: u64,
    pub rest_throttled: u64,
    /// The reconciler's REST calls per route template (`wit/reporting/workitemrevisions`, …).
    pub rest_calls_by_route: BTreeMap<String, u64>,
    /// Web-hook subscriptions to this service (`reconcile.hook_url`): at the last look, and put
    /// back to `enabled` so far; absent when `hook_url` is not set.
    pub subscriptions: Option<SubscriptionsStatus>,
    /// Found by `[discovery]` rather than configured.
    pub discovered: bool,
    /// Set when discovery no longer lists it (access removed): since when. Its passes stop; its
    /// watermarks and cursors stay for when access comes back.
    pub access_lost_since: Option<DateTime<Utc>>,
}

/// The subscription check of the last pass.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SubscriptionsStatus {
    /// Subscriptions posting to this service at the last look.
    pub ours: usize,
    /// Re-enabled since start-up.
    pub reenabled_total: u64,
    /// On probation or disabled, and not re-enabled (id: reason), at the last look.
    pub unrepairable: Vec<String>,
    pub last_error: Option<String>,
}

/// The status of one stream (or of the failed-delivery replay).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StreamStatus {
    /// The stored watermark (the stream's position, JSON; long ones shortened with `…`).
    pub watermark: Option<String>,
    pub last_run: Option<DateTime<Utc>>,
    /// When the stream's last successful pass started: changes made before it are covered.
    pub last_success: Option<DateTime<Utc>>,
    /// How far behind the stream may be: seconds from `last_success` to now (by `status()`).
    pub lag_seconds: Option<f64>,
    pub last_error: Option<String>,
    /// What the last pass could not read and does not recover (a refused or missing auxiliary
    /// call), e.g. "wit/recyclebin refused (403): deletions and restores are not recovered".
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gaps: Vec<String>,
    /// Totals over every pass since the process started.
    pub totals: StreamProgress,
}

/// The mutable board the reconciler updates and `status()` copies.
#[derive(Debug, Default)]
pub(crate) struct StatusBoard {
    inner: Mutex<OrgStatus>,
}

impl StatusBoard {
    pub fn new(organization: String, url: String) -> Self {
        Self {
            inner: Mutex::new(OrgStatus {
                organization,
                url,
                ..OrgStatus::default()
            }),
        }
    }

    pub fn snapshot(&self) -> OrgStatus {
        self.lock().clone()
    }

    pub fn update(&self, f: impl FnOnce(&mut OrgStatus)) {
        f(&mut self.lock());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, OrgStatus> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}
