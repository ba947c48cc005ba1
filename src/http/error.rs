//! One error type for the HTTP API: a status, a JSON `{error, detail}` body, and nothing internal leaked.

use std::any::Any;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// Machine-readable code, e.g. `malformed_json`.
    pub code: &'static str,
    /// Human explanation (never secrets or internals).
    pub detail: String,
    /// Seconds for `Retry-After` (503s).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            retry_after: None,
        }
    }

    pub fn unavailable(code: &'static str, detail: impl Into<String>, retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, code, detail)
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::warn!(status = %self.status, code = self.code, detail = %self.detail, "request failed");
        }
        let mut response = (
            self.status,
            Json(json!({"error": self.code, "detail": self.detail})),
        )
            .into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"ado-ingest\", charset=\"UTF-8\""),
            );
        }
        response
    }
}

/// Turns a caught panic into a retryable 503 (never a 500).
pub fn panic_response(_payload: Box<dyn Any + Send + 'static>) -> Response {
    metrics::counter!("ado_ingest_handler_panics_total").increment(1);
    tracing::error!("request handler panicked; answered 503 so the sender retries");
    ApiError::unavailable(
        "internal_error",
        "the request could not be processed; retry later",
        5,
    )
    .into_response()
}
