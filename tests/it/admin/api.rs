//! The admin HTTP API through `router(state)`: bearer-token auth, validation, create → progress →
//! succeeded, cancel, status, and a real HTTP server restarted mid-job on the same store.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::support::admin::*;

const WAIT: Duration = Duration::from_secs(20);

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Value,
}

async fn call(
    router: &axum::Router,
    method: Method,
    path: &str,
    auth: Option<&str>,
    body: Option<&str>,
) -> Reply {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(auth) = auth {
        req = req.header(header::AUTHORIZATION, auth);
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let response = router.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
    }
}

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

/// `POST /admin/backfills` with the token and `BODY`.
async fn post_backfill(router: &axum::Router) -> Reply {
    call(
        router,
        Method::POST,
        "/admin/backfills",
        Some(&bearer()),
        Some(BODY),
    )
    .await
}

async fn get_job(router: &axum::Router, id: &str) -> Value {
    let r = call(
        router,
        Method::GET,
        &format!("/admin/backfills/{id}"),
        Some(&bearer()),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body
}

async fn wait_state(router: &axum::Router, id: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let job = get_job(router, id).await;
        if check(&job) {
            return job;
        }
        assert!(Instant::now() < deadline, "timed out; job is {job:#}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

const BODY: &str = r#"{"organization":"https://dev.azure.com/Fabrikam/","streams":["git","builds"],"since":"2025-01-01T00:00:00Z"}"#;

#[tokio::test]
async fn admin_routes_need_the_bearer_token_and_are_off_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let engine = ListEngine::gated(1, 1);

    let off = admin(store.clone(), "", engine.clone()).await;
    for (method, path) in [
        (Method::GET, "/admin/status"),
        (Method::POST, "/admin/backfills"),
        (Method::GET, "/admin/backfills/00000000000000000000"),
        (Method::DELETE, "/admin/backfills/00000000000000000000"),
    ] {
        for auth in [None, Some("Bearer ".to_string()), Some(bearer())] {
            let r = call(
                &off.router,
                method.clone(),
                path,
                auth.as_deref(),
                Some(BODY),
            )
            .await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{method} {path}");
            assert_eq!(r.body["error"], "admin_disabled");
            assert!(
                r.body["detail"]
                    .as_str()
                    .unwrap()
                    .contains("ADO_INGEST_ADMIN_TOKEN")
            );
        }
    }
    off.shutdown().await;

    let on = admin(store, TOKEN, engine).await;
    let basic = "Basic YWRtaW46YWRtaW4tdGVzdC10b2tlbg==";
    let wrong = [
        None,
        Some("Bearer wrong-token".to_string()),
        Some(format!("Bearer {TOKEN}x")),
        Some(format!("Bearer {}", &TOKEN[..TOKEN.len() - 1])),
        Some(format!("Token {TOKEN}")),
        Some(basic.to_string()),
        Some(TOKEN.to_string()),
    ];
    for auth in &wrong {
        let r = call(
            &on.router,
            Method::GET,
            "/admin/status",
            auth.as_deref(),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_eq!(r.body["error"], "unauthorized");
        assert_eq!(
            r.headers[header::WWW_AUTHENTICATE],
            "Bearer realm=\"ado-ingest-admin\""
        );
        let r = call(
            &on.router,
            Method::POST,
            "/admin/backfills",
            auth.as_deref(),
            Some(BODY),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    // Nothing was created by the refused requests.
    assert!(on.runner.list().await.unwrap().is_empty());
    for auth in [bearer(), format!("bearer  {TOKEN} ")] {
        let r = call(&on.router, Method::GET, "/admin/status", Some(&auth), None).await;
        assert_eq!(r.status, StatusCode::OK, "{auth:?}: {:?}", r.body);
    }
    on.shutdown().await;
}

#[tokio::test]
async fn invalid_requests_are_refused_with_what_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let on = admin(open_store(dir.path()).await, TOKEN, ListEngine::gated(1, 1)).await;
    let cases: [(&str, StatusCode, &str, &str); 9] = [
        (
            "{",
            StatusCode::BAD_REQUEST,
            "malformed_request",
            "JSON object",
        ),
        (
            r#"{"since":"2025-01-01T00:00:00Z"}"#,
            StatusCode::BAD_REQUEST,
            "malformed_request",
            "organization",
        ),
        (
            r#"{"organization":"fabrikam","since":"2025-01-01T00:00:00Z","stream":["git"]}"#,
            StatusCode::BAD_REQUEST,
            "malformed_request",
            "unknown field `stream`",
        ),
        (
            r#"{"organization":"contoso","since":"2025-01-01T00:00:00Z"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_organization",
            "configured: fabrikam, onprem",
        ),
        (
            r#"{"organization":"fabrikam","since":"last week"}"#,
            StatusCode::BAD_REQUEST,
            "invalid_timestamp",
            "RFC 3339",
        ),
        (
            r#"{"organization":"fabrikam","since":"2025-01-02T00:00:00Z","until":"2025-01-01T00:00:00Z"}"#,
            StatusCode::BAD_REQUEST,
            "empty_window",
            "must be after",
        ),
        (
            r#"{"organization":"fabrikam","since":"2025-01-01T00:00:00Z","until":"tomorrow"}"#,
            StatusCode::BAD_REQUEST,
            "invalid_timestamp",
            "`until`",
        ),
        (
            r#"{"organization":"fabrikam","since":"2025-01-01T00:00:00Z","streams":["git","wiki"]}"#,
            StatusCode::BAD_REQUEST,
            "unknown_stream",
            "\"wiki\"",
        ),
        (
            r#"{"organization":"fabrikam","since":"2999-01-01T00:00:00Z"}"#,
            StatusCode::BAD_REQUEST,
            "empty_window",
            "in the future",
        ),
    ];
    for (body, status, code, detail) in cases {
        let r = call(
            &on.router,
            Method::POST,
            "/admin/backfills",
            Some(&bearer()),
            Some(body),
        )
        .await;
        assert_eq!(r.status, status, "{body}: {:?}", r.body);
        assert_eq!(r.body["error"], code, "{body}");
        let text = r.body["detail"].as_str().unwrap();
        assert!(text.contains(detail), "{body}: {text}");
    }
    for path in [
        "/admin/backfills/00000000000000000000",
        "/admin/backfills/..%2Fstate",
        "/admin/backfills/x",
    ] {
        for method in [Method::GET, Method::DELETE] {
            let r = call(&on.router, method, path, Some(&bearer()), None).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
            assert_eq!(r.body["error"], "job_not_found");
        }
    }
    assert!(on.runner.list().await.unwrap().is_empty());
    on.shutdown().await;
}

#[tokio::test]
async fn a_backfill_is_created_shows_its_progress_and_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let engine = ListEngine::gated(5, 2);
    let on = admin(open_store(dir.path()).await, TOKEN, engine.clone()).await;

    let r = post_backfill(&on.router).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        r.headers[header::LOCATION],
        format!("/admin/backfills/{id}")
    );
    assert_eq!(r.body["spec"]["organization"], "fabrikam");
    assert_eq!(r.body["spec"]["streams"], json!(["git", "builds"]));

    engine.release(1);
    let job = wait_state(&on.router, &id, |j| j["totals"]["pages"] == 1).await;
    assert_eq!(job["state"], "running");
    assert_eq!(job["progress"]["git"]["pages"], 1);
    assert_eq!(job["progress"]["git"]["objects_seen"], 2);
    assert_eq!(job["progress"]["git"]["cursor"], "2");
    assert_eq!(job["progress"]["builds"]["pages"], 0);

    let status = call(
        &on.router,
        Method::GET,
        "/admin/status",
        Some(&bearer()),
        None,
    )
    .await;
    assert_eq!(status.body["backfills"], json!({"queued": 0, "running": 1}));
    assert_eq!(status.body["outbox"]["depth"], 0);
    assert_eq!(status.body["broker"]["connected"], false);
    assert_eq!(status.body["organizations"], json!([]));

    engine.release(100);
    let job = wait_state(&on.router, &id, |j| j["state"] != "running").await;
    assert_eq!(job["state"], "succeeded", "{job:#}");
    for stream in ["git", "builds"] {
        let p = &job["progress"][stream];
        assert_eq!(p["pages"], 3);
        assert_eq!(p["objects_seen"], 5);
        assert_eq!(p["events_published"], 3);
        assert_eq!(p["duplicates_skipped"], 2);
        assert_eq!(p["errors"], 0);
        assert_eq!(p["done"], true);
    }
    assert_eq!(job["totals"]["pages"], 6);
    assert!(job["finished_at"].is_string());
    let list = call(
        &on.router,
        Method::GET,
        "/admin/backfills",
        Some(&bearer()),
        None,
    )
    .await;
    assert_eq!(list.body["jobs"].as_array().unwrap().len(), 1);
    assert_eq!(list.body["jobs"][0]["state"], "succeeded");
    on.shutdown().await;
}

#[tokio::test]
async fn delete_cancels_a_running_job_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let engine = ListEngine::gated(5, 1);
    let on = admin(open_store(dir.path()).await, TOKEN, engine.clone()).await;
    let r = post_backfill(&on.router).await;
    let id = r.body["id"].as_str().unwrap().to_string();
    engine.release(2);
    wait_state(&on.router, &id, |j| j["totals"]["pages"] == 2).await;

    let path = format!("/admin/backfills/{id}");
    let r = call(&on.router, Method::DELETE, &path, Some(&bearer()), None).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "cancelled");
    assert_eq!(r.body["totals"]["pages"], 2);
    assert_eq!(r.body["progress"]["git"]["done"], false);
    let again = call(&on.router, Method::DELETE, &path, Some(&bearer()), None).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body, r.body);
    // It does not go on when pages become available.
    engine.release(100);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(get_job(&on.router, &id).await, r.body);
    assert_eq!(engine.walked().len(), 2);

    // A finished job answers its final state.
    let r = post_backfill(&on.router).await;
    let done_id = r.body["id"].as_str().unwrap().to_string();
    let done = wait_state(&on.router, &done_id, |j| j["state"] == "succeeded").await;
    let r = call(
        &on.router,
        Method::DELETE,
        &format!("/admin/backfills/{done_id}"),
        Some(&bearer()),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, done);
    on.shutdown().await;
}

/// A real server (axum on 127.0.0.1:0) over the runner, stopped mid-job and started again on the
/// same store file: the job resumes from its cursor and walks only what was left.
#[tokio::test]
async fn a_job_survives_a_server_restart_and_resumes_from_its_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();

    let serve = |router: axum::Router| async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let stop = tokio_util::sync::CancellationToken::new();
        let s = stop.clone();
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(s.cancelled_owned())
                .await
        });
        (base, stop, task)
    };

    let first = ListEngine::gated(6, 1);
    let on = admin(open_store(dir.path()).await, TOKEN, first.clone()).await;
    let (base, http_stop, task) = serve(on.router.clone()).await;
    let created: Value = client
        .post(format!("{base}/admin/backfills"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(r#"{"organization":"onprem","streams":["tfvc"],"since":"2025-01-01T00:00:00Z","until":"2025-02-01T00:00:00Z"}"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    first.release(4);
    wait_state(&on.router, &id, |j| j["totals"]["pages"] == 4).await;
    http_stop.cancel();
    task.await.unwrap().unwrap();
    on.shutdown().await;
    assert_eq!(first.walked().len(), 4);

    let second = ListEngine::free(6, 1, Duration::from_millis(1));
    let on = admin(open_store(dir.path()).await, TOKEN, second.clone()).await;
    let (base, http_stop, task) = serve(on.router.clone()).await;
    let deadline = Instant::now() + WAIT;
    let job = loop {
        let job: Value = client
            .get(format!("{base}/admin/backfills/{id}"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if job["state"] == "succeeded" {
            break job;
        }
        assert!(Instant::now() < deadline, "{job:#}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        second.walked(),
        vec![("tfvc".to_string(), 4), ("tfvc".to_string(), 5)]
    );
    assert_eq!(job["progress"]["tfvc"]["pages"], 6);
    assert_eq!(job["progress"]["tfvc"]["cursor"], "6");
    assert_eq!(job["runs"], 2);
    http_stop.cancel();
    task.await.unwrap().unwrap();
    on.shutdown().await;
}
