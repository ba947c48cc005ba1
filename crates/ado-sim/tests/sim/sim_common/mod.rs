//! Helpers of the simulator's integration tests on top of the test kit: JSON fixture reading, REST
//! calls with the PAT, and the structural shape comparator.

#![allow(dead_code)]

pub mod fidelity;
pub mod rest_fidelity;
pub mod shape;

use base64::Engine;
use serde_json::Value;

pub use ado_testkit::fixtures_dir as fixtures;
pub use ado_testkit::receiver::{Receiver, receiver};

pub fn read_json(path: &std::path::Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
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
