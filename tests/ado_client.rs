//! Integration tests of the Azure DevOps REST client against a local look-alike server: credentials,
//! retries and throttling manners, api-version negotiation on a Server collection, paging headers,
//! the concurrency bound and error mapping.

#[path = "ado_client/mock.rs"]
mod mock;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ado_ingest::ado::{AdoError, ApiVersion, ClientOptions, Feature, OrgClient};
use ado_ingest::config::{EntraConfig, OrganizationConfig, Secret};
use mock::{Auth, CLIENT_SECRET, INSTANCE_ID, MockAdo, Reply};
use serde_json::{Value, json};

/// Short delays so the suite stays fast.
fn fast() -> ClientOptions {
    ClientOptions {
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(100),
        request_timeout: Duration::from_secs(5),
        slow_down_max: Duration::from_secs(1),
        ..ClientOptions::default()
    }
}

async fn pat_client(mock: MockAdo, options: ClientOptions) -> (Arc<MockAdo>, OrgClient) {
    let prefix = mock.prefix.clone();
    let (mock, root) = mock.start().await;
    let org = OrganizationConfig::with_pat(format!("{root}{prefix}"), "my-pat");
    (mock, OrgClient::new(&org, options).unwrap())
}

#[tokio::test]
async fn pat_is_sent_as_basic_with_empty_user_and_the_negotiated_version_is_added() {
    let mut mock = MockAdo::new("/contoso");
    // base64(":my-pat"), computed independently of the client.
    mock.auth = Auth::Exactly("Basic Om15LXBhdA==".into());
    mock.script(
        "_apis/git/repositories",
        [Reply::ok(json!({"count": 0, "value": []}))],
    );
    let (mock, client) = pat_client(mock, fast()).await;

    let response = client.get("_apis/git/repositories").await.unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.body["count"], 0);
    assert_eq!(client.collection_id().await.unwrap(), INSTANCE_ID);
    assert_eq!(client.api_version().await.unwrap(), ApiVersion::new(7, 1));
    assert!(
        client
            .supports(Feature::PullRequestTimeRange)
            .await
            .unwrap()
    );
    assert!(client.connect().await.unwrap().is_hosted());
    assert_eq!(client.name(), "contoso");

    let seen = mock.all_seen();
    let routes: Vec<&str> = seen.iter().map(|s| s.route.as_str()).collect();
    assert_eq!(
        routes,
        [
            "_apis/connectionData",
            "_apis/projects",
            "_apis/git/repositories"
        ]
    );
    assert_eq!(
        seen[0].api_version, None,
        "connectionData is asked without a version"
    );
    assert_eq!(seen[2].api_version.as_deref(), Some("7.1"));
    assert!(
        seen.iter()
            .all(|s| s.authorization.as_deref() == Some("Basic Om15LXBhdA=="))
    );
    assert_eq!(client.counters().calls, 3);
    let debug = format!("{client:?}");
    assert!(
        !debug.contains("my-pat") && !debug.contains("Om15"),
        "{debug}"
    );
}

#[tokio::test]
async fn rejected_credentials_are_unauthorized_and_never_retried() {
    let mut mock = MockAdo::new("/contoso");
    mock.auth = Auth::Exactly("Basic something-else".into());
    let (mock, client) = pat_client(mock, fast()).await;
    let err = client.get("_apis/projects").await.unwrap_err();
    assert!(err.is_unauthorized(), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("contoso") && text.contains("PAT may be expired"),
        "{text}"
    );
    assert!(text.contains("TF400813"), "{text}");
    assert_eq!(mock.all_seen().len(), 1);
    assert_eq!(client.counters().retries, 0);

    // Also after connecting: a 403 on one route.
    let mock2 = MockAdo::new("/contoso");
    mock2.script(
        "_apis/wit/workitems",
        [Reply::error(403, "TF401027: no permission")],
    );
    let (mock2, client2) = pat_client(mock2, fast()).await;
    let err = client2.get("_apis/wit/workitems?ids=1").await.unwrap_err();
    assert!(
        matches!(err, AdoError::Unauthorized { status: 403, .. }),
        "{err}"
    );
    assert_eq!(mock2.seen("_apis/wit/workitems").len(), 1);
}

fn entra_org(root: &str, secret: &str) -> OrganizationConfig {
    OrganizationConfig {
        pat: None,
        entra: Some(EntraConfig {
            tenant_id: "tenant-1".into(),
            client_id: "app-id".into(),
            client_secret: Secret::new(secret),
            authority: root.to_string(),
            scope: ado_ingest::config::DEFAULT_ENTRA_SCOPE.into(),
        }),
        ..OrganizationConfig::with_pat(format!("{root}/fabrikam"), "unused")
    }
}

#[tokio::test]
async fn entra_token_is_fetched_once_and_refreshed_before_expiry() {
    let mut mock = MockAdo::new("/fabrikam");
    mock.auth = Auth::LatestBearer;
    // A 2 s token is refreshed after half its life (the 5 min margin is capped at half).
    mock.token_lifetime_secs = 2;
    mock.script(
        "_apis/build/builds",
        [Reply::ok(json!({"count": 0, "value": []}))],
    );
    let (mock, root) = mock.start().await;
    let org = entra_org(&root, CLIENT_SECRET);
    let client = OrgClient::new(&org, fast()).unwrap();

    let calls = (0..8).map(|_| {
        let c = client.clone();
        tokio::spawn(async move { c.get("_apis/build/builds").await })
    });
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(
        mock.tokens_issued(),
        1,
        "concurrent callers share one token request"
    );
    let token_requests = mock.seen("tenant-1/oauth2/v2.0/token");
    assert_eq!(token_requests.len(), 1);
    assert!(
        token_requests[0]
            .body
            .contains("grant_type=client_credentials")
    );

    tokio::time::sleep(Duration::from_millis(1100)).await;
    client.get("_apis/build/builds").await.unwrap();
    assert_eq!(mock.tokens_issued(), 2);
    let last = mock.seen("_apis/build/builds").pop().unwrap();
    assert_eq!(last.authorization.as_deref(), Some("Bearer tok-2"));

    let debug = format!("{client:?} {org:?}");
    assert!(
        !debug.contains(CLIENT_SECRET) && !debug.contains("tok-"),
        "{debug}"
    );
}

#[tokio::test]
async fn a_wrong_client_secret_is_a_clear_error_without_the_secret() {
    let (mock, root) = MockAdo::new("/fabrikam").start().await;
    let client = OrgClient::new(&entra_org(&root, "wrong-secret-123"), fast()).unwrap();
    let err = client.get("_apis/projects").await.unwrap_err();
    assert!(matches!(err, AdoError::Token { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("AADSTS7000215") && !text.contains("wrong-secret-123"),
        "{text}"
    );
    assert_eq!(
        mock.seen("tenant-1/oauth2/v2.0/token").len(),
        1,
        "not retried"
    );
}

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
async fn a_server_collection_that_only_knows_5_0_negotiates_5_0() {
    for hint in [true, false] {
        let mut mock = MockAdo::new("/tfs/DefaultCollection");
        mock.max_version = (5, 0);
        mock.version_hint = hint;
        mock.script(
            "MyProject/_apis/git/repositories",
            [Reply::ok(json!({"value": []}))],
        );
        // No trailing slash on purpose: the client must keep the collection path.
        let (mock, client) = pat_client(mock, fast()).await;
        assert_eq!(client.base_url().path(), "/tfs/DefaultCollection/");
        client
            .get("MyProject/_apis/git/repositories")
            .await
            .unwrap();
        assert_eq!(client.api_version().await.unwrap(), ApiVersion::new(5, 0));
        assert!(
            !client
                .supports(Feature::PullRequestTimeRange)
                .await
                .unwrap()
        );
        assert_eq!(client.collection_id().await.unwrap(), INSTANCE_ID);
        assert!(!client.connect().await.unwrap().is_hosted());
        let probes: Vec<String> = mock
            .seen("_apis/projects")
            .into_iter()
            .filter_map(|s| s.api_version)
            .collect();
        let expected: &[&str] = if hint {
            &["7.1", "5.0"]
        } else {
            &["7.1", "7.0", "6.0", "5.1", "5.0"]
        };
        assert_eq!(probes, expected, "hint = {hint}");
        let used = mock.seen("MyProject/_apis/git/repositories");
        assert_eq!(used[0].api_version.as_deref(), Some("5.0"));
        // Explicit preview versions pass through untouched.
        let preview = client.api_version().await.unwrap().preview(2);
        client
            .get_with_version("MyProject/_apis/git/repositories", &preview)
            .await
            .unwrap();
        let used = mock.seen("MyProject/_apis/git/repositories");
        assert_eq!(used[1].api_version.as_deref(), Some("5.0-preview.2"));
    }
}

fn rest_fixture(name: &str) -> Option<Value> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures"))
        .join("ado-rest-samples");
    if !dir.is_dir() {
        if std::env::var_os("CI").is_some()
            || std::env::var_os("ADO_INGEST_REQUIRE_FIXTURES").is_some()
        {
            panic!("fixtures missing at {} (required under CI)", dir.display());
        }
        eprintln!("skipping: fixtures not found at {}", dir.display());
        return None;
    }
    Some(serde_json::from_slice(&std::fs::read(dir.join(name)).unwrap()).unwrap())
}

#[tokio::test]
async fn the_continuation_token_header_is_surfaced_for_paging() {
    let (Some(page1), Some(page2)) = (
        rest_fixture("build.builds.list.json"),
        rest_fixture("build.builds.list.2.json"),
    ) else {
        return;
    };
    let mock = MockAdo::new("/contoso");
    mock.script(
        "Web/_apis/build/builds",
        [
            Reply::ok(page1.clone()).header("x-ms-continuationtoken", "2024-05-01T10:00:00.123Z"),
            Reply::ok(page2.clone()),
        ],
    );
    let (mock, client) = pat_client(mock, fast()).await;
    let mut route = "Web/_apis/build/builds?statusFilter=completed&$top=2".to_string();
    let mut pages = Vec::new();
    loop {
        let page = client.get(&route).await.unwrap();
        pages.push(page.body["value"].as_array().map_or(0, Vec::len));
        let Some(token) = page.continuation_token else {
            break;
        };
        let encoded: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
        route = format!(
            "Web/_apis/build/builds?statusFilter=completed&$top=2&continuationToken={encoded}"
        );
    }
    assert_eq!(
        pages,
        [
            page1["value"].as_array().unwrap().len(),
            page2["value"].as_array().unwrap().len()
        ]
    );
    let seen = mock.seen("Web/_apis/build/builds");
    assert!(
        seen[1]
            .query
            .contains("continuationToken=2024-05-01T10%3A00%3A00.123Z"),
        "{}",
        seen[1].query
    );
    assert_eq!(seen[1].api_version.as_deref(), Some("7.1"));
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
async fn not_found_bad_requests_and_foreign_urls_are_clear_errors() {
    let mock = MockAdo::new("/contoso");
    mock.script(
        "_apis/bad",
        [Reply::error(
            400,
            "TF400898: An Internal Error Occurred. Bad search criteria",
        )],
    );
    mock.script("_apis/page", [Reply::ok(json!({"isLastBatch": true}))]);
    let (mock, client) = pat_client(mock, fast()).await;
    let err = client.get("_apis/git/repositories/nope").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err = client.get("_apis/bad").await.unwrap_err();
    assert!(
        matches!(err, AdoError::Rejected { status: 400, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("Bad search criteria"), "{err}");
    assert_eq!(mock.seen("_apis/bad").len(), 1);

    // A nextLink under the organization is followed; anything else never gets the credential.
    let next = format!("{}_apis/page?continuationToken=5", client.base_url());
    assert_eq!(client.get(&next).await.unwrap().body["isLastBatch"], true);
    let before = mock.all_seen().len();
    for foreign in ["http://evil.example/_apis/x", "../other/_apis/projects"] {
        let err = client.get(foreign).await.unwrap_err();
        assert!(
            matches!(err, AdoError::InvalidRequest { .. }),
            "{foreign}: {err}"
        );
    }
    assert_eq!(mock.all_seen().len(), before);
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

#[tokio::test]
async fn post_json_sends_the_body_with_the_requested_version() {
    let mock = MockAdo::new("/contoso");
    mock.script(
        "_apis/wit/reporting/workitemrevisions",
        [Reply::ok(
            json!({"values": [], "isLastBatch": true, "continuationToken": "813;350;1"}),
        )],
    );
    mock.script("Web/_apis/wit/wiql", [Reply::ok(json!({"workItems": []}))]);
    let (mock, client) = pat_client(mock, fast()).await;
    let filter = json!({"fields": ["System.Id", "System.Rev"], "includeDeleted": true});
    let page = client
        .post_json_with_version(
            "_apis/wit/reporting/workitemrevisions?continuationToken=813%3B350%3B1",
            &filter,
            "7.1-preview.2",
        )
        .await
        .unwrap();
    assert_eq!(page.body["isLastBatch"], true);
    let query = json!({"query": "SELECT [System.Id] FROM WorkItems"});
    client
        .post_json("Web/_apis/wit/wiql", &query)
        .await
        .unwrap();

    let sent = &mock.seen("_apis/wit/reporting/workitemrevisions")[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.api_version.as_deref(), Some("7.1-preview.2"));
    assert_eq!(serde_json::from_str::<Value>(&sent.body).unwrap(), filter);
    let wiql = &mock.seen("Web/_apis/wit/wiql")[0];
    assert_eq!(
        (wiql.method.as_str(), wiql.api_version.as_deref()),
        ("POST", Some("7.1"))
    );
    assert_eq!(serde_json::from_str::<Value>(&wiql.body).unwrap(), query);
}
