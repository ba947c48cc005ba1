//! Starting a simulator: build the organizations for the listener's address, then serve REST.

use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::clock::SimClock;
use super::delivery::Counters;
use super::ids::SimRng;
use super::model::World;
use super::model::seed::build_org;
use super::ratelimit::RateLimiter;
use super::shared::{Controls, Shared};
use super::truth::Truth;
use super::{SimConfig, Simulator, rest};

/// Builds the simulated organizations for the listener's address and serves their REST API on it.
/// Base URLs use the listener's address, e.g. `http://127.0.0.1:PORT/contoso/`.
pub async fn start(config: SimConfig, listener: TcpListener) -> std::io::Result<Simulator> {
    let addr = listener.local_addr()?;
    let host = addr.to_string();
    let mut rng = SimRng::new(config.seed);
    let clock = SimClock::new(config.clock);
    if config.orgs.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "a simulator needs at least one organization",
        ));
    }
    let mut names = std::collections::HashSet::new();
    for spec in &config.orgs {
        if !names.insert(spec.name.to_ascii_lowercase())
            || spec.name.is_empty()
            || spec.name.contains('/')
        {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "organization names must be unique, non-empty and without '/': `{}`",
                    spec.name
                ),
            ));
        }
    }
    let orgs = config
        .orgs
        .iter()
        .map(|spec| build_org(spec, &host, &mut rng, clock.now()))
        .collect();
    // Not drawn from the generator: the activity of a seed stays what it was.
    let identity_id = format!("5e0d1d00-0000-4000-8000-{:012x}", config.seed);
    let world = World {
        seed: config.seed,
        identity_id,
        orgs,
        rng,
        clock,
        truth: Truth::default(),
        subscriptions_created: 0,
    };
    let mut limiter = RateLimiter::default();
    limiter.configure(config.rate_limit);
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| std::io::Error::other(format!("cannot build the hook HTTP client: {e}")))?;
    let shared = Arc::new(Shared {
        world: Mutex::new(world),
        controls: Mutex::new(Controls {
            pat: config.pat,
            faults: config.faults,
            time_scale: config.time_scale,
            request_timeout: config.request_timeout,
            rest_faults: Default::default(),
            refused_routes: Vec::new(),
            memberships: None,
            rest_rng: SimRng::derive(config.seed, "rest-faults"),
        }),
        limiter: Mutex::new(limiter),
        counters: Counters::default(),
        rest_calls: Mutex::new(Default::default()),
        http,
        entra: Mutex::new(Default::default()),
        shutdown: CancellationToken::new(),
        tasks: TaskTracker::new(),
    });
    let router = rest::router(shared.clone());
    let stop = shared.shutdown.clone();
    shared.tasks.spawn(async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "simulator REST server stopped");
        }
    });
    Ok(Simulator { shared, addr })
}
