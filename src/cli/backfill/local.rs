//! `ado-ingest backfill` without `--server`: the configured store, a publisher like `serve`'s and
//! the organization's reconciler in this process; the outbox is drained before it returns.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use async_trait::async_trait;
use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::{BackfillArgs, JobSource, ProgressDisplay, follow};
use crate::config::Config;
use crate::health::Health;
use crate::jobs::request::find_organization;
use crate::jobs::{JobRunner, JobView, RunnerSettings};
use crate::publish::{self, PublisherSettings};
use crate::reconcile::{Reconciler, Reconcilers};
use crate::store::{self, Store};

struct Local {
    runner: JobRunner,
    id: String,
}

#[async_trait]
impl JobSource for Local {
    async fn fetch(&self) -> anyhow::Result<JobView> {
        let job = self
            .runner
            .get(&self.id)
            .await?
            .context("the job vanished")?;
        Ok(job.into())
    }
    async fn cancel(&self) -> anyhow::Result<JobView> {
        let job = self
            .runner
            .cancel(&self.id)
            .await?
            .context("the job vanished")?;
        Ok(job.into())
    }
}

pub(super) async fn in_process(
    args: &BackfillArgs,
    config: Config,
    display: &mut ProgressDisplay,
    interrupt: &CancellationToken,
    abort: &CancellationToken,
) -> anyhow::Result<JobView> {
    let spec = args.request().resolve(&config.organizations, Utc::now())?;
    let org = find_organization(&config.organizations, &spec.organization)
        .cloned()
        .context("the organization vanished from the configuration")?;
    let store = store::open_with(&config.store_options())
        .await
        .with_context(|| format!("cannot open the store at {}", config.store))?;
    let health = Arc::new(Health::new());
    let publisher_stop = CancellationToken::new();
    let publisher = tokio::spawn(publish::run(
        PublisherSettings::from(&config),
        store.clone(),
        health.clone(),
        publisher_stop.clone(),
        config.shutdown_grace,
    ));
    let reconciler = Reconciler::new(
        org.clone(),
        store.clone(),
        config.reconcile.clone(),
        config.publish.include_raw,
    )
    .with_context(|| format!("cannot set up the reconciler of {}", org.name()))?;
    let runner_stop = CancellationToken::new();
    let settings = RunnerSettings {
        resume_unfinished: false,
        ..RunnerSettings::default()
    };
    let engines = Arc::new(Reconcilers::new(vec![reconciler]));
    let runner = JobRunner::start(
        store.clone(),
        vec![org],
        engines,
        settings,
        runner_stop.clone(),
    )
    .await?;
    let job = runner.submit(spec).await?;
    display.note(&format!(
        "backfill {} running in-process on {}",
        job.id, config.store
    ));
    let local = Local {
        runner: runner.clone(),
        id: job.id,
    };
    let result = follow(
        &local,
        display,
        interrupt,
        abort,
        Duration::from_millis(200),
    )
    .await;
    runner_stop.cancel();
    runner.stopped().await;
    drain(
        store.as_ref(),
        &health,
        display,
        abort,
        config.shutdown_grace,
    )
    .await;
    publisher_stop.cancel();
    if let Err(e) = publisher.await {
        tracing::error!(error = %e, "publisher task failed");
    }
    match store.outbox_depth().await {
        Ok(0) => {}
        Ok(n) => display.note(&format!(
            "{n} events are still in the outbox of {}; `ado-ingest serve` publishes them",
            config.store
        )),
        Err(e) => display.note(&format!("cannot read the outbox depth: {e}")),
    }
    result
}

/// Waits until the publisher emptied the outbox, or the broker has been unreachable for `grace`,
/// or a second Ctrl-C.
async fn drain(
    store: &dyn Store,
    health: &Health,
    display: &ProgressDisplay,
    abort: &CancellationToken,
    grace: Duration,
) {
    let mut down_since: Option<Instant> = None;
    let mut last_note: Option<Instant> = None;
    loop {
        let depth = match store.outbox_depth().await {
            Ok(d) => d,
            Err(_) => return,
        };
        if depth == 0 || abort.is_cancelled() {
            return;
        }
        if health.broker_connected() {
            down_since = None;
        } else if down_since.get_or_insert_with(Instant::now).elapsed() >= grace {
            let why = health
                .broker_error()
                .unwrap_or_else(|| "not connected".into());
            display.note(&format!(
                "cannot publish the remaining {depth} events: {why}"
            ));
            return;
        }
        if last_note.is_none_or(|t| t.elapsed() >= Duration::from_secs(5)) {
            display.note(&format!(
                "publishing: {depth} events waiting for the broker"
            ));
            last_note = Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
