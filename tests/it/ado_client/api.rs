//! api-version negotiation on a Server collection, paging by continuation token, POST bodies and
//! error mapping (404, 400, URLs outside the organization).

use super::*;

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
