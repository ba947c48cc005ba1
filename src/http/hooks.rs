//! `POST /hooks[/{org}]`: authenticate, bound and read the body, parse, normalize, store — and answer
//! only once the event is durable. Status codes follow Azure DevOps' retry rules
//! (docs/contract.md#delivery-rules).

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::json;

use super::AppState;
use super::error::ApiError;
use super::tenants::Verdict;
use crate::normalize::{self, EnvelopeError, NormalizeOptions, Origin};
use crate::store::{InsertOutcome, StoreError};

/// What a sender is told when its hook could not be made durable: what to do, not why (the
/// cause is logged). Azure DevOps retries a 503 honouring `Retry-After`.
pub const STORE_UNAVAILABLE_DETAIL: &str = "the event was not stored and is not accepted; retry after the Retry-After delay (the server log names the cause)";

pub async fn receive(State(state): State<AppState>, req: Request) -> Response {
    handle(state, None, req).await
}

pub async fn receive_for_org(
    State(state): State<AppState>,
    Path(org): Path<String>,
    req: Request,
) -> Response {
    handle(state, Some(org), req).await
}

fn count(event_type: &str, outcome: &'static str) {
    metrics::counter!("ado_ingest_hooks_total", "event_type" => event_type.to_owned(), "outcome" => outcome)
        .increment(1);
}

async fn handle(state: AppState, org: Option<String>, req: Request) -> Response {
    match process(&state, org, req).await {
        Ok(response) => response,
        Err((outcome, err)) => {
            count("unknown", outcome);
            err.into_response()
        }
    }
}

type Rejection = (&'static str, ApiError);

/// `application/json` (any parameters) or a `+json` media type.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Reads at most `limit` bytes; refuses early on a declared length over the limit, so an oversized
/// body is never buffered whole.
async fn read_bounded(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, Rejection> {
    let too_large = || {
        (
            "too_large",
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the body exceeds the limit of {limit} bytes"),
            ),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(too_large());
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Err(e) => Err((
            "bad_body",
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "unreadable_body",
                format!("the body could not be read: {e}"),
            ),
        )),
    }
}

/// Refuses a hook of a collection no configured organization has (see [`super::tenants`]).
async fn check_tenant(
    state: &AppState,
    envelope: &normalize::HookEnvelope,
) -> Result<(), Rejection> {
    let collection = envelope
        .containers
        .collection
        .as_ref()
        .and_then(|c| c.id.as_deref());
    match state.tenants.check(collection).await {
        Verdict::Known => Ok(()),
        Verdict::Unknown => {
            tracing::warn!(
                collection = collection.unwrap_or(""),
                event_type = %envelope.event_type,
                subscription_id = envelope.subscription_id.as_deref().unwrap_or(""),
                "hook refused: its collection is no configured organization's"
            );
            Err((
                "unknown_collection",
                ApiError::new(
                    StatusCode::FORBIDDEN,
                    "unknown_collection",
                    "the hook's resourceContainers.collection.id belongs to no organization this service is configured for",
                ),
            ))
        }
        Verdict::NotYetKnown => Err((
            "collection_not_yet_known",
            ApiError::unavailable(
                "collection_not_yet_known",
                "the collection ids of the configured organizations are not known yet (their REST API has not answered); retry later",
                30,
            ),
        )),
    }
}

async fn process(
    state: &AppState,
    org: Option<String>,
    req: Request,
) -> Result<Response, Rejection> {
    let (parts, body) = req.into_parts();
    if let Err(reason) = state.auth.check(&parts.headers) {
        tracing::info!(?reason, "hook rejected: not authenticated");
        return Err((
            "unauthorized",
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "valid Basic credentials are required",
            ),
        ));
    }
    if !is_json(&parts.headers) {
        return Err((
            "unsupported_media_type",
            ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "service hooks must be sent as application/json",
            ),
        ));
    }
    let bytes = read_bounded(&parts.headers, body, state.config.max_body_bytes).await?;
    let envelope = normalize::parse_envelope(&bytes).map_err(|e| {
        let code = match e {
            EnvelopeError::Malformed(_) => "malformed_json",
            EnvelopeError::NotAnEnvelope(_) => "not_a_service_hook",
        };
        (
            "bad_request",
            ApiError::new(StatusCode::BAD_REQUEST, code, e.to_string()),
        )
    })?;
    let event_type = envelope.event_type.clone();
    if envelope.is_test_notification() && !state.config.accept_test_notifications {
        count(&event_type, "test_notification");
        return Ok((
            StatusCode::OK,
            Json(json!({"test": true, "published": false, "detail": "test notification acknowledged, not published"})),
        )
            .into_response());
    }
    if state.tenants.enabled() {
        check_tenant(state, &envelope).await?;
    }
    let opts = NormalizeOptions {
        include_raw: state.config.publish.include_raw,
        origin: Origin::Hook,
        org_override: org,
    };
    let event = normalize::normalize_hook(&envelope, &opts);
    let id = event.id.clone();
    tracing::debug!(
        id = %id,
        ado_event_id = %envelope.event_id,
        subscription_id = envelope.subscription_id.as_deref().unwrap_or(""),
        notification_id = envelope.notification_id.unwrap_or_default(),
        "hook normalized"
    );
    match state.store.insert(vec![event]).await {
        Ok(outcomes) => match outcomes.first() {
            Some(InsertOutcome::Accepted) => {
                count(&event_type, "accepted");
                Ok((
                    StatusCode::ACCEPTED,
                    Json(json!({"id": id, "duplicate": false})),
                )
                    .into_response())
            }
            Some(InsertOutcome::Duplicate) => {
                count(&event_type, "duplicate");
                metrics::counter!("ado_ingest_duplicates_total", "origin" => "hook").increment(1);
                Ok((StatusCode::OK, Json(json!({"id": id, "duplicate": true}))).into_response())
            }
            None => Err((
                "store_error",
                ApiError::unavailable("store_unavailable", STORE_UNAVAILABLE_DETAIL, 5),
            )),
        },
        Err(StoreError::OutboxFull { depth }) => {
            metrics::counter!("ado_ingest_outbox_full_total").increment(1);
            Err((
                "outbox_full",
                ApiError::unavailable(
                    "outbox_full",
                    format!("{depth} events are waiting for the broker; retry later"),
                    30,
                ),
            ))
        }
        Err(e) => {
            // The cause (paths, SQL, connection details) goes to the log, not to the sender.
            tracing::error!(error = %e, "cannot store a hook; answered 503");
            Err((
                "store_error",
                ApiError::unavailable("store_unavailable", STORE_UNAVAILABLE_DETAIL, 5),
            ))
        }
    }
}
