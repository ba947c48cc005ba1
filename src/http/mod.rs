//! The HTTP surface: `router(state)` wires the hook receiver, health, readiness, metrics and admin
//! routes.

pub mod admin;
pub mod auth;
pub mod error;
pub mod health;
pub mod hooks;
pub mod tenants;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use metrics_exporter_prometheus::PrometheusHandle;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::{DefaultOnFailure, TraceLayer};

use crate::config::Config;
use crate::health::Health;
use crate::store::Store;

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub health: Arc<Health>,
    pub metrics: PrometheusHandle,
    pub auth: auth::HookAuthenticator,
    pub admin: admin::AdminState,
    pub tenants: tenants::KnownCollections,
}

/// The application's routes; pure, so tests can drive it with `oneshot`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/hooks", post(hooks::receive))
        .route("/hooks/{org}", post(hooks::receive_for_org))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .merge(admin::routes(&state))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            record_latency,
        ))
        // One span per request with the matched route and a request id (the caller's
        // `x-request-id`, else a fresh one), echoed in the response for correlation.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                // A 503 is an answer (readiness, a full outbox), not a server fault: no ERROR lines.
                .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(RandomRequestId))
        // A bug must never become a 500: Azure DevOps would put the subscription on probation and
        // drop new events. 503 makes it retry instead.
        .layer(CatchPanicLayer::custom(error::panic_response))
        .with_state(state)
}

/// A random 16-hex-digit id for requests that bring no `x-request-id`.
#[derive(Clone, Copy)]
struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let id = format!("{:016x}", rand::random::<u64>());
        axum::http::HeaderValue::from_str(&id)
            .ok()
            .map(RequestId::new)
    }
}

fn request_span<B>(req: &axum::http::Request<B>) -> tracing::Span {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str())
        .unwrap_or("unmatched");
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info_span!("http", method = %req.method(), route, request_id)
}

/// Request latency histogram per matched route and status.
async fn record_latency(State(_): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let started = Instant::now();
    let response = next.run(req).await;
    let elapsed: Duration = started.elapsed();
    metrics::histogram!(
        "ado_ingest_http_request_duration_seconds",
        "route" => route,
        "status" => response.status().as_u16().to_string()
    )
    .record(elapsed.as_secs_f64());
    response
}
