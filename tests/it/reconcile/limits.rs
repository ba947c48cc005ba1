//! Rate limits and server errors: the simulator's `X-RateLimit-*` headers, delays and 429 +
//! `Retry-After` slow the reconciler down without losing anything, and runs of 5xx are retried.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::support::reconcile::*;
use ado_sim::{ActivitySpec, RateLimit, RestFaults};

fn assert_all_found(outbox: &BTreeSet<String>, exp: &[Expected]) {
    for e in exp {
        let complete = REST_COMPLETE.contains(&e.event_type.as_str())
            || (e.event_type == "workitem.updated" && !link_only(e));
        if complete {
            assert!(outbox.contains(&e.id), "lost {}", e.truth.summary);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_slow_the_client_down_and_nothing_is_lost() {
    let sim = start_sim(fast_sim(31)).await;
    sim.generate(&ActivitySpec::new(120)).unwrap();
    // A small budget in a 2 s window: headers early, delays past the budget, 429 beyond 1.5×.
    sim.set_rate_limit(Some(RateLimit {
        budget: 25.0,
        window: Duration::from_secs(2),
        cost_per_request: 1.0,
        block_at: 1.5,
        delay_per_unit: Duration::from_millis(5),
        max_delay: Duration::from_millis(200),
    }));
    let bench = Bench::new(org_config(&sim, "contoso"), 20).await;
    let started = Instant::now();
    let progress = bench.reconciler.run_once().await.unwrap();
    for (stream, p) in &progress {
        assert_eq!(p.errors, 0, "{stream}: {:?}", p.last_error);
    }
    let counters = bench.reconciler.client().counters();
    eprintln!("{counters:?} in {:?}", started.elapsed());
    assert!(
        counters.throttled > 0,
        "rate-limit headers never slowed the client"
    );
    assert!(counters.throttled_wait > Duration::ZERO);
    let outbox: BTreeSet<String> = bench.outbox().await.into_keys().collect();
    assert_all_found(&outbox, &expected(&sim.truth()));
    let status = bench.reconciler.status();
    assert!(status.rest_throttled > 0);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_of_server_errors_are_retried() {
    let sim = start_sim(fast_sim(32)).await;
    sim.generate(&ActivitySpec::new(120)).unwrap();
    let bench = Bench::new(org_config(&sim, "contoso"), 10).await;
    // Connect first, so the run of errors hits the streams (the first 5 requests after it fail).
    bench.reconciler.client().connect().await.unwrap();
    sim.set_rest_faults(RestFaults {
        error_rate: 0.15,
        error_status: 500,
        fail_next: 5,
    });
    let progress = bench.reconciler.run_once().await.unwrap();
    for (stream, p) in &progress {
        assert_eq!(p.errors, 0, "{stream}: {:?}", p.last_error);
    }
    let counters = bench.reconciler.client().counters();
    assert!(counters.retries >= 5, "{counters:?}");
    let outbox: BTreeSet<String> = bench.outbox().await.into_keys().collect();
    assert_all_found(&outbox, &expected(&sim.truth()));
    // 503 carries Retry-After: honoured, and still nothing lost.
    sim.set_rest_faults(RestFaults {
        error_rate: 0.1,
        error_status: 503,
        fail_next: 2,
    });
    sim.generate(&ActivitySpec::new(40)).unwrap();
    bench.reconciler.run_once().await.unwrap();
    sim.set_rest_faults(RestFaults::default());
    let outbox: BTreeSet<String> = bench.outbox().await.into_keys().collect();
    assert_all_found(&outbox, &expected(&sim.truth()));
    assert!(bench.reconciler.client().counters().throttled > 0);
    sim.shutdown().await;
}
