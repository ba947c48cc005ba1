//! Approvals of YAML runs: each run's timeline names its approvals (`Checkpoint.Approval`
//! records, whose id is the approval id, under a `Checkpoint` under the stage), and one
//! `pipelines/approvals?approvalIds=…&$expand=steps` call per page of runs gives who answered,
//! how and when. The approvals API itself has no time filter or paging, so the runs are the index.
//!
//! Each approval yields `pipeline.approval.pending` (the state it was created in: pending, no
//! answer yet, modified when created) and, once answered, `pipeline.approval.completed`, in the
//! shape of the `ms.vss-pipelinechecks-events.approval-*` resources (the hook's steps carry the
//! assigned approver, status, comment and start — not the actual approver).

use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};

use super::super::super::ReconcileError;
use super::super::super::ctx::{Ctx, Project, refused_status, seg, values};
use super::pipeline::Run;
use crate::normalize::NormalizedEvent;
use crate::normalize::extract::{as_int, str_at};

const PENDING_EVENT: &str = "ms.vss-pipelinechecks-events.approval-pending";
const COMPLETED_EVENT: &str = "ms.vss-pipelinechecks-events.approval-completed";
const VERSION: &str = "5.1-preview.1";
/// Approval ids per `approvalIds=` query (GUIDs: about 3.7 kB of URL).
const IDS_PER_CALL: usize = 100;

/// An approval a timeline names: its run (index in the page) and stage.
struct Found {
    run: usize,
    approval_id: String,
    stage_name: Value,
}

/// The approval events of a page of YAML runs.
pub(super) async fn events(
    ctx: &Ctx,
    stream: &'static str,
    project: &Project,
    runs: &[&Value],
) -> Result<Vec<NormalizedEvent>, ReconcileError> {
    // Items are indices, not `&Value`: a borrowed stream item makes the future's `Send` bound
    // higher-ranked, which the spawned reconciler cannot satisfy.
    let found: Vec<Vec<Found>> = futures::stream::iter(0..runs.len())
        .map(|i| async move {
            let b = runs[i];
            let Some(id) = b.get("id").and_then(as_int) else {
                return Ok::<_, ReconcileError>(Vec::new());
            };
            let path = format!("{}/_apis/build/builds/{id}/timeline", seg(&project.id));
            match ctx.get_raw(&path).await {
                Ok(r) => Ok(approvals_in(i, &r.body)),
                // A run without a timeline (never started) has no approval.
                Err(e) if e.is_not_found() => Ok(Vec::new()),
                Err(e) => Err(e.into()),
            }
        })
        .buffered(ctx.concurrency)
        .try_collect()
        .await?;
    let found: Vec<Found> = found.into_iter().flatten().collect();
    let mut events = Vec::new();
    for chunk in found.chunks(IDS_PER_CALL) {
        let ids: Vec<&str> = chunk.iter().map(|f| f.approval_id.as_str()).collect();
        let path = format!(
            "{}/_apis/pipelines/approvals?approvalIds={}&$expand=steps",
            seg(&project.id),
            ids.join(",")
        );
        let resp = match ctx.get(&path).await {
            Ok(r) => r,
            Err(e) => match refused_status(&e) {
                Some(status) => {
                    ctx.note_gap(
                        stream,
                        "pipelines/approvals",
                        status,
                        "approvals are not recovered",
                    );
                    return Ok(events);
                }
                None => return Err(e),
            },
        };
        for approval in values(&resp) {
            let Some(f) = str_at(approval, &["id"]).and_then(|id| {
                chunk
                    .iter()
                    .find(|f| f.approval_id.eq_ignore_ascii_case(id))
            }) else {
                continue;
            };
            let run = Run::new(ctx, project, runs[f.run]);
            for (event_type, resource) in resources(&run, f, approval) {
                events.extend(ctx.normalize(
                    event_type,
                    VERSION,
                    &resource,
                    Some(&project.id),
                    None,
                ));
            }
        }
    }
    Ok(events)
}

/// The approvals a run's timeline names, with the stage each one gates.
fn approvals_in(run: usize, timeline: &Value) -> Vec<Found> {
    let records: Vec<&Value> = timeline
        .get("records")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter(|x| x.is_object()).collect())
        .unwrap_or_default();
    let parent_of = |r: &Value| {
        str_at(r, &["parentId"]).and_then(|p| {
            records
                .iter()
                .find(|x| str_at(x, &["id"]).is_some_and(|id| id.eq_ignore_ascii_case(p)))
                .copied()
        })
    };
    records
        .iter()
        .filter(|r| str_at(r, &["type"]) == Some("Checkpoint.Approval"))
        .filter_map(|r| {
            let stage = parent_of(r)
                .and_then(&parent_of)
                .filter(|s| str_at(s, &["type"]) == Some("Stage"));
            Some(Found {
                run,
                approval_id: str_at(r, &["id"])?.to_string(),
                stage_name: stage
                    .and_then(|s| s.get("name").cloned())
                    .unwrap_or(Value::Null),
            })
        })
        .collect()
}

/// The hook resources one approval stands for: pending always, completed once answered.
fn resources(run: &Run<'_>, f: &Found, approval: &Value) -> Vec<(&'static str, Value)> {
    let status = str_at(approval, &["status"]).unwrap_or("pending");
    let created = approval.get("createdOn").cloned().unwrap_or(Value::Null);
    let steps = |answered: bool| -> Vec<Value> {
        approval
            .get("steps")
            .and_then(Value::as_array)
            .map(|steps| {
                steps
                    .iter()
                    .map(|s| {
                        json!({
                            "assignedApprover": s.get("assignedApprover").map(|p| json!({
                                "displayName": p.get("displayName"),
                                "id": p.get("id"),
                            })),
                            "status": if answered { s.get("status").cloned() } else { Some(json!("pending")) },
                            // A step nobody answered yet carries no comment.
                            "comment": if answered { s.get("comment").cloned().unwrap_or(json!("")) } else { json!("") },
                            "initiatedOn": s.get("initiatedOn"),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let resource = |answered: bool| {
        let a = json!({
            "id": approval.get("id"),
            "steps": steps(answered),
            "status": if answered { json!(status) } else { json!("pending") },
            "createdOn": created,
            // A pending approval was last modified when it was created.
            "lastModifiedOn": if answered { approval.get("lastModifiedOn").cloned().unwrap_or(Value::Null) } else { created.clone() },
            "instructions": approval.get("instructions"),
            "minRequiredApprovers": approval.get("minRequiredApprovers"),
            "blockedApprovers": approval.get("blockedApprovers"),
            "_links": {},
        });
        json!({
            "approval": a,
            "projectId": run.project_id(),
            "pipeline": run.pipeline(),
            "run": run.run(false, true),
            "stageName": f.stage_name,
        })
    };
    let mut out = vec![(PENDING_EVENT, resource(false))];
    // Every final state completes the approval (`approved`, `rejected`; `canceled`, `timedOut`,
    // `skipped` and `failed` are assumed to raise the completed event too).
    if !matches!(status, "pending" | "uninitiated" | "undefined" | "deferred") {
        out.push((COMPLETED_EVENT, resource(true)));
    }
    out
}
