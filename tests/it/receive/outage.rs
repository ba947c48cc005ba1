//! Broker outage: hooks are still accepted into the outbox; when the broker is back each arrives
//! exactly once; a full outbox answers 503 with Retry-After.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::*;

pub fn push_hook(n: u64) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "subscriptionId": "7c7e5e1b-1f7e-4a8e-9b5e-0a1b2c3d4e5f",
        "notificationId": n,
        "id": format!("00000000-0000-4000-8000-{n:012}"),
        "eventType": "git.push",
        "publisherId": "tfs",
        "message": null,
        "detailedMessage": null,
        "resourceVersion": "1.0",
        "resourceContainers": {
            "collection": {"id": "c0ffee00-0000-4000-8000-000000000001", "baseUrl": "https://dev.azure.com/contoso/"},
            "account": {"id": "c0ffee00-0000-4000-8000-000000000002", "baseUrl": "https://dev.azure.com/contoso/"},
            "project": {"id": "c0ffee00-0000-4000-8000-000000000003", "baseUrl": "https://dev.azure.com/contoso/"}
        },
        "createdDate": "2026-11-26T08:00:00Z",
        "resource": {
            "pushId": n,
            "date": "2026-11-26T08:00:00Z",
            "url": format!("https://dev.azure.com/contoso/_apis/git/repositories/5febef5a-833d-4e14-b9c0-14cb638f91e6/pushes/{n}"),
            "pushedBy": {"id": "d6245f20-2af8-44f4-9451-8107cb2767db", "displayName": "Jamal Hartnett", "uniqueName": "jamal@contoso.com"},
            "refUpdates": [{"name": "refs/heads/main", "oldObjectId": format!("{:040x}", n), "newObjectId": format!("{:040x}", n + 1)}],
            "commits": [{"commitId": format!("{:040x}", n + 1), "author": {"name": "Jamal Hartnett", "email": "jamal@contoso.com", "date": "2026-11-26T07:59:00Z"}, "committer": {"name": "Jamal Hartnett", "email": "jamal@contoso.com", "date": "2026-11-26T07:59:00Z"}, "comment": "change", "url": "https://dev.azure.com/contoso/_apis/git/repositories/5febef5a-833d-4e14-b9c0-14cb638f91e6/commits/x"}],
            "repository": {
                "id": "5febef5a-833d-4e14-b9c0-14cb638f91e6", "name": "Fabrikam-Fiber-Git",
                "url": "https://dev.azure.com/contoso/_apis/git/repositories/5febef5a-833d-4e14-b9c0-14cb638f91e6",
                "project": {"id": "c0ffee00-0000-4000-8000-000000000003", "name": "Fabrikam Fiber", "url": "https://dev.azure.com/contoso/_apis/projects/c0ffee00-0000-4000-8000-000000000003", "state": "wellFormed"},
                "defaultBranch": "refs/heads/main",
                "remoteUrl": "https://dev.azure.com/contoso/_git/Fabrikam-Fiber-Git"
            }
        }
    }))
    .unwrap()
}

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
