//! Wires the service together in two phases — [`App::build`] (configuration, store, reconcilers)
//! then [`App::run`] (publisher, retention, reconcile loops, backfill jobs, HTTP server, graceful
//! shutdown).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::health::Health;
use crate::http::{AppState, admin::AdminState, auth::HookAuthenticator, router};
use crate::jobs::{JobRunner, RunnerSettings};
use crate::publish::{self, PublisherSettings};
use crate::reconcile::Reconcilers;

mod discovered;
use crate::store::{self, Store};
use crate::telemetry;

/// A service that is set up but not yet running: the configuration is validated, the store is
/// open and the reconcilers exist, so callers (the binary, embedders, tests) can read the address,
/// the store and the reconcilers before anything is served.
pub struct App {
    config: Arc<Config>,
    listener: TcpListener,
    store: Arc<dyn Store>,
    health: Arc<Health>,
    reconcilers: Reconcilers,
}

impl App {
    /// Phase one: validate the configuration, open the store, build one reconciler per
    /// organization (their REST clients are built here, so a bad URL or credential fails start-up).
    pub async fn build(config: Config, listener: TcpListener) -> anyhow::Result<Self> {
        config.validate_for_serve()?;
        telemetry::describe_metrics();
        let config = Arc::new(config);
        let store = store::open_with(&config.store_options())
            .await
            .with_context(|| format!("cannot open the store at {}", config.store))?;
        let reconcilers = build_reconcilers(&config, &store)?;
        if config.discovery.enabled() {
            match crate::reconcile::discovery::discover(&config.discovery, &config.login).await {
                Ok(found) => {
                    let added = discovered::add_found(&config, &store, &reconcilers, found);
                    tracing::info!(
                        organizations = added.len(),
                        "discovery: organizations found"
                    );
                }
                // Not fatal: the next interval tries again (and configured ones run meanwhile).
                Err(e) => {
                    tracing::warn!(error = %e, "discovery failed at start; trying again next interval")
                }
            }
        }
        Ok(Self {
            config,
            listener,
            store,
            health: Arc::new(Health::new()),
            reconcilers,
        })
    }

    /// The address the HTTP server listens on (a port-0 listener's real port).
    pub fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.listener.local_addr()
    }

    /// The organizations' reconcilers, the same ones the periodic loops will run.
    pub fn reconcilers(&self) -> &Reconcilers {
        &self.reconcilers
    }

    /// The opened store (shared with the HTTP handlers and the publisher).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Phase two: serve until `shutdown` is cancelled, then stop accepting, finish in-flight
    /// requests (their events are committed before they answer), and let the publisher drain the
    /// outbox for up to `shutdown_grace`. What is not drained stays in the store for the next start.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Self {
            config,
            listener,
            store,
            health,
            reconcilers,
        } = self;
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
        let reconciler_tasks = tokio_util::task::TaskTracker::new();
        for r in reconcilers
            .all()
            .into_iter()
            .filter(|r| !r.status().discovered)
        {
            reconciler_tasks.spawn(r.run(reconcile_stop.clone()));
        }
        if config.discovery.enabled() {
            reconciler_tasks.spawn(discovered::keep_discovering(
                config.clone(),
                store.clone(),
                reconcilers.clone(),
                reconciler_tasks.clone(),
                reconcile_stop.clone(),
            ));
        }

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
            store: store.clone(),
            health,
            metrics: telemetry::metrics_handle(),
            auth: HookAuthenticator::new(&config.hook_credentials, config.allow_anonymous_hooks),
            tenants: crate::http::tenants::KnownCollections::new(
                reconcilers.clone(),
                config.hooks.require_known_collection(
                    config.organizations.len() + usize::from(config.discovery.enabled()),
                ),
            ),
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
        reconciler_tasks.close();
        reconciler_tasks.wait().await;
        publisher_stop.cancel();
        if let Err(e) = publisher.await {
            tracing::error!(error = %e, "publisher task failed");
        }
        // Nothing stores or publishes from here on: what is left goes to the other replicas now,
        // not one lease later.
        match store.release_claims().await {
            Ok(0) => {}
            Ok(released) => {
                tracing::info!(released, "outbox rows left to the other replicas")
            }
            Err(error) => {
                tracing::warn!(%error, "cannot hand the outbox rows over; the other replicas take them when the lease runs out")
            }
        }
        retention.abort();
        served.context("HTTP server failed")?;
        tracing::info!("ado-ingest stopped");
        Ok(())
    }
}

/// Builds and runs `serve` on an already bound listener until `shutdown` is cancelled.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    App::build(config, listener).await?.run(shutdown).await
}

/// One reconciler per configured organization (their REST clients are built here, so a bad URL or
/// credential setting fails start-up instead of every pass).
fn build_reconcilers(config: &Config, store: &Arc<dyn Store>) -> anyhow::Result<Reconcilers> {
    let list = config
        .organizations
        .iter()
        .map(|org| discovered::reconciler_for(config, store, org.clone()))
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
