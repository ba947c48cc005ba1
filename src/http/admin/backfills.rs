//! `POST /admin/backfills`, `GET /admin/backfills[/{id}]`, `DELETE /admin/backfills/{id}`.

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::json;

use crate::http::AppState;
use crate::http::error::ApiError;
use crate::jobs::record::is_job_id;
use crate::jobs::{BackfillRequest, JobRecord, JobView, JobsError, RequestError};

/// How long `DELETE` waits for a running job to stop before answering `202`.
const CANCEL_WAIT: Duration = Duration::from_secs(5);

/// Validates the request, persists a queued job and answers `202` with it (and its `Location`).
pub async fn create(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let request: BackfillRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_request",
            format!(
                "the body must be a JSON object {{organization, projects?, streams?, since, until?}}: {e}"
            ),
        )
    })?;
    // Configured and discovered organizations alike.
    let mut organizations = state.config.organizations.clone();
    for org in state.admin.reconcilers.organizations() {
        if !organizations
            .iter()
            .any(|o| o.name().eq_ignore_ascii_case(&org.name()))
        {
            organizations.push(org);
        }
    }
    let spec = request
        .resolve(&organizations, Utc::now())
        .map_err(request_error)?;
    let record = state.admin.jobs.submit(spec).await.map_err(jobs_error)?;
    let location = format!("/admin/backfills/{}", record.id);
    Ok((
        StatusCode::ACCEPTED,
        [(LOCATION, location)],
        Json(JobView::from(record)),
    )
        .into_response())
}

/// Every job, oldest first.
pub async fn list(State(state): State<AppState>) -> Result<Response, ApiError> {
    let jobs: Vec<JobView> = state
        .admin
        .jobs
        .list()
        .await
        .map_err(jobs_error)?
        .into_iter()
        .map(JobView::from)
        .collect();
    Ok(Json(json!({ "jobs": jobs })).into_response())
}

/// One job: state and per-stream progress.
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let job = find(&state, &id).await?;
    Ok(Json(JobView::from(job)).into_response())
}

/// Cancels a job: `200` with its final state once it stopped (at once when it was queued or had
/// already finished, which it keeps), `202` when it is still stopping after a few seconds.
pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    find(&state, &id).await?;
    let jobs = &state.admin.jobs;
    let mut job = jobs
        .cancel(&id)
        .await
        .map_err(jobs_error)?
        .ok_or_else(|| not_found(&id))?;
    let deadline = tokio::time::Instant::now() + CANCEL_WAIT;
    while !job.state.is_final() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        job = jobs
            .get(&id)
            .await
            .map_err(jobs_error)?
            .ok_or_else(|| not_found(&id))?;
    }
    let status = if job.state.is_final() {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, Json(JobView::from(job))).into_response())
}

async fn find(state: &AppState, id: &str) -> Result<JobRecord, ApiError> {
    if !is_job_id(id) {
        return Err(not_found(id));
    }
    state
        .admin
        .jobs
        .get(id)
        .await
        .map_err(jobs_error)?
        .ok_or_else(|| not_found(id))
}

fn not_found(id: &str) -> ApiError {
    let shown: String = id.chars().take(64).collect();
    ApiError::new(
        StatusCode::NOT_FOUND,
        "job_not_found",
        format!("no backfill job {shown:?}"),
    )
}

fn request_error(e: RequestError) -> ApiError {
    let (status, code) = match &e {
        RequestError::UnknownOrganization { .. } => {
            (StatusCode::UNPROCESSABLE_ENTITY, "unknown_organization")
        }
        RequestError::UnknownStream(_) => (StatusCode::BAD_REQUEST, "unknown_stream"),
        RequestError::BadTimestamp { .. } => (StatusCode::BAD_REQUEST, "invalid_timestamp"),
        RequestError::EmptyWindow { .. } | RequestError::FutureSince(_) => {
            (StatusCode::BAD_REQUEST, "empty_window")
        }
        RequestError::EmptyProject => (StatusCode::BAD_REQUEST, "invalid_project"),
    };
    ApiError::new(status, code, e.to_string())
}

fn jobs_error(e: JobsError) -> ApiError {
    match e {
        JobsError::ShuttingDown => ApiError::unavailable("shutting_down", e.to_string(), 5),
        JobsError::Store(e) => {
            tracing::error!(error = %e, "cannot use the job store; answered 503");
            ApiError::unavailable(
                "store_unavailable",
                "the job could not be read or saved; retry later (the server log names the cause)",
                5,
            )
        }
    }
}
