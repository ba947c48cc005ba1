//! A backfill job as it is persisted (one JSON value per job in the store's state namespace
//! [`NAMESPACE`]) and shown by `GET /admin/backfills/{id}`.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::reconcile::{BackfillSpec, JobProgress, StreamProgress};
use crate::store::{Store, StoreError};

/// State namespace of backfill jobs; the key is the job id.
pub const NAMESPACE: &str = "backfill_jobs";

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobState {
    /// Succeeded, failed and cancelled jobs never change again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobState::Succeeded | JobState::Failed | JobState::Cancelled
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One backfill job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub id: String,
    pub spec: BackfillSpec,
    pub state: JobState,
    /// Per stream: pages, objects seen, events published, duplicates skipped, errors, cursor.
    pub progress: JobProgress,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    /// Last time the record was written.
    pub updated_at: DateTime<Utc>,
    /// Why the job failed.
    #[serde(default)]
    pub error: Option<String>,
    /// A cancel was asked for while the job ran; it is `cancelled` once the engine stopped (also
    /// across a restart).
    #[serde(default)]
    pub cancel_requested: bool,
    /// How many times the job was started (more than 1 after a restart resumed it).
    #[serde(default)]
    pub runs: u32,
}

impl JobRecord {
    /// A new queued job; every requested stream starts with empty progress.
    pub fn queued(id: String, spec: BackfillSpec, now: DateTime<Utc>) -> Self {
        let progress = spec
            .streams
            .iter()
            .map(|s| (*s, StreamProgress::default()))
            .collect();
        Self {
            id,
            spec,
            state: JobState::Queued,
            progress,
            created_at: now,
            started_at: None,
            finished_at: None,
            updated_at: now,
            error: None,
            cancel_requested: false,
            runs: 0,
        }
    }

    /// Sums of every stream's counters.
    pub fn totals(&self) -> StreamProgress {
        let mut t = StreamProgress {
            done: !self.progress.is_empty(),
            ..StreamProgress::default()
        };
        for p in self.progress.values() {
            t.pages += p.pages;
            t.objects_seen += p.objects_seen;
            t.events_published += p.events_published;
            t.duplicates_skipped += p.duplicates_skipped;
            t.errors += p.errors;
            t.done &= p.done;
            for gap in &p.gaps {
                if !t.gaps.contains(gap) {
                    t.gaps.push(gap.clone());
                }
            }
        }
        t
    }

    /// Durably writes the record as it is (callers stamp `updated_at` when they change it).
    pub async fn save(&self, store: &dyn Store) -> Result<(), StoreError> {
        let json = serde_json::to_string(self)
            .map_err(|e| StoreError::Backend(format!("cannot encode job {}: {e}", self.id)))?;
        store.put_state(NAMESPACE, &self.id, &json).await
    }

    /// Reads one job; `Ok(None)` when there is none (or its value is unreadable, which is logged).
    pub async fn load(store: &dyn Store, id: &str) -> Result<Option<Self>, StoreError> {
        Ok(store
            .get_state(NAMESPACE, id)
            .await?
            .and_then(|json| decode(id, &json)))
    }

    /// Every readable job, oldest first (ids sort by creation time).
    pub async fn list(store: &dyn Store) -> Result<Vec<Self>, StoreError> {
        Ok(store
            .list_state(NAMESPACE)
            .await?
            .into_iter()
            .filter_map(|(id, json)| decode(&id, &json))
            .collect())
    }
}

fn decode(id: &str, json: &str) -> Option<JobRecord> {
    match serde_json::from_str::<JobRecord>(json) {
        Ok(record) => Some(record),
        Err(e) => {
            // A record written by an incompatible version: skipped, not fatal for the others.
            tracing::warn!(job = id, error = %e, "ignoring an unreadable backfill job record");
            None
        }
    }
}

/// A new job id: creation time in milliseconds, strictly increasing within the process (so ids
/// sort by age, also for jobs created in the same millisecond), and 32 random bits, in hex.
pub fn new_job_id(now: DateTime<Utc>) -> String {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = u64::try_from(now.timestamp_millis()).unwrap_or_default();
    let previous = LAST
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
            Some(now.max(last + 1))
        })
        .unwrap_or(now);
    let millis = now.max(previous + 1);
    let salt: u32 = rand::random();
    format!("{millis:012x}{salt:08x}")
}

/// Whether `id` looks like a job id (so path input is checked before it reaches the store).
pub fn is_job_id(id: &str) -> bool {
    id.len() == 20 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A job as the admin API shows it: the record plus the sums over its streams.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobView {
    #[serde(flatten)]
    pub job: JobRecord,
    pub totals: StreamProgress,
}

impl From<JobRecord> for JobView {
    fn from(job: JobRecord) -> Self {
        let totals = job.totals();
        Self { job, totals }
    }
}
