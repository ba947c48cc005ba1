//! Failed-delivery replay: notifications the simulator marked failed (the receiver was down) are
//! republished from `notificationsquery` — their stored original event through the hook path,
//! `adoorigin = replay`, the hook's id and data — with no other REST call for them.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::support::reconcile::*;
use ado_sim::{ActivitySpec, SubscriptionStatus};
use serde_json::{Value, json};

/// Every notification the simulator marked failed, through its REST API (event id → count).
async fn failed_event_ids(base_url: &str, pat: &str) -> BTreeSet<String> {
    let resp: Value = reqwest::Client::new()
        .post(format!(
            "{base_url}_apis/hooks/notificationsquery?api-version=7.1"
        ))
        .basic_auth("", Some(pat))
        .json(&json!({"resultType": "failed", "includeDetails": false, "maxResults": 100000}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    resp["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["eventId"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_notifications_are_republished_from_notificationsquery() {
    let sim = start_sim(fast_sim(41)).await;
    // A receiver that is down: nothing listens on this port.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    sim.subscribe_all(
        "contoso",
        &format!("http://{dead}/hooks"),
        Some((USER, PASSWORD)),
    )
    .unwrap();
    sim.generate(&ActivitySpec::new(120)).unwrap();
    // Wait until every subscription has failed a notification (on probation, the others wait).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let subs = sim.subscriptions("contoso");
        let settled = subs
            .iter()
            .filter(|s| s.notifications > 0)
            .all(|s| s.status != SubscriptionStatus::Enabled);
        if settled {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "deliveries did not fail in time: {subs:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let info = sim.org("contoso").unwrap();
    let failed = failed_event_ids(&info.base_url, &sim.pat()).await;
    assert!(
        failed.len() >= 5,
        "only {} failed notifications",
        failed.len()
    );

    let bench = Bench::new(org_config(&sim, "contoso"), 50).await;
    bench.reconciler.client().connect().await.unwrap();
    let calls_before = bench.reconciler.client().counters().calls;
    let progress = bench.reconciler.replay_failed().await.unwrap();
    let calls = bench.reconciler.client().counters().calls - calls_before;
    assert_eq!(progress.errors, 0, "{:?}", progress.last_error);
    // Projects (pass context), pending query, summary, one query per subscription with failures.
    let subscriptions_failing = sim
        .subscriptions("contoso")
        .iter()
        .filter(|s| s.notifications > 0)
        .count() as u64;
    assert!(
        calls <= 3 + subscriptions_failing,
        "{calls} REST calls for {} failed notifications",
        failed.len()
    );

    let truth = sim.truth();
    let exp = expected(&truth);
    let by_event: BTreeMap<&str, &Expected> = exp
        .iter()
        .map(|e| (e.truth.ado_event_id.as_str(), e))
        .collect();
    let outbox = bench.outbox().await;
    assert_eq!(outbox.len(), failed.len());
    for event_id in &failed {
        let e = by_event[event_id.as_str()];
        let body = outbox
            .get(&e.id)
            .unwrap_or_else(|| panic!("failed {} not replayed", e.truth.summary));
        assert_eq!(body["adoorigin"], "replay");
        assert_eq!(data_of(body), data_of(&e.body), "{}", e.truth.summary);
    }
    assert_eq!(progress.events_published, failed.len() as u64);
    // A second look republishes nothing.
    let again = bench.reconciler.replay_failed().await.unwrap();
    assert_eq!(again.events_published, 0);
    assert_eq!(
        bench.reconciler.status().streams["notifications"]
            .totals
            .errors,
        0
    );
    sim.shutdown().await;
}
