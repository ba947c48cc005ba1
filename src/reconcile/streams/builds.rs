//! Builds and pipeline runs, per project: completed builds by finish time
//! (`statusFilter=completed&queryOrder=finishTimeAscending&minTime=…`, continuation tokens) give
//! `build.completed`; for YAML pipelines the build (runId == buildId) and its timeline give the run,
//! stage and job state changes (`pipeline.{run,stage,job}.state_changed`). Builds still running are
//! listed every pass for the states reached so far. The watermark per project is the newest finish
//! time walked (server time); each pass re-reads `overlap` before it.
//!
//! What REST shows: a run's states (in progress from its queue time, completed with its result)
//! and each stage/job record's start (→ in progress) and finish (→ completed, result). A stage or
//! job that never started (skipped, or rejected at its approval) raised no state event and gets
//! none here; job state events exist on Azure DevOps Services only (not on a Server collection).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::super::ReconcileError;
use super::super::ctx::{Ctx, Project, refused_status, seg, values};
use super::super::walk::{Mode, Walk};
use super::{query_time, time_of};
use crate::normalize::NormalizedEvent;
use crate::normalize::extract::{ZERO_GUID, as_int, str_at};

mod approvals;
mod pipeline;

/// What a walk over the builds derives: the builds stream's build and pipeline state events, or
/// the approvals stream's approval events (same listing, its own watermark).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Derive {
    Builds,
    Approvals,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Cursor {
    #[serde(default)]
    projects: BTreeMap<String, ProjectPos>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct ProjectPos {
    /// Newest finish time walked.
    #[serde(default)]
    finish: Option<DateTime<Utc>>,
    /// Backfill only: this project's window is done.
    #[serde(default)]
    done: bool,
}

pub(crate) async fn walk(w: &mut Walk<'_>, derive: Derive) -> Result<(), ReconcileError> {
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
        let yaml = yaml_definitions(w.ctx, w.stream, project, derive).await?;
        // Approvals exist on YAML runs only.
        if derive == Derive::Approvals && yaml.is_empty() {
            pos.done = matches!(w.mode, Mode::Window { .. });
            cursor.projects.insert(project.id.clone(), pos);
            w.commit(Vec::new(), 0, &cursor).await?;
            continue;
        }
        completed(w, &mut cursor, &mut pos, project, &yaml, derive).await?;
        running(w, &cursor, project, &yaml, derive).await?;
    }
    Ok(())
}

/// Ids of the project's YAML pipelines (`process.type == 2`). Definitions refused (403) or
/// missing (404, an older Server) leave a gap: builds are still reconciled as `build.completed`,
/// but no build can be told to be a YAML run, so no pipelines events are recovered.
async fn yaml_definitions(
    ctx: &Ctx,
    stream: &'static str,
    project: &Project,
    derive: Derive,
) -> Result<Vec<i64>, ReconcileError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut path = format!(
            "{}/_apis/build/definitions?includeAllProperties=true&$top=1000",
            seg(&project.id)
        );
        if let Some(t) = &token {
            path.push_str(&format!("&continuationToken={}", seg(t)));
        }
        let resp = match ctx.get(&path).await {
            Ok(r) => r,
            Err(e) => match refused_status(&e) {
                Some(status) => {
                    let lost = match derive {
                        Derive::Builds => {
                            "pipeline run, stage and job state changes are not recovered"
                        }
                        Derive::Approvals => "approvals are not recovered",
                    };
                    ctx.note_gap(stream, "build/definitions", status, lost);
                    return Ok(out);
                }
                None => return Err(e),
            },
        };
        out.extend(
            values(&resp)
                .iter()
                .filter(|d| d.pointer("/process/type").and_then(as_int) == Some(2))
                .filter_map(|d| d.get("id").and_then(as_int)),
        );
        match resp.continuation_token {
            Some(t) if !values(&resp).is_empty() && token.as_ref() != Some(&t) => token = Some(t),
            _ => return Ok(out),
        }
    }
}

async fn completed(
    w: &mut Walk<'_>,
    cursor: &mut Cursor,
    pos: &mut ProjectPos,
    project: &Project,
    yaml: &[i64],
    derive: Derive,
) -> Result<(), ReconcileError> {
    let overlap = chrono::Duration::from_std(w.ctx.config.overlap).unwrap_or_default();
    let (min, max) = match w.mode {
        Mode::Periodic => (pos.finish.map(|f| f - overlap), None),
        // A resumed backfill continues from the newest finish time it made durable.
        Mode::Window { since, until } => {
            (Some(pos.finish.unwrap_or(since).max(since)), Some(until))
        }
    };
    let top = w.ctx.config.page_size.max(1);
    let mut token: Option<String> = None;
    loop {
        if w.cancel.is_cancelled() {
            return Err(ReconcileError::Cancelled);
        }
        let mut path = format!(
            "{}/_apis/build/builds?statusFilter=completed&queryOrder=finishTimeAscending&$top={top}",
            seg(&project.id)
        );
        if let Some(m) = min {
            path.push_str(&format!("&minTime={}", query_time(m)));
        }
        if let Some(m) = max {
            path.push_str(&format!("&maxTime={}", query_time(m)));
        }
        if let Some(t) = &token {
            path.push_str(&format!("&continuationToken={}", seg(t)));
        }
        let resp = w.ctx.get(&path).await?;
        let page = values(&resp).to_vec();
        let events = derive_events(w.ctx, w.stream, project, &page, yaml, derive).await?;
        for b in &page {
            pos.finish = pos.finish.max(time_of(b, "finishTime"));
        }
        let finished = page.is_empty() || resp.continuation_token.is_none();
        pos.done = finished && matches!(w.mode, Mode::Window { .. });
        cursor.projects.insert(project.id.clone(), pos.clone());
        w.commit(events, page.len() as u64, &*cursor).await?;
        if finished || token == resp.continuation_token {
            return Ok(());
        }
        token = resp.continuation_token;
    }
}

/// Builds not finished yet: the states they reached so far (no watermark; known states are
/// duplicates).
async fn running(
    w: &mut Walk<'_>,
    cursor: &Cursor,
    project: &Project,
    yaml: &[i64],
    derive: Derive,
) -> Result<(), ReconcileError> {
    let mut token: Option<String> = None;
    loop {
        if w.cancel.is_cancelled() {
            return Err(ReconcileError::Cancelled);
        }
        let mut path = format!(
            "{}/_apis/build/builds?statusFilter=inProgress&queryOrder=queueTimeAscending&$top={}",
            seg(&project.id),
            w.ctx.config.page_size.max(1)
        );
        if let Some(t) = &token {
            path.push_str(&format!("&continuationToken={}", seg(t)));
        }
        let resp = w.ctx.get(&path).await?;
        let page: Vec<Value> = values(&resp)
            .iter()
            .filter(|b| build_definition(b).is_some_and(|d| yaml.contains(&d)))
            .cloned()
            .collect();
        let events = derive_events(w.ctx, w.stream, project, &page, yaml, derive).await?;
        w.commit(events, page.len() as u64, cursor).await?;
        match resp.continuation_token {
            Some(t) if !values(&resp).is_empty() && token.as_ref() != Some(&t) => token = Some(t),
            _ => return Ok(()),
        }
    }
}

fn build_definition(b: &Value) -> Option<i64> {
    b.pointer("/definition/id").and_then(as_int)
}

async fn derive_events(
    ctx: &Ctx,
    stream: &'static str,
    project: &Project,
    page: &[Value],
    yaml: &[i64],
    derive: Derive,
) -> Result<Vec<NormalizedEvent>, ReconcileError> {
    match derive {
        Derive::Builds => build_events(ctx, project, page, yaml).await,
        Derive::Approvals => {
            let runs: Vec<&Value> = page
                .iter()
                .filter(|b| build_definition(b).is_some_and(|d| yaml.contains(&d)))
                .collect();
            approvals::events(ctx, stream, project, &runs).await
        }
    }
}

/// Every event a page of builds shows, timelines fetched concurrently for YAML runs.
async fn build_events(
    ctx: &Ctx,
    project: &Project,
    page: &[Value],
    yaml: &[i64],
) -> Result<Vec<NormalizedEvent>, ReconcileError> {
    let per_build: Vec<Vec<NormalizedEvent>> = futures::stream::iter(page.iter().cloned())
        .map(|b| async move {
            let b = &b;
            let mut events = Vec::new();
            let completed = str_at(b, &["status"]) == Some("completed");
            if completed {
                events.extend(ctx.normalize("build.complete", "2.0", b, Some(&project.id), None));
            }
            if !build_definition(b).is_some_and(|d| yaml.contains(&d)) {
                return Ok::<_, ReconcileError>(events);
            }
            let Some(id) = b.get("id").and_then(as_int) else {
                return Ok(events);
            };
            let run = pipeline::Run::new(ctx, project, b);
            events.extend(run.run_events(ctx));
            let path = format!("{}/_apis/build/builds/{id}/timeline", seg(&project.id));
            let timeline = match ctx.get_raw(&path).await {
                Ok(r) => r.body,
                Err(e) if e.is_not_found() => return Ok(events),
                Err(e) => return Err(e.into()),
            };
            events.extend(run.timeline_events(ctx, &timeline));
            Ok(events)
        })
        .buffered(ctx.concurrency)
        .try_collect()
        .await?;
    Ok(per_build.into_iter().flatten().collect())
}

/// `state` of a timeline record in the pipelines events' words (`pending` is `notStarted`).
fn record_state(r: &Value) -> &str {
    match str_at(r, &["state"]) {
        Some("pending") | None => "notStarted",
        Some(s) => s,
    }
}

fn null_or(v: Option<&str>) -> Value {
    v.map_or(Value::Null, |s| Value::String(s.to_string()))
}

/// A stage's display name as the events carry it (`null` for the implicit stage).
fn display_name(name: &str, id: &str) -> Value {
    if name == "__default" || id.eq_ignore_ascii_case(ZERO_GUID) && name.starts_with("__") {
        Value::Null
    } else {
        json!(name)
    }
}

fn object(pairs: Vec<(&str, Value)>) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect::<Map<String, Value>>(),
    )
}
