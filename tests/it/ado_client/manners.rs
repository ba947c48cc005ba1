//! REST manners: Retry-After, X-RateLimit-* pauses, retries on 5xx and timeouts, the concurrency
//! bound and the exported metrics.

use super::*;

#[tokio::test]
async fn retry_after_on_429_is_honoured_then_the_request_succeeds() {
    let mock = MockAdo::new("/contoso");
    mock.script(
        "_apis/git/pullrequests",
        [
            Reply::error(429, "TF400733: The request has been canceled").header("Retry-After", "1"),
            Reply::ok(json!({"count": 0, "value": []})),
        ],
    );
    let (mock, client) = pat_client(mock, fast()).await;
    client.connect().await.unwrap();
    let started = Instant::now();
    let response = client.get("_apis/git/pullrequests").await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(response.status, 200);
    let seen = mock.seen("_apis/git/pullrequests");
    assert_eq!(seen.len(), 2);
    assert!(seen[1].at - seen[0].at >= Duration::from_millis(990));
    let counters = client.counters();
    assert_eq!((counters.retries, counters.throttled), (1, 1));
    assert!(counters.throttled_wait >= Duration::from_millis(990));
}

#[tokio::test]
async fn retry_after_holds_back_every_request_to_the_organization() {
    let mock = MockAdo::new("/contoso");
    mock.script("_apis/a", [Reply::ok(json!({})).header("Retry-After", "1")]);
    mock.script("_apis/b", [Reply::ok(json!({}))]);
    let (mock, client) = pat_client(mock, fast()).await;
    client.get("_apis/a").await.unwrap();
    client.get("_apis/b").await.unwrap();
    let gap = mock.seen("_apis/b")[0].at - mock.seen("_apis/a")[0].at;
    assert!(gap >= Duration::from_millis(990), "{gap:?}");
    assert_eq!(client.counters().retries, 0);
}

#[tokio::test]
async fn server_errors_are_retried_then_succeed_or_give_up_clearly() {
    let mock = MockAdo::new("/contoso");
    mock.script(
        "_apis/flaky",
        [
            Reply::error(503, "busy"),
            Reply::error(502, "gateway"),
            Reply::ok(json!({"ok": 1})),
        ],
    );
    mock.script(
        "_apis/down",
        [Reply::error(500, "VS800075: database unavailable")],
    );
    let options = ClientOptions {
        max_attempts: 3,
        ..fast()
    };
    let (mock, client) = pat_client(mock, options).await;
    assert_eq!(client.get("_apis/flaky").await.unwrap().body["ok"], 1);
    assert_eq!(client.counters().retries, 2);

    let err = client.get("_apis/down").await.unwrap_err();
    assert!(matches!(err, AdoError::GaveUp { attempts: 3, .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("HTTP 500") && text.contains("VS800075"),
        "{text}"
    );
    assert_eq!(mock.seen("_apis/down").len(), 3);
}

#[tokio::test]
async fn timeouts_are_retried() {
    let mock = MockAdo::new("/contoso");
    mock.script(
        "_apis/slow",
        [
            Reply::ok(json!({})).delay(Duration::from_millis(800)),
            Reply::ok(json!({"fast": true})),
        ],
    );
    let options = ClientOptions {
        request_timeout: Duration::from_millis(300),
        ..fast()
    };
    let (mock, client) = pat_client(mock, options).await;
    assert_eq!(client.get("_apis/slow").await.unwrap().body["fast"], true);
    assert_eq!(mock.seen("_apis/slow").len(), 2);
    assert_eq!(client.counters().retries, 1);
}

#[tokio::test]
async fn rate_limit_headers_slow_the_next_request_down() {
    let mock = MockAdo::new("/contoso");
    mock.script(
        "_apis/delayed",
        [Reply::ok(json!({})).header("X-RateLimit-Delay", "0.4")],
    );
    mock.script(
        "_apis/low",
        [Reply::ok(json!({}))
            .header("X-RateLimit-Limit", "200")
            .header("X-RateLimit-Remaining", "0")],
    );
    mock.script(
        "_apis/plenty",
        [Reply::ok(json!({}))
            .header("X-RateLimit-Limit", "200")
            .header("X-RateLimit-Remaining", "150")],
    );
    mock.script("_apis/next", [Reply::ok(json!({}))]);
    let options = ClientOptions {
        slow_down_max: Duration::from_millis(500),
        ..fast()
    };
    let (mock, client) = pat_client(mock, options).await;
    let gap_after = |first: &str, nth_next: usize| {
        mock.seen("_apis/next")[nth_next].at - mock.seen(first)[0].at
    };
    client.get("_apis/delayed").await.unwrap();
    client.get("_apis/next").await.unwrap();
    assert!(gap_after("_apis/delayed", 0) >= Duration::from_millis(390));
    client.get("_apis/low").await.unwrap();
    client.get("_apis/next").await.unwrap();
    assert!(
        gap_after("_apis/low", 1) >= Duration::from_millis(490),
        "capped pause at 0 left"
    );
    client.get("_apis/plenty").await.unwrap();
    client.get("_apis/next").await.unwrap();
    assert!(
        gap_after("_apis/plenty", 2) < Duration::from_millis(200),
        "no pause when plenty left"
    );
    assert_eq!(client.counters().throttled, 2);
}

#[tokio::test]
async fn concurrency_per_organization_is_bounded() {
    let mock = MockAdo::new("/contoso");
    mock.script(
        "_apis/slow",
        [Reply::ok(json!({})).delay(Duration::from_millis(60))],
    );
    let options = ClientOptions {
        max_concurrency: 3,
        ..fast()
    };
    let (mock, client) = pat_client(mock, options).await;
    let calls: Vec<_> = (0..12)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.get("_apis/slow").await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(mock.seen("_apis/slow").len(), 12);
    assert_eq!(
        mock.max_in_flight(),
        3,
        "never more than 3 at once, and 3 were used"
    );
}

#[tokio::test]
async fn rest_metrics_are_exported() {
    let handle = ado_ingest::telemetry::metrics_handle();
    let mut mock = MockAdo::new("/metrics-org");
    mock.auth = Auth::Any;
    mock.script("_apis/x", [Reply::ok(json!({})).header("Retry-After", "1")]);
    let (_mock, client) = pat_client(mock, fast()).await;
    client.get("_apis/x").await.unwrap();
    client.get("_apis/x").await.unwrap();
    let text = handle.render();
    assert!(
        text.contains(r#"ado_ingest_rest_requests_total{org="metrics-org",status="200"} 4"#),
        "{text}"
    );
    assert!(
        text.contains(r#"ado_ingest_rest_throttled_seconds_total{org="metrics-org"}"#),
        "{text}"
    );
}
