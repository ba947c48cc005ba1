//! Hostile and malformed requests get their status, publish nothing, and the server keeps serving.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::*;

fn envelope(event_type: &str, event_id: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "subscriptionId": "7c7e5e1b-1f7e-4a8e-9b5e-0a1b2c3d4e5f",
        "notificationId": 3,
        "id": event_id,
        "eventType": event_type,
        "publisherId": "tfs",
        "message": null,
        "detailedMessage": null,
        "resource": {"url": "https://dev.azure.com/contoso/_apis/things/1", "answer": 42},
        "resourceVersion": "1.0",
        "resourceContainers": {
            "collection": {"id": "c0ffee00-0000-4000-8000-000000000001", "baseUrl": "https://dev.azure.com/contoso/"},
            "account": {"id": "c0ffee00-0000-4000-8000-000000000002", "baseUrl": "https://dev.azure.com/contoso/"}
        },
        "createdDate": "2026-11-26T08:00:00.1234567Z"
    }))
    .unwrap()
}

async fn raw_request(base: &str, head: &str, body: &[u8]) -> (u16, String) {
    let addr = base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    let _ = s.write_all(body).await;
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_its_status_and_publishes_nothing() {
    let server =
        TestServer::start(ServerOptions::default().with("ADO_INGEST_MAX_BODY_BYTES", "65536"))
            .await;
    server.wait_ready().await;
    let mut tap = Tap::bind(&server.exchange).await;
    let url = format!("{}/hooks", server.base);
    let good = envelope("git.repo.renamed", "11111111-2222-4333-8444-555555555555");
    let client = reqwest::Client::new();

    // Credentials: none, wrong user, wrong password, not Basic.
    let (status, body) = post_hook(&url, &good, None).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "unauthorized");
    let r = client
        .post(&url)
        .header("content-type", "application/json")
        .body(good.clone())
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("www-authenticate").is_some());
    assert_eq!(post_hook(&url, &good, Some((USER, "wrong"))).await.0, 401);
    assert_eq!(
        post_hook(&url, &good, Some(("other", PASSWORD))).await.0,
        401
    );
    let r = client
        .post(&url)
        .header("content-type", "application/json")
        .header("authorization", "Bearer hook-secret")
        .body(good.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // Wrong content type.
    let r = client
        .post(&url)
        .header("content-type", "text/plain")
        .header("authorization", basic_auth(USER, PASSWORD))
        .body(good.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "unsupported_media_type");

    // Malformed JSON, JSON that is not an envelope, invalid UTF-8, deep nesting.
    let (status, body) = server.post(b"{\"eventType\": \"git.push\", ").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("malformed_json"))
    );
    for not_envelope in [
        &b"[1,2,3]"[..],
        b"{\"hello\": \"world\"}",
        b"\"git.push\"",
        b"{\"eventType\": 5, \"id\": \"x\", \"publisherId\": \"tfs\", \"resource\": {}}",
    ] {
        let (status, body) = server.post(not_envelope).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("not_a_service_hook")),
            "{body}"
        );
    }
    let mut invalid_utf8 = b"{\"eventType\": \"git.push\", \"id\": \"".to_vec();
    invalid_utf8.extend_from_slice(&[0xff, 0xfe, 0xc3]);
    invalid_utf8.extend_from_slice(b"\", \"publisherId\": \"tfs\", \"resource\": {}}");
    let (status, body) = server.post(&invalid_utf8).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("malformed_json")),
        "{body}"
    );
    let deep = format!(
        "{{\"eventType\": \"git.push\", \"id\": \"x\", \"publisherId\": \"tfs\", \"resource\": {}{}}}",
        "[".repeat(20_000),
        "]".repeat(20_000)
    );
    let (status, body) = server.post(deep.as_bytes()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("malformed_json")),
        "{body}"
    );

    // Over the limit with a declared length: refused at once, without waiting for the body.
    let head = format!(
        "POST /hooks HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nauthorization: {}\r\ncontent-length: 1073741824\r\n\r\n",
        basic_auth(USER, PASSWORD)
    );
    let started = Instant::now();
    let (status, text) = raw_request(&server.base, &head, b"{\"eventType\":").await;
    assert_eq!(status, 413, "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "413 must not wait for a 1 GiB body"
    );
    // Over the limit without a declared length (chunked): cut off at the limit.
    let mut chunked = Vec::new();
    for _ in 0..20 {
        chunked.extend_from_slice(b"2710\r\n");
        chunked.extend_from_slice(&[b' '; 10_000]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let head = format!(
        "POST /hooks HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nauthorization: {}\r\ntransfer-encoding: chunked\r\n\r\n",
        basic_auth(USER, PASSWORD)
    );
    let (status, text) = raw_request(&server.base, &head, &chunked).await;
    assert_eq!(status, 413, "{text}");

    // An unknown event type is accepted as ado.passthrough — the only thing published here.
    let (status, body) = server.post(&good).await;
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_str().unwrap().to_string();

    // Still serving.
    let r = client
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let got = tap
        .collect(1, Duration::from_millis(1500), Duration::from_secs(15))
        .await;
    assert_eq!(
        got.len(),
        1,
        "only the passthrough event is published: {got:?}"
    );
    assert_eq!(got[0].message_id.as_deref(), Some(id.as_str()));
    assert_eq!(got[0].kind.as_deref(), Some("ado.passthrough"));
    assert_eq!(got[0].routing_key, "contoso._.ado.passthrough");
    assert_eq!(got[0].body["data"]["eventType"], "git.repo.renamed");

    server.stop().await;
}
