//! The admin API client used by `ado-ingest backfill --server URL`.

use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::JobSource;
use crate::jobs::{BackfillRequest, JobView};

/// A running server's admin API.
#[derive(Clone)]
pub struct Remote {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Remote {
    pub fn new(server: &str, token: &str) -> anyhow::Result<Self> {
        let url = url::Url::parse(server.trim())
            .with_context(|| format!("--server {server:?} is not a URL"))?;
        anyhow::ensure!(
            matches!(url.scheme(), "http" | "https") && url.host_str().is_some(),
            "--server must be an http:// or https:// URL, got {server:?}"
        );
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Self {
            client,
            base: url.as_str().trim_end_matches('/').to_string(),
            token: token.to_string(),
        })
    }

    /// `POST /admin/backfills`.
    pub async fn create(&self, request: &BackfillRequest) -> anyhow::Result<JobView> {
        let body = serde_json::to_value(request)?;
        self.call(
            Method::POST,
            "/admin/backfills",
            Some(body),
            &[StatusCode::ACCEPTED],
        )
        .await
    }

    /// `GET /admin/backfills/{id}`.
    pub async fn get(&self, id: &str) -> anyhow::Result<JobView> {
        self.call(
            Method::GET,
            &format!("/admin/backfills/{id}"),
            None,
            &[StatusCode::OK],
        )
        .await
    }

    /// `DELETE /admin/backfills/{id}`.
    pub async fn cancel(&self, id: &str) -> anyhow::Result<JobView> {
        let ok = [StatusCode::OK, StatusCode::ACCEPTED];
        self.call(Method::DELETE, &format!("/admin/backfills/{id}"), None, &ok)
            .await
    }

    /// One job of this server, as a [`JobSource`].
    pub fn job(&self, id: String) -> RemoteJob {
        RemoteJob {
            remote: self.clone(),
            id,
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        ok: &[StatusCode],
    ) -> anyhow::Result<JobView> {
        let url = format!("{}{path}", self.base);
        let mut request = self
            .client
            .request(method.clone(), &url)
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {url} failed"))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .with_context(|| format!("{method} {url}: reading the answer"))?;
        if !ok.contains(&status) {
            let (code, detail) = match serde_json::from_slice::<Value>(&bytes) {
                Ok(v) => (
                    v["error"].as_str().unwrap_or("error").to_string(),
                    v["detail"].as_str().unwrap_or("").to_string(),
                ),
                Err(_) => (
                    "error".into(),
                    String::from_utf8_lossy(&bytes).chars().take(300).collect(),
                ),
            };
            anyhow::bail!("{method} {url}: {status} {code}: {detail}");
        }
        serde_json::from_slice(&bytes)
            .with_context(|| format!("{method} {url}: not a backfill job"))
    }
}

pub struct RemoteJob {
    remote: Remote,
    id: String,
}

#[async_trait]
impl JobSource for RemoteJob {
    async fn fetch(&self) -> anyhow::Result<JobView> {
        self.remote.get(&self.id).await
    }
    async fn cancel(&self) -> anyhow::Result<JobView> {
        self.remote.cancel(&self.id).await
    }
}
