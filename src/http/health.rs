//! `/healthz` (alive), `/readyz` (store writable, broker connected) and `/metrics` (Prometheus).

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AppState;

pub async fn healthz() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

/// 200 when the store accepts writes and the publisher is connected; otherwise 503 naming what is down.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let store = match state.store.check_writable().await {
        Ok(()) => json!({"ok": true}),
        Err(e) => json!({"ok": false, "error": e.to_string()}),
    };
    let depth = state.store.outbox_depth().await.ok();
    let broker_ok = state.health.broker_connected();
    let broker = if broker_ok {
        json!({"ok": true})
    } else {
        json!({"ok": false, "error": state.health.broker_error().unwrap_or_else(|| "not connected yet".into())})
    };
    let ready = broker_ok && store["ok"] == true;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({"ready": ready, "store": store, "broker": broker, "outbox_depth": depth})),
    )
        .into_response()
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    if let Ok(depth) = state.store.outbox_depth().await {
        metrics::gauge!("ado_ingest_outbox_depth").set(depth as f64);
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}
