//! Credentials: PAT Basic header, Entra ID token caching and refresh, rejected credentials.

use super::*;

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
