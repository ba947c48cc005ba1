//! Runs backfill jobs: persists each job before it is acknowledged, starts queued jobs (one at a
//! time per organization, oldest first), persists their progress and cursors while they run
//! (throttled), records how they ended, and on start re-queues jobs a stop or crash interrupted so
//! they resume from their cursors.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::Utc;
use futures::FutureExt;
use tokio::sync::Notify;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::engine::{EngineError, EngineProvider, ProgressSink};
use super::record::{JobRecord, JobState, new_job_id};
use super::request::find_organization;
use crate::config::OrganizationConfig;
use crate::reconcile::{BackfillSpec, JobProgress};
use crate::store::{Store, StoreError};

/// How the runner behaves.
#[derive(Debug, Clone)]
pub struct RunnerSettings {
    /// Least time between two progress writes of a running job (it is also written when it ends).
    pub persist_interval: Duration,
    /// Re-queue the unfinished jobs found in the store on start (`serve`); off for a one-off
    /// in-process `ado-ingest backfill`, which runs only its own job.
    pub resume_unfinished: bool,
}

impl Default for RunnerSettings {
    fn default() -> Self {
        Self {
            persist_interval: Duration::from_secs(1),
            resume_unfinished: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JobsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the backfill runner is shutting down")]
    ShuttingDown,
}

/// Handle to the runner; cheap to clone.
#[derive(Clone)]
pub struct JobRunner {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    orgs: Vec<OrganizationConfig>,
    engines: Arc<dyn EngineProvider>,
    settings: RunnerSettings,
    /// Jobs not yet final, by id (= by age). Never held across an await.
    active: Mutex<BTreeMap<String, Active>>,
    /// Serializes record writes, so the last write of a job always carries its latest state.
    write: tokio::sync::Mutex<()>,
    wake: Notify,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

struct Active {
    record: JobRecord,
    /// Fired by a cancel or by shutdown (a child of the runner's token).
    cancel: CancellationToken,
}

impl JobRunner {
    /// Loads the jobs in the store and starts the scheduler; runs until `shutdown` is cancelled,
    /// after which running jobs stop at their next cancel point and are left to resume.
    pub async fn start(
        store: Arc<dyn Store>,
        orgs: Vec<OrganizationConfig>,
        engines: Arc<dyn EngineProvider>,
        settings: RunnerSettings,
        shutdown: CancellationToken,
    ) -> Result<Self, JobsError> {
        let inner = Arc::new(Inner {
            store,
            orgs,
            engines,
            settings,
            active: Mutex::new(BTreeMap::new()),
            write: tokio::sync::Mutex::new(()),
            wake: Notify::new(),
            shutdown,
            tasks: TaskTracker::new(),
        });
        if inner.settings.resume_unfinished {
            inner.requeue_unfinished().await?;
        }
        inner.tasks.spawn(inner.clone().schedule());
        inner.tasks.close();
        Ok(Self { inner })
    }

    /// Persists a new queued job and wakes the scheduler; the job exists durably once this returns.
    pub async fn submit(&self, spec: BackfillSpec) -> Result<JobRecord, JobsError> {
        if self.inner.shutdown.is_cancelled() {
            return Err(JobsError::ShuttingDown);
        }
        let now = Utc::now();
        let record = JobRecord::queued(new_job_id(now), spec, now);
        {
            let _write = self.inner.write.lock().await;
            record.save(self.inner.store.as_ref()).await?;
            self.inner.lock().insert(
                record.id.clone(),
                Active {
                    record: record.clone(),
                    cancel: self.inner.shutdown.child_token(),
                },
            );
        }
        tracing::info!(job = %record.id, organization = %record.spec.organization, since = %record.spec.since, "backfill queued");
        metrics::counter!("ado_ingest_backfill_jobs_total", "state" => "queued").increment(1);
        self.inner.wake.notify_one();
        Ok(record)
    }

    /// The job's current state (live progress for jobs this runner holds), or `None`.
    pub async fn get(&self, id: &str) -> Result<Option<JobRecord>, JobsError> {
        if let Some(a) = self.inner.lock().get(id) {
            return Ok(Some(a.record.clone()));
        }
        Ok(JobRecord::load(self.inner.store.as_ref(), id).await?)
    }

    /// Every job, oldest first.
    pub async fn list(&self) -> Result<Vec<JobRecord>, JobsError> {
        let mut jobs = JobRecord::list(self.inner.store.as_ref()).await?;
        let active = self.inner.lock();
        for job in &mut jobs {
            if let Some(a) = active.get(&job.id) {
                *job = a.record.clone();
            }
        }
        Ok(jobs)
    }

    /// Cancels a job: a queued one at once, a running one at its engine's next cancel point (it is
    /// `cancelled` once stopped). A finished job is left as it is. Returns the job as it now is.
    pub async fn cancel(&self, id: &str) -> Result<Option<JobRecord>, JobsError> {
        let _write = self.inner.write.lock().await;
        let record = self.inner.lock().get_mut(id).map(|a| {
            a.record.cancel_requested = true;
            a.record.updated_at = Utc::now();
            if a.record.state == JobState::Queued {
                a.record.state = JobState::Cancelled;
                a.record.finished_at = Some(Utc::now());
            }
            a.cancel.cancel();
            a.record.clone()
        });
        let Some(record) = record else {
            // Finished (or unknown): answered as stored, never changed.
            return Ok(JobRecord::load(self.inner.store.as_ref(), id).await?);
        };
        record.save(self.inner.store.as_ref()).await?;
        if record.state.is_final() {
            self.inner.lock().remove(id);
            metrics::counter!("ado_ingest_backfill_jobs_total", "state" => "cancelled")
                .increment(1);
        }
        tracing::info!(job = id, state = %record.state, "backfill cancel requested");
        Ok(Some(record))
    }

    /// Queued and running jobs held by this runner.
    pub fn active_counts(&self) -> (usize, usize) {
        let active = self.inner.lock();
        let running = active
            .values()
            .filter(|a| a.record.state == JobState::Running)
            .count();
        (active.len() - running, running)
    }

    /// Waits until the scheduler and every job task have stopped (after shutdown).
    pub async fn stopped(&self) {
        self.inner.tasks.wait().await;
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Active>> {
        // A panic while holding this lock cannot leave a record half-written (every update is a
        // field assignment), so a poisoned lock is still usable.
        self.active.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Jobs a stop or crash left queued or running are queued again (those whose cancel was asked
    /// for are cancelled).
    async fn requeue_unfinished(&self) -> Result<(), JobsError> {
        let _write = self.write.lock().await;
        for mut record in JobRecord::list(self.store.as_ref()).await? {
            if record.state.is_final() {
                continue;
            }
            record.updated_at = Utc::now();
            if record.cancel_requested {
                record.state = JobState::Cancelled;
                record.finished_at = Some(Utc::now());
                record.save(self.store.as_ref()).await?;
                continue;
            }
            tracing::info!(job = %record.id, state = %record.state, "backfill job resumes");
            record.state = JobState::Queued;
            record.save(self.store.as_ref()).await?;
            self.lock().insert(
                record.id.clone(),
                Active {
                    record,
                    cancel: self.shutdown.child_token(),
                },
            );
        }
        Ok(())
    }

    async fn schedule(self: Arc<Self>) {
        loop {
            self.start_ready();
            tokio::select! {
                _ = self.shutdown.cancelled() => return,
                _ = self.wake.notified() => {}
            }
        }
    }

    /// Starts every queued job whose organization has no job running, oldest first.
    fn start_ready(self: &Arc<Self>) {
        let mut active = self.lock();
        let mut busy: BTreeSet<String> = active
            .values()
            .filter(|a| a.record.state == JobState::Running)
            .map(|a| a.record.spec.organization.clone())
            .collect();
        for (id, a) in active.iter_mut() {
            let r = &mut a.record;
            if r.state != JobState::Queued || !busy.insert(r.spec.organization.clone()) {
                continue;
            }
            let now = Utc::now();
            r.state = JobState::Running;
            r.runs += 1;
            r.started_at.get_or_insert(now);
            // Fixed at the first start, so a resumed job covers the same window.
            r.spec.until.get_or_insert(now);
            self.tasks.spawn(self.clone().run_job(id.clone()));
        }
    }

    async fn run_job(self: Arc<Self>, id: String) {
        let Some((spec, resume, cancel)) = self.lock().get(&id).map(|a| {
            (
                a.record.spec.clone(),
                a.record.progress.clone(),
                a.cancel.clone(),
            )
        }) else {
            return;
        };
        self.persist(&id).await;
        tracing::info!(job = %id, organization = %spec.organization, "backfill running");
        let result = match self.engine_for(&spec) {
            Ok(engine) => {
                let dirty = Arc::new(AtomicBool::new(false));
                let sink = self.progress_sink(&id, dirty.clone());
                // A panicking engine fails its job instead of leaving it running forever.
                let work = AssertUnwindSafe(engine.backfill(&spec, sink, resume, cancel.clone()))
                    .catch_unwind()
                    .map(|r| {
                        r.unwrap_or_else(|_| {
                            Err(EngineError::Failed("the backfill engine panicked".into()))
                        })
                    });
                tokio::pin!(work);
                let mut tick = tokio::time::interval(self.settings.persist_interval);
                tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        r = &mut work => break r,
                        _ = tick.tick() => {
                            if dirty.swap(false, Ordering::SeqCst) {
                                self.persist(&id).await;
                            }
                        }
                    }
                }
            }
            Err(e) => Err(e),
        };
        self.finish(&id, result, &cancel).await;
        self.wake.notify_one();
    }

    fn engine_for(
        &self,
        spec: &BackfillSpec,
    ) -> Result<Arc<dyn super::BackfillEngine>, EngineError> {
        let org = find_organization(&self.orgs, &spec.organization).ok_or_else(|| {
            EngineError::Failed(format!(
                "organization {:?} is no longer configured",
                spec.organization
            ))
        })?;
        self.engines.engine(org)
    }

    /// Progress reports update the live record; the job task writes it at most once per interval.
    fn progress_sink(self: &Arc<Self>, id: &str, dirty: Arc<AtomicBool>) -> ProgressSink {
        let inner = Arc::downgrade(self);
        let id = id.to_string();
        Arc::new(move |progress: &JobProgress| {
            if let Some(inner) = inner.upgrade()
                && let Some(a) = inner.lock().get_mut(&id)
            {
                a.record
                    .progress
                    .extend(progress.iter().map(|(s, p)| (*s, p.clone())));
                dirty.store(true, Ordering::SeqCst);
            }
        })
    }

    /// Writes the job's live record; a failed write is logged and retried at the next one.
    async fn persist(&self, id: &str) {
        let _write = self.write.lock().await;
        let Some(record) = self.lock().get_mut(id).map(|a| {
            a.record.updated_at = Utc::now();
            a.record.clone()
        }) else {
            return;
        };
        if let Err(e) = record.save(self.store.as_ref()).await {
            tracing::warn!(job = id, error = %e, "cannot persist backfill progress; retrying later");
        }
    }

    /// Records how the job ended. A job stopped by shutdown (not by a cancel) is left queued, with
    /// its cursors, to resume at the next start.
    async fn finish(
        &self,
        id: &str,
        result: Result<JobProgress, EngineError>,
        cancel: &CancellationToken,
    ) {
        let _write = self.write.lock().await;
        // Worked out on a copy and shown only once durable, so a final state seen through the API
        // is the stored one.
        let Some(record) = self.lock().get(id).map(|a| {
            let mut r = a.record.clone();
            r.updated_at = Utc::now();
            if let Ok(progress) = &result {
                r.progress
                    .extend(progress.iter().map(|(s, p)| (*s, p.clone())));
            }
            let all_done = r.progress.values().all(|p| p.done);
            let (state, error) = match &result {
                Ok(_) if all_done => (JobState::Succeeded, None),
                _ if r.cancel_requested => (JobState::Cancelled, None),
                _ if cancel.is_cancelled() => (JobState::Queued, None),
                Err(EngineError::Failed(message)) => (JobState::Failed, Some(message.clone())),
                Err(EngineError::Cancelled) => (
                    JobState::Failed,
                    Some("the backfill stopped without being cancelled".to_string()),
                ),
                Ok(_) => match stream_errors(&r.progress) {
                    Some(message) => (JobState::Failed, Some(message)),
                    None => (JobState::Succeeded, None),
                },
            };
            r.state = state;
            r.error = error;
            if state.is_final() {
                r.finished_at = Some(Utc::now());
            }
            r
        }) else {
            return;
        };
        let saved = record.save(self.store.as_ref()).await;
        {
            let mut active = self.lock();
            match &saved {
                Ok(()) if record.state.is_final() => {
                    active.remove(id);
                }
                _ => {
                    // Not durable: shown as it ended, but a restart re-runs it from its last
                    // persisted cursors (pages done twice only yield duplicates).
                    if let Some(a) = active.get_mut(id) {
                        a.record = record.clone();
                    }
                }
            }
        }
        if let Err(e) = saved {
            tracing::error!(job = id, error = %e, "cannot persist the end of a backfill job");
            return;
        }
        let totals = record.totals();
        tracing::info!(
            job = id, state = %record.state, pages = totals.pages, objects = totals.objects_seen,
            published = totals.events_published, duplicates = totals.duplicates_skipped,
            errors = totals.errors, error = record.error.as_deref().unwrap_or(""),
            "backfill stopped"
        );
        metrics::counter!("ado_ingest_backfill_jobs_total", "state" => record.state.as_str())
            .increment(1);
    }
}

/// The errors of streams that did not finish, as one message.
fn stream_errors(progress: &JobProgress) -> Option<String> {
    let failed: Vec<String> = progress
        .iter()
        .filter(|(_, p)| !p.done)
        .map(|(s, p)| match &p.last_error {
            Some(e) => format!("{s}: {e}"),
            None => format!("{s}: did not finish"),
        })
        .collect();
    (!failed.is_empty()).then(|| failed.join("; "))
}
