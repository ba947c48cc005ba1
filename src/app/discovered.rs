//! `serve`'s side of `[discovery]`: the organizations found at start get reconcilers like
//! configured ones; every `reconcile.interval` the list is read again — a new organization gets
//! its reconciler and periodic loop, one no longer listed (access removed) has its loop stopped
//! and is reported (status `access_lost_since`, a warning, the gauge), its state kept; if it comes
//! back its loop starts again from its watermarks.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Utc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{Config, OrganizationConfig};
use crate::reconcile::{Reconciler, Reconcilers, discovery};
use crate::store::Store;

/// A reconciler for an organization, with the service's settings.
pub fn reconciler_for(
    config: &Config,
    store: &Arc<dyn Store>,
    org: OrganizationConfig,
) -> anyhow::Result<Reconciler> {
    use anyhow::Context;
    let name = org.name();
    Reconciler::new(
        org,
        store.clone(),
        crate::config::ReconcileConfig {
            hook_credentials: config.hook_credentials.clone(),
            ..config.reconcile.clone()
        },
        config.publish.include_raw,
    )
    .with_context(|| format!("cannot set up the reconciler of {name}"))
}

/// Adds a reconciler per discovered organization not configured already; returns how many.
pub fn add_found(
    config: &Config,
    store: &Arc<dyn Store>,
    registry: &Reconcilers,
    found: Vec<OrganizationConfig>,
) -> Vec<Reconciler> {
    let mut added = Vec::new();
    for org in found {
        if registry.find(&org.name()).is_some() || registry.find(&org.url).is_some() {
            continue;
        }
        match reconciler_for(config, store, org) {
            Ok(r) => {
                r.set_discovered(None);
                if registry.add(r.clone()) {
                    tracing::info!(org = %r.name(), url = %r.organization().url, "organization discovered");
                    added.push(r);
                }
            }
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "discovered organization skipped"),
        }
    }
    added
}

/// Reads the organizations again every `reconcile.interval` until `stop`.
pub async fn keep_discovering(
    config: Arc<Config>,
    store: Arc<dyn Store>,
    registry: Reconcilers,
    tasks: TaskTracker,
    stop: CancellationToken,
) {
    // Loops of discovered organizations, stoppable one by one.
    let mut loops: BTreeMap<String, CancellationToken> = BTreeMap::new();
    let start = |r: &Reconciler, loops: &mut BTreeMap<String, CancellationToken>| {
        let token = stop.child_token();
        tasks.spawn(r.clone().run(token.clone()));
        loops.insert(r.name(), token);
    };
    for r in registry.all().iter().filter(|r| r.status().discovered) {
        start(r, &mut loops);
    }
    let mut tick = tokio::time::interval(config.reconcile.interval);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let found = match discovery::discover(&config.discovery, &config.login).await {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list the organizations of the discovery identity; trying again next interval");
                metrics::counter!("ado_ingest_discovery_errors_total").increment(1);
                continue;
            }
        };
        for r in add_found(&config, &store, &registry, found.clone()) {
            start(&r, &mut loops);
        }
        let listed = |r: &Reconciler| found.iter().any(|o| r.matches(&o.name()));
        let mut lost = 0u64;
        for r in registry.all().iter().filter(|r| r.status().discovered) {
            let gone = r.status().access_lost_since;
            match (listed(r), gone) {
                (false, None) => {
                    tracing::warn!(org = %r.name(), "organization no longer accessible to the discovery identity: its passes stop, its state is kept");
                    r.set_discovered(Some(Utc::now()));
                    if let Some(token) = loops.remove(&r.name()) {
                        token.cancel();
                    }
                    lost += 1;
                }
                (false, Some(_)) => lost += 1,
                (true, Some(_)) => {
                    tracing::info!(org = %r.name(), "organization accessible again");
                    r.set_discovered(None);
                    start(r, &mut loops);
                }
                (true, None) => {}
            }
        }
        metrics::gauge!("ado_ingest_discovered_organizations", "state" => "lost").set(lost as f64);
        metrics::gauge!("ado_ingest_discovered_organizations", "state" => "accessible")
            .set(loops.len() as f64);
    }
}
