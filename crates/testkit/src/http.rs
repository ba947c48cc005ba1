//! Posting hooks the way Azure DevOps does (JSON, Basic credentials).

use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::Value;

/// The Basic credentials every test server accepts for hooks.
pub const USER: &str = "ado";
pub const PASSWORD: &str = "hook-secret";

pub fn basic_auth(user: &str, password: &str) -> String {
    let pair = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// POSTs `body` as JSON to `url`; returns the status and the body (JSON, or the text as a string).
pub async fn post_hook(url: &str, body: &[u8], creds: Option<(&str, &str)>) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json; charset=utf-8")
        .body(body.to_vec());
    if let Some((u, p)) = creds {
        req = req.header("authorization", basic_auth(u, p));
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

/// Waits until `{base}/readyz` answers 200, panicking after `within`.
pub async fn wait_ready(base: &str, within: Duration) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + within;
    loop {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await
            && r.status() == 200
        {
            return;
        }
        assert!(Instant::now() < deadline, "{base} never became ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// POSTs `body` as JSON with a bearer token; returns the response body as JSON.
pub async fn post_json(url: &str, bearer: &str, body: &Value) -> Value {
    let resp = reqwest::Client::new()
        .post(url)
        .bearer_auth(bearer)
        .json(body)
        .send()
        .await
        .expect("request");
    resp.json().await.expect("a JSON answer")
}

/// GETs `url` with a bearer token; returns the response body as JSON.
pub async fn get_json(url: &str, bearer: &str) -> Value {
    let resp = reqwest::Client::new()
        .get(url)
        .bearer_auth(bearer)
        .send()
        .await
        .expect("request");
    resp.json().await.expect("a JSON answer")
}
