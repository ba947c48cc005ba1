//! One HTTP exchange of `OrgClient`: permit, throttle wait, credential, send, and the classification
//! of the answer into a result, a retry, or an error that says what is wrong.

use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, LOCATION};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use url::Url;

use super::client::OrgClient;
use super::error::AdoError;
use super::options::RestResponse;

/// The outcome of one try.
pub(super) enum Attempt {
    Done(Result<RestResponse, AdoError>),
    /// Worth another try; `server_wait` says the server already named the wait (`Retry-After`).
    Retry {
        reason: String,
        server_wait: bool,
    },
}

impl OrgClient {
    pub(super) async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&Value>,
        route: &str,
    ) -> Attempt {
        let inner = &*self.inner;
        let Ok(_permit) = inner.permits.acquire().await else {
            return Attempt::Done(Err(self.invalid("the client is shut down")));
        };
        inner.throttle.wait_turn().await;
        let auth = match inner.credential.authorization().await {
            Ok(header) => header,
            Err(e) if e.transient => {
                return Attempt::Retry {
                    reason: format!("token request: {e}"),
                    server_wait: false,
                };
            }
            Err(e) => {
                return Attempt::Done(Err(AdoError::Token {
                    org: inner.name.clone(),
                    message: e.message,
                }));
            }
        };
        let mut request = inner
            .http
            .request(method.clone(), url.clone())
            .header(AUTHORIZATION, auth)
            .header(ACCEPT, "application/json");
        if let Some(body) = body {
            request = request.json(body);
        }
        inner.throttle.count_call();
        let started = std::time::Instant::now();
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                let label = if e.is_timeout() { "timeout" } else { "error" };
                self.count_request(label);
                return Attempt::Retry {
                    reason: describe(&e),
                    server_wait: false,
                };
            }
        };
        let status = response.status();
        let headers = response.headers().clone();
        let retry_after = inner.throttle.observe(&headers);
        let bytes = match response.bytes().await {
            Ok(b) => b,
            Err(e) => {
                self.count_request("error");
                return Attempt::Retry {
                    reason: format!("reading the response: {}", describe(&e)),
                    server_wait: false,
                };
            }
        };
        self.count_request(status.as_str());
        tracing::debug!(org = %inner.name, %route, status = status.as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64, "Azure DevOps REST call");
        self.classify(status, headers, &bytes, route, retry_after)
    }

    fn classify(
        &self,
        status: StatusCode,
        headers: HeaderMap,
        bytes: &[u8],
        route: &str,
        retry_after: Option<Duration>,
    ) -> Attempt {
        let org = self.inner.name.clone();
        let route = route.to_string();
        let code = status.as_u16();
        let unauthorized = |message: String| {
            self.inner.credential.invalidate();
            Attempt::Done(Err(AdoError::Unauthorized {
                org: org.clone(),
                route: route.clone(),
                status: code,
                message,
            }))
        };
        match code {
            // Azure DevOps answers a bad PAT with 203 and an HTML sign-in page.
            203 => unauthorized("the server answered with a sign-in page".into()),
            200..=299 => Attempt::Done(
                parse_body(bytes)
                    .map_err(|message| AdoError::InvalidBody {
                        org: org.clone(),
                        route: route.clone(),
                        message,
                    })
                    .map(|body| RestResponse {
                        status: code,
                        continuation_token: headers
                            .get("x-ms-continuationtoken")
                            .and_then(|v| v.to_str().ok())
                            .filter(|t| !t.is_empty())
                            .map(str::to_string),
                        body,
                        headers,
                    }),
            ),
            300..=399 => {
                let to = headers
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                let lower = to.to_ascii_lowercase();
                if lower.contains("signin") || lower.contains("login") {
                    unauthorized(format!("redirected to a sign-in page ({to})"))
                } else {
                    Attempt::Done(Err(AdoError::Rejected {
                        org,
                        route,
                        status: code,
                        message: format!("redirected to {to:?}; configure the final URL"),
                    }))
                }
            }
            401 | 403 => unauthorized(error_message(bytes)),
            404 => Attempt::Done(Err(AdoError::NotFound {
                org,
                route,
                message: error_message(bytes),
            })),
            408 | 429 | 500 | 502 | 503 | 504 => Attempt::Retry {
                reason: format!("HTTP {code}: {}", error_message(bytes)),
                server_wait: retry_after.is_some_and(|d| !d.is_zero()),
            },
            _ => Attempt::Done(Err(AdoError::Rejected {
                org,
                route,
                status: code,
                message: error_message(bytes),
            })),
        }
    }

    fn count_request(&self, status: &str) {
        metrics::counter!("ado_ingest_rest_requests_total",
            "org" => self.inner.name.clone(), "status" => status.to_string())
        .increment(1);
    }

    fn invalid(&self, message: &str) -> AdoError {
        AdoError::InvalidRequest {
            org: self.inner.name.clone(),
            message: message.to_string(),
        }
    }
}

fn parse_body(bytes: &[u8]) -> Result<Value, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(bytes).map_err(|e| format!("{e} (starts with {:?})", snippet(bytes, 80)))
}

/// Azure DevOps errors are `{"message": ..., "typeKey": ...}`; anything else is shown truncated.
fn error_message(bytes: &[u8]) -> String {
    serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| match snippet(bytes, 300) {
            s if s.is_empty() => "(empty body)".into(),
            s => s,
        })
}

fn snippet(bytes: &[u8], max_chars: usize) -> String {
    String::from_utf8_lossy(bytes)
        .trim()
        .chars()
        .take(max_chars)
        .collect()
}

/// A reqwest error with its causes (its own Display hides them).
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
