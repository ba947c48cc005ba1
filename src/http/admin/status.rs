//! `GET /admin/status`: per organization and stream the reconciler's watermark, last run, lag and
//! errors, plus the outbox depth, the broker connection and the backfill queue.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::http::AppState;

pub async fn status(State(state): State<AppState>) -> Response {
    let outbox = match state.store.outbox_depth().await {
        Ok(depth) => json!({"depth": depth}),
        Err(e) => json!({"depth": null, "error": e.to_string()}),
    };
    let broker = json!({
        "connected": state.health.broker_connected(),
        "error": state.health.broker_error(),
    });
    let (queued, running) = state.admin.jobs.active_counts();
    Json(json!({
        "replica": state.store.replica_id(),
        "shared_store": state.store.is_shared(),
        "organizations": state.admin.reconcilers.statuses(),
        "outbox": outbox,
        "broker": broker,
        "backfills": {"queued": queued, "running": running},
    }))
    .into_response()
}
