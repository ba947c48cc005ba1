//! Helpers shared by the simulator's integration tests: fixture loading, a tiny hook receiver
//! answering scripted status codes, REST calls with the PAT, and the structural shape comparator.

#![allow(dead_code)]

pub mod fidelity;
pub mod rest_fidelity;
pub mod shape;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use serde_json::Value;

/// `../shared/fixtures/{sub}`; `None` (with a note) when absent outside CI, a failure in CI.
pub fn fixtures(sub: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures")).join(sub);
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() || std::env::var_os("ADO_INGEST_REQUIRE_FIXTURES").is_some()
    {
        panic!(
            "fixture directory {} is missing (required in CI)",
            dir.display()
        );
    }
    eprintln!(
        "note: skipping, fixture directory {} is missing",
        dir.display()
    );
    None
}

pub fn read_json(path: &std::path::Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub headers: HeaderMap,
    pub body: Value,
    /// The status the receiver answered.
    pub status: u16,
}

#[derive(Default)]
pub struct ReceiverState {
    /// Statuses to answer next, in order; afterwards `default_status`.
    pub script: VecDeque<u16>,
    pub default_status: u16,
    pub received: Vec<Received>,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    pub state: Arc<Mutex<ReceiverState>>,
}

impl Receiver {
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    pub fn script(&self, statuses: &[u16]) {
        self.state
            .lock()
            .unwrap()
            .script
            .extend(statuses.iter().copied());
    }

    pub fn set_default(&self, status: u16) {
        self.state.lock().unwrap().default_status = status;
    }
}

async fn record(
    State(state): State<Arc<Mutex<ReceiverState>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mut s = state.lock().unwrap();
    let status = s.script.pop_front().unwrap_or(s.default_status);
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    s.received.push(Received {
        at: Instant::now(),
        headers,
        body,
        status,
    });
    StatusCode::from_u16(status).unwrap()
}

/// A hook target on 127.0.0.1:0 answering 200 unless scripted otherwise.
pub async fn receiver() -> Receiver {
    let state = Arc::new(Mutex::new(ReceiverState {
        default_status: 200,
        ..Default::default()
    }));
    let app = Router::new().fallback(record).with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver { url, state }
}

/// `Authorization: Basic base64(":" + pat)`.
pub fn basic(pat: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(":{pat}"))
    )
}

/// A REST client bound to one collection base URL and PAT.
pub struct Rest {
    pub base: String,
    pub pat: String,
    pub http: reqwest::Client,
}

impl Rest {
    /// Pages `path` by `$top={top}&$skip=…` until a short page, and returns the `key` of every
    /// listed object, in order.
    pub async fn ids_paged(&self, path: &str, top: usize, key: &str) -> Vec<u64> {
        let join = if path.contains('?') { '&' } else { '?' };
        let mut all = Vec::new();
        for skip in (0..).step_by(top) {
            let (page, _) = self
                .get(&format!("{path}{join}$top={top}&$skip={skip}"))
                .await;
            let ids: Vec<u64> = page["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o[key].as_u64().unwrap())
                .collect();
            all.extend(&ids);
            if ids.len() < top {
                return all;
            }
        }
        all
    }

    pub fn new(base: &str, pat: &str) -> Self {
        Self {
            base: base.to_string(),
            pat: pat.to_string(),
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
        }
    }

    pub async fn get_raw(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .header("authorization", basic(&self.pat))
            .send()
            .await
            .unwrap()
    }

    /// GET, asserting 200; returns the body and the continuation token header.
    pub async fn get(&self, path: &str) -> (Value, Option<String>) {
        let resp = self.get_raw(path).await;
        let status = resp.status();
        let token = resp
            .headers()
            .get("x-ms-continuationtoken")
            .map(|v| v.to_str().unwrap().to_string());
        let text = resp.text().await.unwrap();
        assert_eq!(status, 200, "GET {path}: {text}");
        (serde_json::from_str(&text).unwrap(), token)
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, body: &Value) -> (u16, Value) {
        let resp = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("authorization", basic(&self.pat))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}
