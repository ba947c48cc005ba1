//! Broker outage: hooks are still accepted into the outbox; when the broker is back each arrives
//! exactly once; a full outbox answers 503 with Retry-After.

use std::time::{Duration, Instant};

use crate::support::process::push_hook;
use crate::support::*;

async fn wait_for(mut cond: impl AsyncFnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn readyz(base: &str) -> (u16, serde_json::Value) {
    let r = reqwest::get(format!("{base}/readyz")).await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_are_accepted_during_a_broker_outage_and_delivered_once_after() {
    let proxy = Proxy::start(&broker_addr()).await;
    let server = TestServer::start(ServerOptions::default().amqp_url(&proxy.amqp_url())).await;
    server.wait_ready().await;
    let mut tap = Tap::bind(&server.exchange).await;

    proxy.cut();
    wait_for(
        async || readyz(&server.base).await.0 == 503,
        "readyz to report the broker down",
    )
    .await;
    let (_, ready) = readyz(&server.base).await;
    assert_eq!(ready["broker"]["ok"], false, "{ready}");
    assert_eq!(ready["store"]["ok"], true, "{ready}");

    let mut ids = Vec::new();
    for n in 1..=40 {
        let (status, body) = server.post(&push_hook(n)).await;
        assert_eq!(status, 202, "{body}");
        ids.push(body["id"].as_str().unwrap().to_string());
    }
    let (_, ready) = readyz(&server.base).await;
    assert_eq!(ready["outbox_depth"], 40, "{ready}");
    assert!(
        tap.collect(1, Duration::ZERO, Duration::from_millis(500))
            .await
            .is_empty()
    );

    proxy.restore();
    let got = tap
        .collect(40, Duration::from_secs(2), Duration::from_secs(30))
        .await;
    let mut got_ids: Vec<String> = got.iter().map(|m| m.message_id.clone().unwrap()).collect();
    got_ids.sort();
    ids.sort();
    assert_eq!(got_ids, ids, "every accepted hook exactly once");
    assert!(
        got.iter()
            .all(|m| m.routing_key == "contoso.fabrikam-fiber.git.push")
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_outbox_answers_503_with_retry_after() {
    let proxy = Proxy::start(&broker_addr()).await;
    proxy.cut();
    let server = TestServer::start(
        ServerOptions::default()
            .amqp_url(&proxy.amqp_url())
            .with("ADO_INGEST_OUTBOX_MAX", "3"),
    )
    .await;
    for n in 1..=3 {
        assert_eq!(server.post(&push_hook(n)).await.0, 202);
    }
    let r = reqwest::Client::new()
        .post(format!("{}/hooks", server.base))
        .header("content-type", "application/json")
        .header("authorization", basic_auth(USER, PASSWORD))
        .body(push_hook(4))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().get("retry-after").is_some());
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "outbox_full");
    // A duplicate of an accepted event is still answered (it needs no room).
    let (status, body) = server.post(&push_hook(2)).await;
    assert_eq!(
        (status, &body["duplicate"]),
        (200, &serde_json::Value::Bool(true)),
        "{body}"
    );
    // Once the broker is back the outbox drains and hooks are accepted again.
    proxy.restore();
    server.wait_ready().await;
    wait_for(
        async || readyz(&server.base).await.1["outbox_depth"] == 0,
        "the outbox to drain",
    )
    .await;
    assert_eq!(server.post(&push_hook(4)).await.0, 202);
    server.stop().await;
}
