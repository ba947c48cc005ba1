//! Tunables of an organization's REST client and the shape of a successful response.

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::Value;

use super::version::ApiVersion;
use crate::config::OrganizationConfig;

/// Tunables of one organization's client; `Default` suits production, tests shorten the delays.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Requests in flight at once.
    pub max_concurrency: usize,
    /// Tries per request (the first included) before giving up on 429/5xx/timeouts.
    pub max_attempts: u32,
    /// First retry delay; doubles per attempt up to `backoff_max`, jittered.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Whole-request timeout (a timed-out request is retried).
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    /// Upper bound of a `Retry-After` wait.
    pub max_retry_after: Duration,
    /// Longest pause added for `X-RateLimit-Delay` / low `X-RateLimit-Remaining`.
    pub slow_down_max: Duration,
    /// Fraction of `X-RateLimit-Limit` below which requests are spaced out.
    pub low_remaining_fraction: f64,
    /// Use this api-version instead of probing (connectionData is still read).
    pub api_version: Option<ApiVersion>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            max_concurrency: 4,
            max_attempts: 8,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(60),
            request_timeout: Duration::from_secs(100),
            connect_timeout: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(600),
            slow_down_max: Duration::from_secs(30),
            low_remaining_fraction: 0.1,
            api_version: None,
        }
    }
}

impl ClientOptions {
    /// Defaults with the organization's configured concurrency.
    pub fn for_org(org: &OrganizationConfig) -> Self {
        Self {
            max_concurrency: org.max_concurrency.max(1),
            ..Self::default()
        }
    }
}

/// A successful (2xx) response.
#[derive(Debug, Clone)]
pub struct RestResponse {
    pub status: u16,
    /// The JSON body (`Null` when empty).
    pub body: Value,
    /// `x-ms-continuationtoken`: pass it back as `continuationToken=` for the next page.
    pub continuation_token: Option<String>,
    pub headers: HeaderMap,
}
