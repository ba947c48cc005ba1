//! Runs backfill jobs: persists each job before it is acknowledged, starts queued jobs (one at a
//! time per organization, oldest first), persists their progress and cursors while they run
//! (throttled), records how they ended, and on start re-queues jobs a stop or crash interrupted so
//! they resume from their cursors.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::engine::EngineProvider;
use super::record::{JobRecord, JobState, new_job_id};
use crate::config::OrganizationConfig;
use crate::reconcile::BackfillSpec;
use crate::store::{Store, StoreError};

mod job;

/// How often a replica looks for jobs another replica's death left unfinished.
const ADOPT_INTERVAL: Duration = Duration::from_secs(2);

/// The store lock held by the replica running a backfill job.
pub(crate) fn job_lock(id: &str) -> String {
    format!("backfill:{id}")
}

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
        if inner.settings.resume_unfinished && inner.store.is_shared() {
            inner.tasks.spawn(inner.clone().adopt_orphans());
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
            // Owned before it is stored: otherwise another replica looking for orphaned jobs could
            // take it between the save and this runner's start, and the job would not run where
            // it was started (nor be cancellable there).
            self.inner.store.try_own(&job_lock(&record.id)).await?;
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
            if record.state.is_final() || self.lock().contains_key(&record.id) {
                continue;
            }
            // On a shared store another replica may be running it: only its owner touches it.
            if !self.store.try_own(&job_lock(&record.id)).await? {
                continue;
            }
            // Re-read now that it is ours: its runner may have finished it meanwhile.
            match JobRecord::load(self.store.as_ref(), &record.id).await? {
                Some(fresh) if !fresh.state.is_final() => record = fresh,
                _ => {
                    self.store.release(&job_lock(&record.id)).await?;
                    continue;
                }
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

    /// On a store shared by replicas: every few seconds, takes over the unfinished jobs whose
    /// runner died (their lock is free), which then resume from their stored cursors.
    async fn adopt_orphans(self: Arc<Self>) {
        loop {
            tokio::select! {
                _ = self.shutdown.cancelled() => return,
                _ = tokio::time::sleep(ADOPT_INTERVAL) => {}
            }
            let before = self.lock().len();
            match self.requeue_unfinished().await {
                Ok(()) if self.lock().len() > before => self.wake.notify_one(),
                Ok(()) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "cannot look for backfill jobs left by other replicas")
                }
            }
        }
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
}
