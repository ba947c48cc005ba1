//! `build.complete` → `build.completed`, identity (build id).
//!
//! resourceVersion 2.0 is the Build object of the REST API (`GET …/build/builds/{id}`), so the
//! reconciler passes that object unchanged. 1.0 is the legacy XAML-era shape: `status` holds the
//! result, the branch and commit are packed in `sourceGetVersion` (`LG:refs/heads/x:sha`), the
//! requester is in `requests[0].requestedFor`, and there is no project object.

use serde_json::{Value, json};

use super::cloudevent::EventDraft;
use super::context::{NotNormalized, ResourceContext, need};
use super::extract::{
    ZERO_GUID, at, id_at, int_val, link, obj, person_at, project_ref, str_at, str_val, time_at,
    time_val,
};

pub const TYPE: &str = "build.completed";

/// Lowercase-first, as the 2.0 enums are spelled (`PartiallySucceeded` → `partiallySucceeded`).
fn camel(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_lowercase().to_string() + c.as_str())
        .unwrap_or_default()
}

/// Whether this is the legacy 1.0 shape (declared, or recognisable by its fields).
fn is_legacy(resource: &Value, ctx: &ResourceContext<'_>) -> bool {
    match ctx.resource_version {
        Some(v) if v.starts_with('1') => true,
        Some(_) => false,
        None => resource.get("result").is_none() && resource.get("sourceGetVersion").is_some(),
    }
}

fn legacy_fields(resource: &Value) -> (Value, Value, Value, Value) {
    // status 1.0 → (status, result): the legacy status is the outcome of a finished build.
    let result = str_at(resource, &["status"]).map(|s| match camel(s).as_str() {
        "stopped" => "canceled".to_string(),
        other => other.to_string(),
    });
    let (branch, sha) = str_at(resource, &["sourceGetVersion"])
        .and_then(|s| s.strip_prefix("LG:"))
        .and_then(|s| s.rsplit_once(':'))
        .map_or((Value::Null, Value::Null), |(b, c)| (json!(b), json!(c)));
    (json!("completed"), json!(result), branch, sha)
}

pub fn draft(resource: &Value, ctx: &ResourceContext<'_>) -> Result<EventDraft, NotNormalized> {
    let build_id = need(id_at(resource, &["id"]), TYPE, "id")?;
    let legacy = is_legacy(resource, ctx);
    let (status, result, branch, sha) = if legacy {
        legacy_fields(resource)
    } else {
        (
            str_val(resource, &["status"]),
            str_val(resource, &["result"]),
            str_val(resource, &["sourceBranch"]),
            str_val(resource, &["sourceVersion"]),
        )
    };
    let mut project = project_ref(
        resource
            .get("project")
            .or(at(resource, &["definition", "project"])),
    );
    if project["id"].is_null() {
        // 1.0 builds only name their project id inside the URL: …/{collection}/{projectId}/_apis/…
        if let Some(id) = str_at(resource, &["url"]).and_then(project_id_from_url) {
            project["id"] = json!(id);
        }
    }
    let requested_for = if legacy {
        first_request_person(resource)
    } else {
        person_at(resource, &["requestedFor"])
    };
    let repository = resource
        .get("repository")
        .filter(|r| r.is_object())
        .map_or(Value::Null, |r| {
            json!({"id": str_val(r, &["id"]), "type": str_val(r, &["type"]), "name": str_val(r, &["name"])})
        });
    let data = obj([
        ("buildId", json!(build_id)),
        ("buildNumber", str_val(resource, &["buildNumber"])),
        ("status", status),
        ("result", result),
        ("reason", str_val(resource, &["reason"])),
        (
            "definition",
            json!({
                "id": int_val(resource, &["definition", "id"]),
                "name": str_val(resource, &["definition", "name"]),
                "path": str_val(resource, &["definition", "path"]),
            }),
        ),
        ("project", project.clone()),
        ("sourceBranch", branch),
        ("sourceVersion", sha),
        ("repository", repository),
        ("requestedFor", requested_for),
        ("requestedBy", person_at(resource, &["requestedBy"])),
        ("queueTime", time_val(resource, &["queueTime"])),
        ("startTime", time_val(resource, &["startTime"])),
        ("finishTime", time_val(resource, &["finishTime"])),
        ("url", str_val(resource, &["url"])),
        (
            "webUrl",
            link(resource, "web").map_or(Value::Null, |s| json!(s)),
        ),
    ]);
    Ok(EventDraft {
        event_type: TYPE,
        identity: vec![build_id.to_string()],
        subject: format!("builds/{build_id}"),
        time: ctx.time_of(&[
            time_at(resource, &["finishTime"]),
            time_at(resource, &["lastChangedDate"]),
        ]),
        project_id: project["id"].as_str().map(str::to_string),
        project_name: project["name"].as_str().map(str::to_string),
        partition_key: format!("builds/{build_id}"),
        sequence: None,
        data,
    })
}

fn first_request_person(resource: &Value) -> Value {
    resource
        .get("requests")
        .and_then(Value::as_array)
        .and_then(|r| r.first())
        .map_or(Value::Null, |r| person_at(r, &["requestedFor"]))
}

/// `…/DefaultCollection/{projectId}/_apis/build…` → the project id, when it is a GUID.
fn project_id_from_url(url: &str) -> Option<String> {
    let before = &url[..url.find("/_apis/")?];
    let seg = before.rsplit('/').next()?;
    let is_guid = seg.len() == 36 && seg.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    (is_guid && !seg.eq_ignore_ascii_case(ZERO_GUID)).then(|| seg.to_string())
}
