//! Wires the service together: store, publisher, retention, HTTP server and graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, ReconcileConfig};
use crate::health::Health;
use crate::http::{AppState, admin::AdminState, auth::HookAuthenticator, router};
use crate::jobs::{JobRunner, RunnerSettings};
use crate::publish::{self, PublisherSettings};
use crate::reconcile::{Reconciler, Reconcilers};
use crate::store::{self, Store};
use crate::telemetry;

/// Runs `serve` on an already bound listener until `shutdown` is cancelled: stop accepting, finish
/// in-flight requests (their events are committed before they answer), then let the publisher drain
/// the outbox for up to `shutdown_grace`. What is not drained stays in the store for the next start.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    run_with(config, listener, shutdown, |_| {}).await
}

/// [`run`], handing the organizations' reconcilers (the ones the periodic loops run) to `started`
/// once they exist, before the server accepts requests: embedders and tests use them for
/// [`Reconciler::run_once`], backfills and status.
pub async fn run_with(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
    started: impl FnOnce(&Reconcilers) + Send,
) -> anyhow::Result<()> {
    config.validate_for_serve()?;
    let config = Arc::new(config);
    let store = store::open(&config.store, config.outbox_max)
        .await
        .with_context(|| format!("cannot open the store at {}", config.store))?;
    let health = Arc::new(Health::new());

    let publisher_stop = CancellationToken::new();
    let publisher = tokio::spawn(publish::run(
        PublisherSettings::from(config.as_ref()),
        store.clone(),
        health.clone(),
        publisher_stop.clone(),
        config.shutdown_grace,
    ));
    let retention = tokio::spawn(purge_seen_ids(
        store.clone(),
        config.seen_retention,
        shutdown.clone(),
    ));

    let reconcile_stop = CancellationToken::new();
    let reconcilers = start_reconcilers(&config, &store)?;
    started(&reconcilers);
    let reconciler_tasks: Vec<_> = reconcilers
        .iter()
        .map(|r| tokio::spawn(r.clone().run(reconcile_stop.clone())))
        .collect();

    // Backfill jobs: unfinished ones from a previous run resume from their cursors.
    let jobs_stop = CancellationToken::new();
    let jobs = JobRunner::start(
        store.clone(),
        config.organizations.clone(),
        Arc::new(reconcilers.clone()),
        RunnerSettings::default(),
        jobs_stop.clone(),
    )
    .await
    .context("cannot load the backfill jobs")?;

    let state = AppState {
        config: config.clone(),
        store,
        health,
        metrics: telemetry::metrics_handle(),
        auth: HookAuthenticator::new(&config.hook_credentials, config.allow_anonymous_hooks),
        admin: AdminState::new(&config.admin_token, jobs.clone(), reconcilers),
    };
    let addr = listener.local_addr()?;
    tracing::info!(%addr, exchange = %config.exchange, store = %config.store, "ado-ingest serving");
    let served = axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown.clone().cancelled_owned())
        .await;
    tracing::info!("HTTP server stopped; stopping the reconcilers and draining the outbox");
    // Reconcilers stop at the next page boundary; what they inserted is durable already.
    reconcile_stop.cancel();
    // Running backfills persist their cursors and stay queued for the next start.
    jobs_stop.cancel();
    jobs.stopped().await;
    for task in reconciler_tasks {
        if let Err(e) = task.await {
            tracing::error!(error = %e, "reconciler task failed");
        }
    }
    publisher_stop.cancel();
    if let Err(e) = publisher.await {
        tracing::error!(error = %e, "publisher task failed");
    }
    retention.abort();
    served.context("HTTP server failed")?;
    tracing::info!("ado-ingest stopped");
    Ok(())
}

/// One reconciler per configured organization (their REST clients are built here, so a bad URL or
/// credential setting fails start-up instead of every pass).
fn start_reconcilers(config: &Config, store: &Arc<dyn Store>) -> anyhow::Result<Reconcilers> {
    let list = config
        .organizations
        .iter()
        .map(|org| {
            Reconciler::new(
                org.clone(),
                store.clone(),
                ReconcileConfig {
                    hook_credentials: config.hook_credentials.clone(),
                    ..config.reconcile.clone()
                },
                config.publish.include_raw,
            )
            .with_context(|| format!("cannot set up the reconciler of {}", org.name()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if !list.is_empty() {
        tracing::info!(organizations = list.len(), interval = ?config.reconcile.interval, "reconcilers starting");
    }
    Ok(Reconcilers::new(list))
}

/// Forgets seen ids older than the retention, hourly.
async fn purge_seen_ids(store: Arc<dyn Store>, retention: Duration, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let cutoff = chrono::Utc::now()
            - chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
        match store.purge_seen_before(cutoff).await {
            Ok(n) if n > 0 => tracing::info!(purged = n, "forgot seen ids past retention"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "purging seen ids failed"),
        }
    }
}
