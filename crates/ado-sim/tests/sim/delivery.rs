//! Delivery semantics (acceptance 2), observed through the simulator's subscriptions REST API:
//! the transient retry schedule on 503, probation on 500 with new events dropped and the failed
//! notification retried, 410 disabling, probation exhaustion, credentials/headers, and the
//! injected faults.

use std::time::{Duration, Instant};

use crate::sim_common::{Receiver, Rest, receiver};
use ado_sim::{
    self as sim, ActivityMix, ActivitySpec, FaultRates, SimConfig, Simulator, SubscriptionRequest,
};
use serde_json::{Value, json};

async fn start(time_scale: f64) -> (Simulator, Rest) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = sim::start(
        SimConfig {
            seed: 5,
            time_scale,
            ..SimConfig::default()
        },
        listener,
    )
    .await
    .unwrap();
    let rest = Rest::new(&sim.orgs()[0].base_url, &sim.pat());
    (sim, rest)
}

/// A git.push subscription (project-scoped, so full resources) with Basic credentials.
fn push_subscription(sim: &Simulator, rx: &Receiver) -> String {
    let org = sim.orgs().remove(0);
    let req = SubscriptionRequest::webhook("git.push", &rx.url)
        .basic_auth("ado", "s3cret")
        .publisher_input("projectId", "")
        .consumer_input("resourceDetailsToSend", "all");
    sim.create_subscription(&org.name, req).unwrap()
}

fn pushes(sim: &Simulator, n: usize) -> usize {
    let spec = ActivitySpec {
        actions: n,
        mix: ActivityMix::only("git").unwrap(),
        org: None,
    };
    sim.generate(&spec).unwrap().changes
}

async fn subscription(rest: &Rest, id: &str) -> Value {
    rest.get(&format!("_apis/hooks/subscriptions/{id}?api-version=7.1"))
        .await
        .0
}

async fn wait_for(rx: &Receiver, n: usize, within: Duration) {
    let deadline = Instant::now() + within;
    while rx.received().len() < n {
        assert!(
            Instant::now() < deadline,
            "expected {n} deliveries, got {}",
            rx.received().len()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_503_is_retried_on_the_backoff_schedule_with_the_same_notification() {
    let scale = 0.01;
    let (sim, rest) = start(scale).await;
    let rx = receiver().await;
    rx.script(&[503, 503, 503, 503]);
    let id = push_subscription(&sim, &rx);
    assert_eq!(pushes(&sim, 1), 1);
    sim.settle(Duration::from_secs(20)).await.unwrap();

    let got = rx.received();
    assert_eq!(got.len(), 5, "one first attempt and four retries");
    for r in &got {
        assert_eq!(r.body, got[0].body, "a retry resends the same notification");
    }
    assert_eq!(got[0].body["notificationId"], 1);
    // Gaps follow 1, 2, 4, 8 s (scaled), in order.
    for (i, nominal) in [1.0, 2.0, 4.0, 8.0].iter().enumerate() {
        let gap = got[i + 1].at.duration_since(got[i].at).as_secs_f64();
        let want = nominal * scale;
        assert!(
            gap >= want * 0.9 && gap < want + 0.25,
            "retry {} came after {gap:.3}s, expected about {want:.3}s",
            i + 1
        );
    }
    let sub = subscription(&rest, &id).await;
    assert_eq!(sub["status"], "enabled");
    assert_eq!(sub["probationRetries"], 0);
    let (n, _) = rest
        .get(&format!("_apis/hooks/subscriptions/{id}/notifications/1"))
        .await;
    assert_eq!(n["result"], "succeeded");
    assert_eq!(n["details"]["requestAttempts"], 5);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_exhaust_eight_retries_then_probation_then_disable() {
    // 1, 2, 4, … 60 s become 0.01 … 0.6 ms; probation's 20 min … 15 h become 12 … 540 ms.
    let (sim, rest) = start(0.000_01).await;
    let rx = receiver().await;
    rx.set_default(503);
    let id = push_subscription(&sim, &rx);
    pushes(&sim, 1);
    sim.settle(Duration::from_secs(20)).await.unwrap();
    let got = rx.received();
    assert_eq!(
        got.len(),
        1 + 8 + 7,
        "first attempt, 8 transient retries, 7 probation retries"
    );
    let sub = subscription(&rest, &id).await;
    assert_eq!(sub["status"], "disabledBySystem");
    assert_eq!(sub["probationRetries"], 7);
    assert!(sub["lastProbationRetryDate"].is_string());
    // Timers never fire early: every gap is at least the scheduled (scaled) delay — 1, 2, 4, 8, 16,
    // 32, 60, 60 s between the fast retries, then 20 min … 15 h between the probation retries.
    let scheduled: Vec<f64> = sim::delivery::TRANSIENT_BACKOFF_SECS
        .iter()
        .chain(sim::delivery::PROBATION_BACKOFF_SECS.iter())
        .map(|s| *s as f64 * 0.000_01)
        .collect();
    for (i, want) in scheduled.iter().enumerate() {
        let gap = got[i + 1].at.duration_since(got[i].at).as_secs_f64();
        assert!(
            gap >= want - 0.001,
            "attempt {} came {gap:.4}s after the previous, scheduled {want:.4}s",
            i + 2
        );
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_500_puts_the_subscription_on_probation_and_drops_new_events() {
    // The first probation retry comes after 20 min × 0.002 = 2.4 s.
    let (sim, rest) = start(0.002).await;
    let rx = receiver().await;
    rx.script(&[500]);
    let id = push_subscription(&sim, &rx);
    pushes(&sim, 1);
    wait_for(&rx, 1, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let sub = subscription(&rest, &id).await;
    assert_eq!(sub["status"], "onProbation", "{sub}");
    assert_eq!(
        rx.received().len(),
        1,
        "an enduring failure is not retried quickly"
    );

    // While on probation new events are lost: no notification, no delivery.
    let dropped = pushes(&sim, 3);
    // The failed notification is visible, with its original event, to notificationsquery.
    let (status, q) = rest
        .send(
            reqwest::Method::POST,
            "_apis/hooks/notificationsquery",
            &json!({"resultType": "failed", "includeDetails": true}),
        )
        .await;
    assert_eq!(status, 200);
    let results = q["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{q}");
    assert_eq!(
        results[0]["details"]["event"],
        rx.received()[0].body,
        "details.event is the original envelope"
    );
    assert_eq!(results[0]["eventId"], rx.received()[0].body["id"]);

    // The probation retry succeeds: enabled again, events flow, the dropped ones never arrive.
    sim.settle(Duration::from_secs(20)).await.unwrap();
    let sub = subscription(&rest, &id).await;
    assert_eq!(sub["status"], "enabled");
    assert_eq!(sub["probationRetries"], 1);
    assert!(sub["lastProbationRetryDate"].is_string());
    let got = rx.received();
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[1].body, got[0].body,
        "the retried notification is the original one"
    );
    pushes(&sim, 1);
    sim.settle(Duration::from_secs(5)).await.unwrap();
    let got = rx.received();
    assert_eq!(got.len(), 3);
    assert_eq!(
        got[2].body["notificationId"], 2,
        "dropped events got no notification"
    );
    let truth = sim.truth();
    assert_eq!(
        truth
            .iter()
            .map(|t| t.delivery.dropped_on_probation)
            .sum::<u32>() as usize,
        dropped
    );
    assert_eq!(sim.stats().dropped_on_probation as usize, dropped);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_410_disables_the_subscription_until_re_enabled() {
    let (sim, rest) = start(0.001).await;
    let rx = receiver().await;
    rx.script(&[410]);
    let id = push_subscription(&sim, &rx);
    pushes(&sim, 1);
    sim.settle(Duration::from_secs(5)).await.unwrap();
    let sub = subscription(&rest, &id).await;
    assert_eq!(sub["status"], "disabledBySystem");
    assert_eq!(rx.received().len(), 1, "410 is not retried");
    pushes(&sim, 2);
    sim.settle(Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        rx.received().len(),
        1,
        "a disabled subscription gets nothing"
    );

    // Re-enable with PUT status=enabled, as subscription management would.
    let mut body = sub.clone();
    body["status"] = json!("enabled");
    body["consumerInputs"]["basicAuthPassword"] = json!("s3cret");
    let (status, replaced) = rest
        .send(
            reqwest::Method::PUT,
            &format!("_apis/hooks/subscriptions/{id}"),
            &body,
        )
        .await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["status"], "enabled");
    pushes(&sim, 1);
    sim.settle(Duration::from_secs(5)).await.unwrap();
    assert_eq!(rx.received().len(), 2);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_carry_credentials_headers_and_the_subscription_ids() {
    let (sim, _rest) = start(0.001).await;
    let rx = receiver().await;
    let id = push_subscription(&sim, &rx);
    pushes(&sim, 3);
    sim.settle(Duration::from_secs(5)).await.unwrap();
    let got = rx.received();
    assert_eq!(got.len(), 3);
    for (i, r) in got.iter().enumerate() {
        assert_eq!(
            r.headers["authorization"], "Basic YWRvOnMzY3JldA==",
            "Basic ado:s3cret"
        );
        assert_eq!(r.headers["x-vss-subscriptionid"], id.as_str());
        assert!(r.headers.contains_key("x-vss-activityid"));
        assert!(
            r.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        assert_eq!(r.body["subscriptionId"], id.as_str());
        assert_eq!(r.body["notificationId"], i as u64 + 1);
        assert_eq!(r.body["resourceVersion"], "1.0");
        assert_eq!(r.body["publisherId"], "tfs");
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_injection_drops_duplicates_reorders_and_delays() {
    let (sim, _rest) = start(0.001).await;
    let rx = receiver().await;
    push_subscription(&sim, &rx);

    sim.set_faults(FaultRates {
        drop: 1.0,
        ..FaultRates::default()
    });
    let lost = pushes(&sim, 5);
    sim.settle(Duration::from_secs(5)).await.unwrap();
    assert_eq!(rx.received().len(), 0);
    assert_eq!(sim.stats().dropped_by_fault as usize, lost);
    assert!(
        sim.truth()
            .iter()
            .all(|t| t.delivery.dropped_by_fault == 1 && t.delivery.delivered == 0)
    );

    sim.set_faults(FaultRates {
        duplicate: 1.0,
        ..FaultRates::default()
    });
    pushes(&sim, 4);
    sim.settle(Duration::from_secs(5)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let got = rx.received();
    assert_eq!(
        got.len(),
        8,
        "each notification twice: {:?} {:?}",
        got.iter()
            .map(|r| r.body["notificationId"].clone())
            .collect::<Vec<_>>(),
        sim.stats()
    );
    let ids: Vec<u64> = got
        .iter()
        .map(|r| r.body["notificationId"].as_u64().unwrap())
        .collect();
    for id in 1..=4 {
        assert_eq!(
            ids.iter().filter(|x| **x == id).count(),
            2,
            "notification {id} sent twice: {ids:?}"
        );
    }

    sim.set_faults(FaultRates {
        reorder: 1.0,
        delay: 1.0,
        max_delay: Duration::from_secs(20),
        ..FaultRates::default()
    });
    pushes(&sim, 20);
    sim.settle(Duration::from_secs(10)).await.unwrap();
    let later: Vec<u64> = rx.received()[8..]
        .iter()
        .map(|r| r.body["notificationId"].as_u64().unwrap())
        .collect();
    assert_eq!(later.len(), 20);
    assert!(
        later.windows(2).any(|w| w[1] < w[0]),
        "some notifications overtook others: {later:?}"
    );
    let stats = sim.stats();
    assert!(stats.reordered > 0 && stats.delayed > 0, "{stats:?}");
    sim.shutdown().await;
}
