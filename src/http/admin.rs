//! The admin API (`/admin/*`): manual backfills and the service status, behind a bearer token
//! (`admin_token`) compared in constant time. With no token configured every admin route answers
//! 403 `admin_disabled`.

mod backfills;
mod status;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::AppState;
use super::error::ApiError;
use crate::config::Secret;
use crate::jobs::JobRunner;
use crate::reconcile::Reconcilers;

/// What the admin routes need besides the rest of [`AppState`].
#[derive(Clone)]
pub struct AdminState {
    /// SHA-256 of the admin token (hashing both sides makes the comparison independent of its
    /// length); `None` when no token is configured and the admin API is off.
    token: Option<[u8; 32]>,
    pub jobs: JobRunner,
    pub reconcilers: Reconcilers,
}

fn digest(token: &[u8]) -> [u8; 32] {
    Sha256::digest(token).into()
}

impl AdminState {
    pub fn new(token: &Secret, jobs: JobRunner, reconcilers: Reconcilers) -> Self {
        let token = (!token.is_empty()).then(|| digest(token.expose().as_bytes()));
        Self {
            token,
            jobs,
            reconcilers,
        }
    }

    /// Whether the admin API is on (a token is configured).
    pub fn enabled(&self) -> bool {
        self.token.is_some()
    }

    /// Checks `Authorization: Bearer <admin_token>`.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let Some(expected) = &self.token else {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "admin_disabled",
                "the admin API is disabled: set admin_token (ADO_INGEST_ADMIN_TOKEN) to enable it",
            ));
        };
        let presented = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            });
        let Some(presented) = presented else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "send the admin token as `Authorization: Bearer <admin_token>`",
            ));
        };
        if bool::from(digest(presented.as_bytes()).ct_eq(expected)) {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "the bearer token is not the admin token",
            ))
        }
    }
}

/// The admin routes, each behind [`require_admin`].
pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/admin/backfills",
            get(backfills::list).post(backfills::create),
        )
        .route(
            "/admin/backfills/{id}",
            get(backfills::show).delete(backfills::cancel),
        )
        .route("/admin/status", get(status::status))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_admin))
}

async fn require_admin(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match state.admin.check(req.headers()) {
        Ok(()) => next.run(req).await,
        Err(e) => {
            if e.status == StatusCode::UNAUTHORIZED {
                metrics::counter!("ado_ingest_admin_auth_failures_total").increment(1);
            }
            let mut response = e.into_response();
            // ApiError announces Basic (the hook scheme); the admin API takes a bearer token.
            if response.headers().contains_key(WWW_AUTHENTICATE) {
                response.headers_mut().insert(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"ado-ingest-admin\""),
                );
            }
            response
        }
    }
}
