//! The same change delivered twice (or via two subscriptions) is published once; different changes of
//! one work item are not conflated; test notifications are acknowledged and not published.

use std::time::Duration;

use serde_json::Value;

use crate::support::*;

fn sample(name: &str) -> Option<Value> {
    let dir = fixtures_dir("ado-samples")?;
    Some(serde_json::from_slice(&std::fs::read(dir.join(name)).unwrap()).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_are_published_once_and_test_notifications_not_at_all() {
    let Some(update) = sample("workitem.updated.2.json") else {
        return;
    };
    let test_notification = sample("workitem.created.json").unwrap();
    assert_eq!(
        test_notification["subscriptionId"],
        "00000000-0000-0000-0000-000000000000"
    );

    let server = TestServer::start(ServerOptions::default()).await;
    server.wait_ready().await;
    let mut tap = Tap::bind(&server.exchange).await;

    let bytes = serde_json::to_vec(&update).unwrap();
    let (s1, b1) = server.post(&bytes).await;
    assert_eq!(s1, 202, "{b1}");
    assert_eq!(b1["duplicate"], false);
    let (s2, b2) = server.post(&bytes).await;
    assert_eq!(s2, 200, "{b2}");
    assert_eq!(b2["duplicate"], true);
    assert_eq!(b1["id"], b2["id"]);

    // The same event through a second subscription: other subscription and notification ids.
    let mut other_sub = update.clone();
    other_sub["subscriptionId"] = "0b6e1f3a-9c1d-4f6e-8a2b-3c4d5e6f7a8b".into();
    other_sub["notificationId"] = 99.into();
    let (s3, b3) = server.post(&serde_json::to_vec(&other_sub).unwrap()).await;
    assert_eq!((s3, &b3["duplicate"]), (200, &Value::Bool(true)), "{b3}");

    // The next update of the same work item is a different change.
    let mut next = update.clone();
    let rev = next["resource"]["rev"].as_i64().unwrap();
    next["id"] = "5f0b8d3e-0000-4000-8000-00000000abcd".into();
    next["notificationId"] = 100.into();
    next["resource"]["rev"] = (rev + 1).into();
    next["resource"]["id"] = (next["resource"]["id"].as_i64().unwrap() + 1).into();
    next["resource"]["fields"]["System.Rev"] =
        serde_json::json!({"oldValue": rev, "newValue": rev + 1});
    next["resource"]["revision"]["rev"] = (rev + 1).into();
    let (s4, b4) = server.post(&serde_json::to_vec(&next).unwrap()).await;
    assert_eq!(s4, 202, "{b4}");
    assert_ne!(b4["id"], b1["id"]);

    // Test notification: 200, nothing published.
    let (s5, b5) = server
        .post(&serde_json::to_vec(&test_notification).unwrap())
        .await;
    assert_eq!(s5, 200, "{b5}");
    assert_eq!(b5["test"], true);

    let got = tap
        .collect(2, Duration::from_millis(1500), Duration::from_secs(15))
        .await;
    let ids: Vec<_> = got.iter().map(|m| m.message_id.clone().unwrap()).collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids.contains(&b1["id"].as_str().unwrap().to_string()));
    assert!(ids.contains(&b4["id"].as_str().unwrap().to_string()));
    assert!(
        got.iter()
            .all(|m| m.kind.as_deref() == Some("workitem.updated"))
    );

    server.stop().await;
}
