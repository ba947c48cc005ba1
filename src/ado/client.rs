//! `OrgClient`: REST calls to one Azure DevOps organization or collection with the negotiated
//! api-version, bounded concurrency, retries with jittered backoff on 429/5xx/timeouts, and the
//! organization-wide pauses `Retry-After` / `X-RateLimit-*` ask for.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;
use tokio::sync::{OnceCell, Semaphore};
use url::Url;

use super::attempt::Attempt;
use super::credential::{Credential, credential_for};
use super::error::AdoError;
use super::options::{ClientOptions, RestResponse};
use super::throttle::{ClientCounters, Throttle, ThrottlePolicy, backoff};
use super::version::{ApiVersion, Connection, Feature, negotiate};
use crate::config::OrganizationConfig;

/// The REST client of one organization; cheap to clone (shared state).
#[derive(Clone)]
pub struct OrgClient {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) name: String,
    pub(super) base: Url,
    /// Release Management's base URL (`vsrm.` on Services, `base` on a Server).
    pub(super) release_base: Url,
    pub(super) credential: Arc<dyn Credential>,
    pub(super) http: reqwest::Client,
    pub(super) options: ClientOptions,
    pub(super) permits: Semaphore,
    pub(super) throttle: Throttle,
    pub(super) connection: OnceCell<Connection>,
}

impl OrgClient {
    /// A client for a configured organization (credential built from its `pat` or `entra`).
    /// `options` normally come from [`ClientOptions::for_org`], which carries `max_concurrency`.
    pub fn new(org: &OrganizationConfig, options: ClientOptions) -> Result<Self, AdoError> {
        let http = http_client(&options, &org.name())?;
        let credential =
            credential_for(org, http.clone()).map_err(|e| AdoError::InvalidRequest {
                org: org.name(),
                message: e.message,
            })?;
        Self::build(org.name(), &org.url, credential, http, options)
    }

    /// A client with an explicit credential (tests, tools).
    pub fn with_credential(
        name: impl Into<String>,
        base_url: &str,
        credential: Arc<dyn Credential>,
        options: ClientOptions,
    ) -> Result<Self, AdoError> {
        let name = name.into();
        let http = http_client(&options, &name)?;
        Self::build(name, base_url, credential, http, options)
    }

    fn build(
        name: String,
        base_url: &str,
        credential: Arc<dyn Credential>,
        http: reqwest::Client,
        options: ClientOptions,
    ) -> Result<Self, AdoError> {
        let mut text = base_url.trim().to_string();
        if !text.ends_with('/') {
            text.push('/');
        }
        let base = Url::parse(&text)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| AdoError::InvalidRequest {
                org: name.clone(),
                message: format!("{base_url:?} is not an http(s) URL"),
            })?;
        let policy = ThrottlePolicy {
            max_wait: options.max_retry_after,
            slow_down_max: options.slow_down_max,
            low_remaining_fraction: options.low_remaining_fraction,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                throttle: Throttle::new(name.clone(), policy),
                permits: Semaphore::new(options.max_concurrency.max(1)),
                name,
                release_base: super::release_host::release_base(&base),
                base,
                credential,
                http,
                options,
                connection: OnceCell::new(),
            }),
        })
    }

    /// The organization's name (logs, metrics, watermarks).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The Release Management base URL, ending in `/`: requests under it carry the credential
    /// too (the organization's own `vsrm.` host).
    pub fn release_base_url(&self) -> &Url {
        &self.inner.release_base
    }

    /// The base URL, always ending in `/`.
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// Validates the credentials and negotiates the api-version once; later calls reuse the result.
    pub async fn connect(&self) -> Result<&Connection, AdoError> {
        self.inner
            .connection
            .get_or_try_init(|| negotiate(self, self.inner.options.api_version))
            .await
    }

    pub async fn api_version(&self) -> Result<ApiVersion, AdoError> {
        Ok(self.connect().await?.api_version)
    }

    /// The collection id if `connect` has succeeded already (no request).
    pub fn known_collection_id(&self) -> Option<&str> {
        self.inner
            .connection
            .get()
            .map(|c| c.collection_id.as_str())
    }

    /// The collection id (`instanceId`), the tenant id REST-derived events share with hooks.
    pub async fn collection_id(&self) -> Result<&str, AdoError> {
        Ok(&self.connect().await?.collection_id)
    }

    pub async fn supports(&self, feature: Feature) -> Result<bool, AdoError> {
        Ok(self.connect().await?.supports(feature))
    }

    /// GET a route relative to the base URL (`_apis/projects?$top=10`, `{project}/_apis/...`; the
    /// caller percent-encodes `?`/`#`/`%` inside names) or an absolute URL under it (a `nextLink`),
    /// with the negotiated api-version added unless the query already has one.
    pub async fn get(&self, path_and_query: &str) -> Result<RestResponse, AdoError> {
        let version = self.api_version().await?.to_string();
        self.send(Method::GET, path_and_query, None, Some(&version))
            .await
    }

    /// GET with an explicit api-version (preview routes: `7.1-preview.2`).
    pub async fn get_with_version(
        &self,
        path_and_query: &str,
        api_version: &str,
    ) -> Result<RestResponse, AdoError> {
        self.send(Method::GET, path_and_query, None, Some(api_version))
            .await
    }

    /// POST a JSON body (WIQL, batch and reporting routes) with the negotiated api-version.
    pub async fn post_json(
        &self,
        path_and_query: &str,
        body: &Value,
    ) -> Result<RestResponse, AdoError> {
        let version = self.api_version().await?.to_string();
        self.send(Method::POST, path_and_query, Some(body), Some(&version))
            .await
    }

    /// POST once, never retried: for requests that are not idempotent (creating a subscription).
    /// A failure is returned as it is; whether the server acted on it is for the caller to find
    /// out (list again) before trying once more.
    pub async fn post_json_once(
        &self,
        path_and_query: &str,
        body: &Value,
    ) -> Result<RestResponse, AdoError> {
        let version = self.api_version().await?.to_string();
        let url = self.url_for(path_and_query, Some(&version))?;
        let route = format!("POST {}", url.path());
        match self.attempt(&Method::POST, &url, Some(body), &route).await {
            Attempt::Done(result) => result,
            Attempt::Retry { reason, .. } => Err(AdoError::GaveUp {
                org: self.inner.name.clone(),
                route,
                attempts: 1,
                last: reason,
            }),
        }
    }

    /// DELETE a resource (retried: deleting twice is deleting once).
    pub async fn delete(&self, path_and_query: &str) -> Result<RestResponse, AdoError> {
        let version = self.api_version().await?.to_string();
        self.send(Method::DELETE, path_and_query, None, Some(&version))
            .await
    }

    /// POST with an explicit api-version.
    pub async fn post_json_with_version(
        &self,
        path_and_query: &str,
        body: &Value,
        api_version: &str,
    ) -> Result<RestResponse, AdoError> {
        self.send(Method::POST, path_and_query, Some(body), Some(api_version))
            .await
    }

    /// PUT a JSON body (replacing a resource, e.g. a service-hook subscription).
    pub async fn put_json(
        &self,
        path_and_query: &str,
        body: &Value,
    ) -> Result<RestResponse, AdoError> {
        let version = self.api_version().await?.to_string();
        self.send(Method::PUT, path_and_query, Some(body), Some(&version))
            .await
    }

    /// Calls, retries and throttling so far.
    pub fn counters(&self) -> ClientCounters {
        self.inner.throttle.counters()
    }

    /// GET without negotiating first (used by the negotiation itself).
    pub(crate) async fn send_get(
        &self,
        path: &str,
        version: Option<&str>,
    ) -> Result<RestResponse, AdoError> {
        self.send(Method::GET, path, None, version).await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        version: Option<&str>,
    ) -> Result<RestResponse, AdoError> {
        let url = self.url_for(path, version)?;
        let route = format!("{method} {}", url.path());
        let opts = &self.inner.options;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (reason, server_wait) = match self.attempt(&method, &url, body, &route).await {
                Attempt::Done(result) => return result,
                Attempt::Retry {
                    reason,
                    server_wait,
                } => (reason, server_wait),
            };
            if attempt >= opts.max_attempts.max(1) {
                return Err(AdoError::GaveUp {
                    org: self.inner.name.clone(),
                    route,
                    attempts: attempt,
                    last: reason,
                });
            }
            self.inner.throttle.count_retry();
            // A server-requested wait is already enforced org-wide by the throttle.
            let delay = if server_wait {
                Duration::ZERO
            } else {
                backoff(attempt - 1, opts.backoff_base, opts.backoff_max)
            };
            tracing::warn!(org = %self.inner.name, %route, attempt, %reason,
                delay_ms = delay.as_millis() as u64, "Azure DevOps request failed; retrying");
            tokio::time::sleep(delay).await;
        }
    }

    /// Resolves `path` against the base URL, refusing anything outside it (the credential must not
    /// travel to another host), and adds `api-version` unless the caller already did.
    fn url_for(&self, path: &str, version: Option<&str>) -> Result<Url, AdoError> {
        let base = &self.inner.base;
        let invalid = |message: String| AdoError::InvalidRequest {
            org: self.inner.name.clone(),
            message,
        };
        let joined = if path.starts_with("http://") || path.starts_with("https://") {
            Url::parse(path)
        } else {
            base.join(path.trim_start_matches('/'))
        }
        .map_err(|e| invalid(format!("cannot build a URL from {path:?}: {e}")))?;
        let under =
            |root: &Url| joined.origin() == root.origin() && joined.path().starts_with(root.path());
        if !under(base) && !under(&self.inner.release_base) {
            return Err(invalid(format!(
                "refusing to send the credential to {} (outside {base})",
                joined.origin().ascii_serialization()
            )));
        }
        let mut url = joined;
        if let Some(v) = version
            && !url.query_pairs().any(|(k, _)| k == "api-version")
        {
            url.query_pairs_mut().append_pair("api-version", v);
        }
        Ok(url)
    }
}

impl std::fmt::Debug for OrgClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrgClient")
            .field("name", &self.inner.name)
            .field("base", &self.inner.base.as_str())
            .field("credential", &self.inner.credential)
            .finish_non_exhaustive()
    }
}

fn http_client(options: &ClientOptions, org: &str) -> Result<reqwest::Client, AdoError> {
    reqwest::Client::builder()
        .user_agent(concat!("ado-ingest/", env!("CARGO_PKG_VERSION")))
        .timeout(options.request_timeout)
        .connect_timeout(options.connect_timeout)
        // A redirect usually means a sign-in page; never follow it with the credential.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| AdoError::InvalidRequest {
            org: org.to_string(),
            message: format!("cannot build the HTTP client: {e}"),
        })
}
