//! Classic release deployments, per project, from Release Management's deployment list
//! (`release/deployments?minStartedTime=…&queryOrder=ascending&latestAttemptsOnly=false`, an
//! integer continuation token in the `x-ms-continuationtoken` header) on the organization's
//! `vsrm.` host (Services) or the collection URL (Server). Each deployment attempt yields
//! `release.deployment.started` and, once it has completed, `release.deployment.completed`, in the
//! shape of the `ms.vss-release.deployment-*-event` resources (the environment with the attempt as
//! its deploy step), so ids equal the hooks'.
//!
//! The watermark per project is the newest start time walked; a deployment still running holds
//! it back (its start is remembered), so its completion is read on a later pass.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::super::ReconcileError;
use super::super::ctx::{Ctx, Project, refused_status, seg, values};
use super::super::walk::{Mode, Walk};
use super::{query_time, time_of};
use crate::normalize::NormalizedEvent;
use crate::normalize::extract::str_at;

const STARTED_EVENT: &str = "ms.vss-release.deployment-started-event";
const COMPLETED_EVENT: &str = "ms.vss-release.deployment-completed-event";
const VERSION: &str = "3.0-preview.1";
/// The largest page Release Management serves.
const MAX_TOP: u32 = 100;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Cursor {
    #[serde(default)]
    projects: BTreeMap<String, ProjectPos>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct ProjectPos {
    /// Newest start time walked.
    #[serde(default)]
    started: Option<DateTime<Utc>>,
    /// Start of the oldest deployment seen still running: the next pass reads from there.
    #[serde(default)]
    running_since: Option<DateTime<Utc>>,
    /// Backfill only: this project's window is done.
    #[serde(default)]
    done: bool,
}

pub(crate) async fn walk(w: &mut Walk<'_>) -> Result<(), ReconcileError> {
    let mut cursor: Cursor = w.load_cursor().await?;
    let projects = w.ctx.projects.clone();
    for project in &projects {
        let mut pos = cursor
            .projects
            .get(&project.id)
            .cloned()
            .unwrap_or_default();
        if pos.done {
            continue;
        }
        deployments(w, &mut cursor, &mut pos, project).await?;
    }
    Ok(())
}

async fn deployments(
    w: &mut Walk<'_>,
    cursor: &mut Cursor,
    pos: &mut ProjectPos,
    project: &Project,
) -> Result<(), ReconcileError> {
    let overlap = chrono::Duration::from_std(w.ctx.config.overlap).unwrap_or_default();
    let (min, max) = match w.mode {
        Mode::Periodic => {
            let from = match (pos.started, pos.running_since) {
                (Some(s), Some(r)) => Some(s.min(r)),
                (s, r) => s.or(r),
            };
            (from.map(|f| f - overlap), None)
        }
        Mode::Window { since, until } => {
            (Some(pos.started.unwrap_or(since).max(since)), Some(until))
        }
    };
    let top = w.ctx.config.page_size.clamp(1, MAX_TOP);
    let base = format!(
        "{}{}/_apis/release/deployments",
        w.ctx.client.release_base_url(),
        seg(&project.id)
    );
    let mut running_since: Option<DateTime<Utc>> = None;
    let mut token: Option<String> = None;
    loop {
        if w.cancel.is_cancelled() {
            return Err(ReconcileError::Cancelled);
        }
        let mut path = format!("{base}?queryOrder=ascending&latestAttemptsOnly=false&$top={top}");
        if let Some(m) = min {
            path.push_str(&format!("&minStartedTime={}", query_time(m)));
        }
        if let Some(m) = max {
            path.push_str(&format!("&maxStartedTime={}", query_time(m)));
        }
        if let Some(t) = &token {
            path.push_str(&format!("&continuationToken={}", seg(t)));
        }
        let resp = match w.ctx.get(&path).await {
            Ok(r) => r,
            Err(e) => match refused_status(&e) {
                Some(status) => {
                    w.ctx.note_gap(
                        w.stream,
                        "release/deployments",
                        status,
                        "classic release deployments are not recovered",
                    );
                    return Ok(());
                }
                None => return Err(e),
            },
        };
        let page = values(&resp).to_vec();
        let mut events = Vec::new();
        for d in &page {
            let started = time_of(d, "startedOn");
            pos.started = pos.started.max(started);
            if !completed(d) {
                running_since = match (running_since, started) {
                    (Some(r), Some(s)) => Some(r.min(s)),
                    (r, s) => r.or(s),
                };
            }
            events.extend(deployment_events(w.ctx, d));
        }
        let finished = page.is_empty() || resp.continuation_token.is_none();
        if finished {
            pos.running_since = running_since;
        }
        pos.done = finished && matches!(w.mode, Mode::Window { .. });
        cursor.projects.insert(project.id.clone(), pos.clone());
        w.commit(events, page.len() as u64, &*cursor).await?;
        if finished || token == resp.continuation_token {
            return Ok(());
        }
        token = resp.continuation_token;
    }
}

/// Whether a deployment attempt has ended (it has a completion time and is not running).
fn completed(d: &Value) -> bool {
    time_of(d, "completedOn").is_some()
        && !matches!(
            str_at(d, &["deploymentStatus"]),
            Some("inProgress" | "undefined") | None
        )
}

/// The environment status a completed deployment left (`ReleaseEnvironment.status`).
fn environment_status(d: &Value) -> &'static str {
    match str_at(d, &["deploymentStatus"]) {
        Some("succeeded") => "succeeded",
        Some("partiallySucceeded") => "partiallySucceeded",
        Some("inProgress") => "inProgress",
        Some("notDeployed") => match str_at(d, &["operationStatus"]) {
            Some(op) if op.eq_ignore_ascii_case("canceled") => "canceled",
            _ => "rejected",
        },
        _ => "rejected",
    }
}

fn deployment_events(ctx: &Ctx, d: &Value) -> Vec<NormalizedEvent> {
    let mut out = Vec::new();
    if d.get("startedOn").is_some_and(|v| !v.is_null()) {
        out.extend(ctx.normalize(STARTED_EVENT, VERSION, &resource(d, false), None, None));
    }
    if completed(d) {
        out.extend(ctx.normalize(COMPLETED_EVENT, VERSION, &resource(d, true), None, None));
    }
    out
}

/// The hook resource of a deployment: at its start (environment in progress, the attempt queued,
/// as the started event shows it — REST keeps only the final `operationStatus`, so the start's is
/// taken to be `Queued`) or as it completed.
fn resource(d: &Value, completed: bool) -> Value {
    let get = |k: &str| d.get(k).cloned().unwrap_or(Value::Null);
    let (env_status, step_status, operation, modified) = if completed {
        (
            json!(environment_status(d)),
            get("deploymentStatus"),
            get("operationStatus"),
            get("lastModifiedOn"),
        )
    } else {
        (
            json!("inProgress"),
            json!("inProgress"),
            json!("Queued"),
            get("startedOn"),
        )
    };
    let env = d.get("releaseEnvironment").unwrap_or(&Value::Null);
    let release = d.get("release").unwrap_or(&Value::Null);
    json!({
        "environment": {
            "id": env.get("id"),
            "releaseId": release.get("id"),
            "name": env.get("name"),
            "status": env_status,
            "definitionEnvironmentId": get("definitionEnvironmentId"),
            "deploySteps": [{
                "id": get("id"),
                "deploymentId": get("id"),
                "attempt": get("attempt"),
                "reason": get("reason"),
                "status": step_status,
                "operationStatus": operation,
                "requestedBy": get("requestedBy"),
                "requestedFor": get("requestedFor"),
                "queuedOn": get("queuedOn"),
                "lastModifiedOn": modified,
            }],
            "modifiedOn": modified,
            "release": { "id": release.get("id"), "name": release.get("name") },
            // No `releaseDefinition`: the documented hook environment does not carry one, and
            // the event must carry the same data whichever way it arrived.
        },
        "project": get("projectReference"),
    })
}
