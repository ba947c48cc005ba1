//! One job's run: its engine, its progress written while it runs (throttled), and how it ended.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::Utc;
use futures::FutureExt;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use super::Inner;
use crate::jobs::engine::{BackfillEngine, EngineError, ProgressSink};
use crate::jobs::record::JobState;
use crate::jobs::request::find_organization;
use crate::reconcile::{BackfillSpec, JobProgress};

impl Inner {
    pub(super) async fn run_job(self: Arc<Self>, id: String) {
        // Submitted here, or adopted: either way only the lock holder runs it.
        match self.store.try_own(&super::job_lock(&id)).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!(job = %id, "backfill job is run by another replica");
                self.lock().remove(&id);
                return;
            }
            Err(e) => {
                tracing::warn!(job = %id, error = %e, "cannot take the backfill job's lock; trying later");
                if let Some(a) = self.lock().get_mut(&id) {
                    a.record.state = JobState::Queued;
                }
                return;
            }
        }
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

    fn engine_for(&self, spec: &BackfillSpec) -> Result<Arc<dyn BackfillEngine>, EngineError> {
        let discovered = self.engines.organizations();
        let org = find_organization(&self.orgs, &spec.organization)
            .or_else(|| find_organization(&discovered, &spec.organization))
            .ok_or_else(|| {
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
        if saved.is_ok()
            && record.state.is_final()
            && let Err(e) = self.store.release(&super::job_lock(id)).await
        {
            tracing::warn!(job = id, error = %e, "cannot release the backfill job's lock");
        }
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
