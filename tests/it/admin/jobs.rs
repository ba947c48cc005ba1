//! The backfill job runner against a real SQLite store and an in-test engine walking fixed lists:
//! lifecycle, persistence of progress and cursors, cancel, failure, one job per organization at a
//! time, and resuming after a restart without starting over.

use std::time::Duration;

use ado_ingest::config::Stream;
use ado_ingest::jobs::{JobRecord, JobRunner, JobState, RunnerSettings};
use ado_ingest::reconcile::BackfillSpec;
use chrono::Utc;
use tokio_util::sync::CancellationToken;

use crate::support::admin::*;

const WAIT: Duration = Duration::from_secs(20);

fn pages(job: &JobRecord) -> u64 {
    job.totals().pages
}

#[tokio::test]
async fn a_job_runs_to_success_and_its_progress_is_persisted_while_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let engine = ListEngine::gated(10, 3);
    let (runner, stop) = start_runner(store.clone(), engine.clone(), fast_settings()).await;

    let job = runner
        .submit(backfill_spec("fabrikam", &[Stream::Git, Stream::Builds]))
        .await
        .unwrap();
    // Durable before it is acknowledged.
    let stored = JobRecord::load(store.as_ref(), &job.id)
        .await
        .unwrap()
        .unwrap();
    // (The scheduler may have started it already.)
    assert!(
        matches!(stored.state, JobState::Queued | JobState::Running),
        "{stored:#?}"
    );
    assert_eq!(stored.progress.len(), 2);

    engine.release(2);
    let running = wait_job(&runner, &job.id, WAIT, |j| pages(j) == 2).await;
    assert_eq!(running.state, JobState::Running);
    assert_eq!(running.progress[&Stream::Git].cursor.as_deref(), Some("6"));
    assert!(
        running.spec.until.is_some(),
        "until is fixed when the job starts"
    );
    // The throttled writer catches up with the live progress.
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let stored = JobRecord::load(store.as_ref(), &job.id)
            .await
            .unwrap()
            .unwrap();
        if pages(&stored) == 2 {
            assert_eq!(stored.state, JobState::Running);
            assert_eq!(stored.progress[&Stream::Git].cursor.as_deref(), Some("6"));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "progress never persisted: {stored:#?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    engine.release(100);
    let done = wait_job(&runner, &job.id, WAIT, |j| j.state.is_final()).await;
    assert_eq!(done.state, JobState::Succeeded, "{done:#?}");
    for stream in [Stream::Git, Stream::Builds] {
        let p = &done.progress[&stream];
        // Pages of 3, 3, 3, 1 objects; every other object a duplicate.
        assert_eq!(
            (
                p.pages,
                p.objects_seen,
                p.events_published,
                p.duplicates_skipped
            ),
            (4, 10, 7, 3)
        );
        assert!(p.done);
        assert_eq!(p.cursor.as_deref(), Some("10"));
    }
    assert!(done.started_at.is_some() && done.finished_at.is_some());
    assert_eq!(done.runs, 1);
    assert_eq!(done.error, None);
    let stored = JobRecord::load(store.as_ref(), &job.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.state, JobState::Succeeded);
    assert_eq!(stored.progress, done.progress);
    assert_eq!(engine.walked().len(), 8);
    stop.cancel();
    runner.stopped().await;
}

#[tokio::test]
async fn a_stopped_runner_resumes_its_job_from_the_cursors_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let id;
    let until;
    {
        let store = open_store(dir.path()).await;
        let engine = ListEngine::gated(10, 2);
        let (runner, stop) = start_runner(store.clone(), engine.clone(), fast_settings()).await;
        let job = runner
            .submit(backfill_spec("fabrikam", &[Stream::Git, Stream::WorkItems]))
            .await
            .unwrap();
        id = job.id.clone();
        // git: 5 pages (done); workitems: 2 of 5 pages.
        engine.release(7);
        let j = wait_job(&runner, &id, WAIT, |j| pages(j) == 7).await;
        until = j.spec.until;
        stop.cancel();
        runner.stopped().await;
        let stored = JobRecord::load(store.as_ref(), &id).await.unwrap().unwrap();
        assert_eq!(
            stored.state,
            JobState::Queued,
            "left to resume: {stored:#?}"
        );
        assert!(stored.progress[&Stream::Git].done);
        assert_eq!(
            stored.progress[&Stream::WorkItems].cursor.as_deref(),
            Some("4")
        );
        assert_eq!(engine.walked().len(), 7);
    }
    // A new process: the store reopened, a fresh engine.
    let store = open_store(dir.path()).await;
    let engine = ListEngine::free(10, 2, Duration::from_millis(1));
    let (runner, stop) = start_runner(store.clone(), engine.clone(), fast_settings()).await;
    let done = wait_job(&runner, &id, WAIT, |j| j.state.is_final()).await;
    assert_eq!(done.state, JobState::Succeeded, "{done:#?}");
    // Only the rest of workitems was walked: nothing started over.
    let walked = engine.walked();
    assert_eq!(
        walked,
        vec![
            ("workitems".to_string(), 4),
            ("workitems".to_string(), 6),
            ("workitems".to_string(), 8)
        ]
    );
    assert_eq!(done.progress[&Stream::Git].pages, 5);
    assert_eq!(done.progress[&Stream::WorkItems].pages, 5);
    assert_eq!(done.totals().objects_seen, 20);
    assert_eq!(done.runs, 2);
    assert_eq!(
        done.spec.until, until,
        "the window is the one of the first start"
    );
    stop.cancel();
    runner.stopped().await;
}

#[tokio::test]
async fn one_job_per_organization_runs_at_a_time_and_cancel_works_in_every_state() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let engine = ListEngine::gated(4, 1);
    let (runner, stop) = start_runner(store.clone(), engine.clone(), fast_settings()).await;

    let a = runner
        .submit(backfill_spec("fabrikam", &[Stream::Git]))
        .await
        .unwrap();
    let b = runner
        .submit(backfill_spec("fabrikam", &[Stream::Git]))
        .await
        .unwrap();
    let c = runner
        .submit(backfill_spec("onprem", &[Stream::Tfvc]))
        .await
        .unwrap();
    wait_job(&runner, &a.id, WAIT, is(JobState::Running)).await;
    wait_job(&runner, &c.id, WAIT, is(JobState::Running)).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        runner.get(&b.id).await.unwrap().unwrap().state,
        JobState::Queued
    );
    assert_eq!(runner.active_counts(), (1, 2));

    // Queued: cancelled at once, and never runs.
    let b_cancelled = runner.cancel(&b.id).await.unwrap().unwrap();
    assert_eq!(b_cancelled.state, JobState::Cancelled);
    assert!(b_cancelled.finished_at.is_some());

    // Running (waiting for its first page): cancelled at the engine's next cancel point.
    let asked = runner.cancel(&a.id).await.unwrap().unwrap();
    assert!(asked.cancel_requested);
    let a_final = wait_job(&runner, &a.id, WAIT, |j| j.state.is_final()).await;
    assert_eq!(a_final.state, JobState::Cancelled, "{a_final:#?}");
    assert!(!a_final.progress[&Stream::Git].done);
    // Idempotent: a finished job keeps its final state.
    assert_eq!(runner.cancel(&a.id).await.unwrap().unwrap(), a_final);
    assert_eq!(
        runner.cancel(&b.id).await.unwrap().unwrap().state,
        JobState::Cancelled
    );
    assert_eq!(runner.cancel("00000000000000000000").await.unwrap(), None);

    engine.release(100);
    let c_final = wait_job(&runner, &c.id, WAIT, |j| j.state.is_final()).await;
    assert_eq!(c_final.state, JobState::Succeeded);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        runner.get(&b.id).await.unwrap().unwrap().state,
        JobState::Cancelled
    );
    let stored: Vec<_> = runner
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|j| (j.id, j.state))
        .collect();
    assert_eq!(
        stored,
        vec![
            (a.id, JobState::Cancelled),
            (b.id, JobState::Cancelled),
            (c.id, JobState::Succeeded)
        ]
    );
    // Only the onprem job walked anything.
    let walked = engine.walked();
    assert_eq!(walked.len(), 4, "{walked:?}");
    assert!(walked.iter().all(|(s, _)| s == "tfvc"), "{walked:?}");
    let stored = JobRecord::load(store.as_ref(), &a_final.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.state, JobState::Cancelled);
    stop.cancel();
    runner.stopped().await;
}

#[tokio::test]
async fn an_engine_failure_fails_the_job_with_its_message_and_keeps_the_progress() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let engine = std::sync::Arc::new(ListEngine {
        fail_on_page: Some(1),
        ..std::sync::Arc::into_inner(ListEngine::free(10, 5, Duration::ZERO)).unwrap()
    });
    let (runner, stop) = start_runner(store.clone(), engine, fast_settings()).await;
    let job = runner
        .submit(backfill_spec("fabrikam", &[Stream::Builds]))
        .await
        .unwrap();
    let done = wait_job(&runner, &job.id, WAIT, |j| j.state.is_final()).await;
    assert_eq!(done.state, JobState::Failed);
    assert_eq!(done.error.as_deref(), Some("builds: page 5 answered 500"));
    assert_eq!(done.progress[&Stream::Builds].pages, 1);
    let stored = JobRecord::load(store.as_ref(), &job.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, done);
    stop.cancel();
    runner.stopped().await;
}

#[tokio::test]
async fn on_start_unfinished_jobs_are_requeued_cancelled_or_failed_as_their_records_say() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let now = Utc::now();
    let mut cancel_asked = JobRecord::queued(
        "0000000000010000000a".into(),
        backfill_spec("fabrikam", &[Stream::Git]),
        now,
    );
    cancel_asked.state = JobState::Running;
    cancel_asked.cancel_requested = true;
    cancel_asked.save(store.as_ref()).await.unwrap();
    let mut gone = JobRecord::queued(
        "0000000000020000000b".into(),
        backfill_spec("contoso", &[Stream::Git]),
        now,
    );
    gone.state = JobState::Running;
    gone.save(store.as_ref()).await.unwrap();
    store
        .put_state(
            ado_ingest::jobs::NAMESPACE,
            "0000000000030000000c",
            "{not json",
        )
        .await
        .unwrap();

    // A one-off runner (the in-process CLI) leaves them alone.
    let engine = ListEngine::free(2, 1, Duration::ZERO);
    let (runner, stop) = start_runner(
        store.clone(),
        engine.clone(),
        RunnerSettings {
            resume_unfinished: false,
            ..fast_settings()
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        runner.get(&gone.id).await.unwrap().unwrap().state,
        JobState::Running
    );
    stop.cancel();
    runner.stopped().await;

    let (runner, stop) = start_runner(store.clone(), engine.clone(), fast_settings()).await;
    assert_eq!(
        runner.get(&cancel_asked.id).await.unwrap().unwrap().state,
        JobState::Cancelled
    );
    let failed = wait_job(&runner, &gone.id, WAIT, |j| j.state.is_final()).await;
    assert_eq!(failed.state, JobState::Failed);
    assert!(
        failed
            .error
            .as_deref()
            .unwrap_or("")
            .contains("\"contoso\" is no longer configured"),
        "{failed:#?}"
    );
    assert!(engine.walked().is_empty());
    // The unreadable record is skipped, not fatal.
    assert_eq!(runner.list().await.unwrap().len(), 2);
    stop.cancel();
    runner.stopped().await;
}

struct PanickingEngine;

#[async_trait::async_trait]
impl ado_ingest::jobs::BackfillEngine for PanickingEngine {
    async fn backfill(
        &self,
        _spec: &BackfillSpec,
        _progress: ado_ingest::jobs::ProgressSink,
        _resume: ado_ingest::reconcile::JobProgress,
        _cancel: CancellationToken,
    ) -> Result<ado_ingest::reconcile::JobProgress, ado_ingest::jobs::EngineError> {
        panic!("engine bug");
    }
}

#[tokio::test]
async fn a_panicking_engine_fails_its_job_and_frees_the_organization() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let stop = CancellationToken::new();
    let provider: std::sync::Arc<dyn ado_ingest::jobs::EngineProvider> = std::sync::Arc::new(
        |_: &ado_ingest::config::OrganizationConfig| -> Result<
            std::sync::Arc<dyn ado_ingest::jobs::BackfillEngine>,
            ado_ingest::jobs::EngineError,
        > { Ok(std::sync::Arc::new(PanickingEngine)) },
    );
    let runner = JobRunner::start(store, orgs(), provider, fast_settings(), stop.clone())
        .await
        .unwrap();
    let a = runner
        .submit(backfill_spec("fabrikam", &[Stream::Git]))
        .await
        .unwrap();
    let b = runner
        .submit(backfill_spec("fabrikam", &[Stream::Git]))
        .await
        .unwrap();
    for id in [&a.id, &b.id] {
        let done = wait_job(&runner, id, WAIT, |j| j.state.is_final()).await;
        assert_eq!(done.state, JobState::Failed);
        assert_eq!(done.error.as_deref(), Some("the backfill engine panicked"));
    }
    stop.cancel();
    runner.stopped().await;
}
