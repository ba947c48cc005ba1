//! YAML pipelines events (publisher `pipelines`, resourceVersion 5.1-preview.1):
//! run / stage / job state changed → `pipeline.{run,stage,job}.state_changed`, identity
//! (run id[, stage | job], state, result); approval pending / completed →
//! `pipeline.approval.{pending,completed}`, identity (approval id, status).
//!
//! REST counterparts: run = Build (`build/builds/{id}`, runId == buildId) mapped to the run shape;
//! stage/job = build timeline records (`build/builds/{id}/timeline`) mapped to `{stage|job, run}`;
//! approval = `pipelines/approvals/{id}?$expand=steps`. Only fields fixed at the moment of the
//! state change go into `data` (not the run's state seen by a stage event, which REST cannot
//! reproduce later).

use serde_json::{Map, Value, json};

use super::cloudevent::EventDraft;
use super::context::{NotNormalized, ResourceContext, need, project_from_web_link};
use super::extract::{
    ZERO_GUID, guid_at, id_at, int_val, link, obj, person, str_at, str_val, time_at, time_val,
};

pub const RUN: &str = "pipeline.run.state_changed";
pub const STAGE: &str = "pipeline.stage.state_changed";
pub const JOB: &str = "pipeline.job.state_changed";
pub const APPROVAL_PENDING: &str = "pipeline.approval.pending";
pub const APPROVAL_COMPLETED: &str = "pipeline.approval.completed";

fn pipeline_ref(resource: &Value) -> Value {
    let p = resource
        .get("pipeline")
        .filter(|p| p.is_object())
        .or_else(|| resource.pointer("/run/pipeline").filter(|p| p.is_object()));
    p.map_or(Value::Null, |p| {
        json!({
            "id": int_val(p, &["id"]),
            "name": str_val(p, &["name"]),
            "folder": str_val(p, &["folder"]),
            "revision": int_val(p, &["revision"]),
        })
    })
}

/// Project name from any web link of the resource (these events carry no project object).
fn project_name(resource: &Value, ctx: &ResourceContext<'_>) -> Option<String> {
    ["/run", "/stage", "/job", "/approval", ""]
        .iter()
        .find_map(|p| {
            let v = resource.pointer(p)?;
            ["web", "pipeline.web"]
                .iter()
                .find_map(|l| link(v, l).and_then(|h| project_from_web_link(h, ctx.base_url())))
        })
}

/// A stage/job key: its id, unless that is the zero GUID of the implicit `__default` stage/job.
fn key_of(v: &Value) -> Option<String> {
    guid_at(v, &["id"])
        .or_else(|| {
            str_at(v, &["name"])
                .filter(|_| str_at(v, &["id"]).is_none_or(|i| i.eq_ignore_ascii_case(ZERO_GUID)))
        })
        .map(str::to_string)
}

struct Run<'a> {
    id: i64,
    obj: &'a Value,
}

fn run_of<'a>(resource: &'a Value, event_type: &str) -> Result<Run<'a>, NotNormalized> {
    let obj = resource.get("run").filter(|r| r.is_object());
    let id = need(obj.and_then(|r| id_at(r, &["id"])), event_type, "run.id")?;
    Ok(Run {
        id,
        obj: obj.unwrap_or(&Value::Null),
    })
}

fn state_result(v: &Value) -> (String, String) {
    (
        str_at(v, &["state"]).unwrap_or_default().to_string(),
        str_at(v, &["result"]).unwrap_or_default().to_string(),
    )
}

fn base_draft(
    event_type: &'static str,
    identity: Vec<String>,
    subject: String,
    time: chrono::DateTime<chrono::Utc>,
    run_id: i64,
    project_name: Option<String>,
    data: Map<String, Value>,
) -> EventDraft {
    EventDraft {
        event_type,
        identity,
        subject,
        time,
        project_id: None,
        project_name,
        // runId == buildId: run, stage, job and build.completed events of one run share a partition.
        partition_key: format!("builds/{run_id}"),
        sequence: None,
        data,
    }
}

pub fn run_draft(resource: &Value, ctx: &ResourceContext<'_>) -> Result<EventDraft, NotNormalized> {
    let run = run_of(resource, RUN)?;
    let (state, result) = state_result(run.obj);
    let finished = time_at(run.obj, &["finishedDate"]);
    let created = time_at(run.obj, &["createdDate"]);
    let time = match state.as_str() {
        "completed" => ctx.time_of(&[finished, created]),
        "inProgress" => ctx.time_of(&[created]),
        _ => ctx.time_of(&[ctx.created(), created]),
    };
    let data = obj([
        ("runId", json!(run.id)),
        ("runName", str_val(run.obj, &["name"])),
        ("state", str_val(run.obj, &["state"])),
        ("result", str_val(run.obj, &["result"])),
        ("createdDate", time_val(run.obj, &["createdDate"])),
        ("finishedDate", time_val(run.obj, &["finishedDate"])),
        ("pipeline", pipeline_ref(resource)),
        ("url", str_val(run.obj, &["url"])),
    ]);
    let identity = vec![run.id.to_string(), state, result];
    Ok(base_draft(
        RUN,
        identity,
        format!("runs/{}", run.id),
        time,
        run.id,
        project_name(resource, ctx),
        data,
    ))
}

fn step_data(kind: &str, v: &Value) -> Vec<(String, Value)> {
    vec![
        (format!("{kind}Id"), str_val(v, &["id"])),
        (format!("{kind}Name"), str_val(v, &["name"])),
        ("state".into(), str_val(v, &["state"])),
        ("result".into(), str_val(v, &["result"])),
        ("startTime".into(), time_val(v, &["startTime"])),
        ("finishTime".into(), time_val(v, &["finishTime"])),
    ]
}

fn step_time(v: &Value, ctx: &ResourceContext<'_>, run: &Value) -> chrono::DateTime<chrono::Utc> {
    let (finish, start) = (time_at(v, &["finishTime"]), time_at(v, &["startTime"]));
    match str_at(v, &["state"]) {
        Some("completed") => ctx.time_of(&[finish, start, ctx.created()]),
        _ => ctx.time_of(&[start, ctx.created(), time_at(run, &["createdDate"])]),
    }
}

pub fn stage_draft(
    resource: &Value,
    ctx: &ResourceContext<'_>,
) -> Result<EventDraft, NotNormalized> {
    let run = run_of(resource, STAGE)?;
    let stage = resource.get("stage").unwrap_or(&Value::Null);
    let key = need(key_of(stage), STAGE, "stage.id or stage.name")?;
    let (state, result) = state_result(stage);
    let mut data = obj([
        ("runId", json!(run.id)),
        ("runName", str_val(run.obj, &["name"])),
        ("stageKey", json!(key)),
        ("stageDisplayName", str_val(stage, &["displayName"])),
    ]);
    data.extend(step_data("stage", stage));
    data.insert("pipeline".into(), pipeline_ref(resource));
    let time = step_time(stage, ctx, run.obj);
    let identity = vec![run.id.to_string(), key.clone(), state, result];
    let subject = format!("runs/{}/stages/{key}", run.id);
    Ok(base_draft(
        STAGE,
        identity,
        subject,
        time,
        run.id,
        project_name(resource, ctx),
        data,
    ))
}

pub fn job_draft(resource: &Value, ctx: &ResourceContext<'_>) -> Result<EventDraft, NotNormalized> {
    let run = run_of(resource, JOB)?;
    let job = resource.get("job").unwrap_or(&Value::Null);
    let stage = resource.get("stage").unwrap_or(&Value::Null);
    let stage_key = key_of(stage);
    // Job ids are GUIDs; the implicit job has the zero GUID, and its name (`__default`) is only
    // unique within its stage.
    let key = match guid_at(job, &["id"]) {
        Some(id) => Some(id.to_string()),
        None => str_at(job, &["name"]).map(|n| match &stage_key {
            Some(s) => format!("{s}/{n}"),
            None => n.to_string(),
        }),
    };
    let key = need(key, JOB, "job.id or job.name")?;
    let (state, result) = state_result(job);
    let mut data = obj([
        ("runId", json!(run.id)),
        ("runName", str_val(run.obj, &["name"])),
        ("jobKey", json!(key)),
        ("stageKey", json!(stage_key)),
        ("stageName", str_val(stage, &["name"])),
    ]);
    data.extend(step_data("job", job));
    data.insert("pipeline".into(), pipeline_ref(resource));
    let time = step_time(job, ctx, run.obj);
    let identity = vec![run.id.to_string(), key.clone(), state, result];
    let subject = format!("runs/{}/jobs/{key}", run.id);
    Ok(base_draft(
        JOB,
        identity,
        subject,
        time,
        run.id,
        project_name(resource, ctx),
        data,
    ))
}

fn approval_steps(approval: &Value) -> Vec<Value> {
    approval
        .get("steps")
        .and_then(Value::as_array)
        .map(|steps| {
            steps
                .iter()
                .filter(|s| s.is_object())
                .map(|s| {
                    json!({
                        "assignedApprover": s.get("assignedApprover").and_then(person),
                        "actualApprover": s.get("actualApprover").and_then(person),
                        "status": str_val(s, &["status"]),
                        "comment": str_val(s, &["comment"]),
                        "initiatedOn": time_val(s, &["initiatedOn"]),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn approval_draft(
    event_type: &'static str,
    resource: &Value,
    ctx: &ResourceContext<'_>,
) -> Result<EventDraft, NotNormalized> {
    let approval = resource.get("approval").unwrap_or(&Value::Null);
    let id = need(guid_at(approval, &["id"]), event_type, "approval.id")?;
    let status = need(str_at(approval, &["status"]), event_type, "approval.status")?;
    let run_id = resource
        .pointer("/run/id")
        .and_then(super::extract::as_int)
        .filter(|n| *n > 0);
    let data = obj([
        ("approvalId", json!(id)),
        ("status", json!(status)),
        ("createdOn", time_val(approval, &["createdOn"])),
        ("lastModifiedOn", time_val(approval, &["lastModifiedOn"])),
        ("instructions", str_val(approval, &["instructions"])),
        (
            "minRequiredApprovers",
            int_val(approval, &["minRequiredApprovers"]),
        ),
        ("steps", Value::Array(approval_steps(approval))),
        ("pipeline", pipeline_ref(resource)),
        ("runId", json!(run_id)),
        ("stageName", str_val(resource, &["stageName"])),
    ]);
    Ok(EventDraft {
        event_type,
        identity: vec![id.to_string(), status.to_string()],
        subject: format!("approvals/{id}"),
        time: ctx.time_of(&[
            time_at(approval, &["lastModifiedOn"]),
            time_at(approval, &["createdOn"]),
        ]),
        project_id: guid_at(resource, &["projectId"]).map(str::to_string),
        project_name: project_name(resource, ctx),
        partition_key: format!("approvals/{id}"),
        sequence: None,
        data,
    })
}
