//! Classic release deployments (publisher `rm`, resourceVersion 3.0-preview.1):
//! `ms.vss-release.deployment-started-event` / `-completed-event` →
//! `release.deployment.started` / `.completed`, identity (deployment id), or (release environment
//! id, attempt) when the payload names no deployment.
//!
//! The deployment is the last of `environment.deploySteps` (`{deploymentId, attempt, status,
//! requestedBy, requestedFor, queuedOn, lastModifiedOn}`). REST counterpart:
//! `vsrm …/release/releases/{id}` environment (same ReleaseEnvironment shape) wrapped as
//! `{environment, project}`.

use serde_json::{Value, json};

use super::cloudevent::EventDraft;
use super::context::{NotNormalized, ResourceContext, need};
use super::extract::{
    id_at, int_at, obj, person_at, project_ref, str_at, str_val, time_at, time_val,
};

pub const STARTED: &str = "release.deployment.started";
pub const COMPLETED: &str = "release.deployment.completed";

pub fn draft(
    event_type: &'static str,
    resource: &Value,
    ctx: &ResourceContext<'_>,
) -> Result<EventDraft, NotNormalized> {
    let env = resource
        .get("environment")
        .filter(|e| e.is_object())
        .unwrap_or(&Value::Null);
    let env_id = need(id_at(env, &["id"]), event_type, "environment.id")?;
    let step = env
        .get("deploySteps")
        .and_then(Value::as_array)
        .and_then(|s| {
            s.iter()
                .filter(|s| s.is_object())
                .max_by_key(|s| int_at(s, &["attempt"]).unwrap_or(0))
        })
        .unwrap_or(&Value::Null);
    let deployment_id = id_at(step, &["deploymentId"]);
    let attempt = id_at(step, &["attempt"]);
    // The docs sample leaves `releaseId` 0 and the top-level `release` empty; take the first real id.
    let release_id = id_at(env, &["release", "id"])
        .or_else(|| id_at(env, &["releaseId"]))
        .or_else(|| id_at(resource, &["release", "id"]));
    let release_name =
        str_at(env, &["release", "name"]).or_else(|| str_at(resource, &["release", "name"]));
    let definition = resource
        .pointer("/release/releaseDefinition")
        .or_else(|| env.get("releaseDefinition"))
        .filter(|d| d.is_object());
    let project = project_ref(resource.get("project"));
    let data = obj([
        ("deploymentId", json!(deployment_id)),
        ("attempt", json!(attempt)),
        ("status", str_val(env, &["status"])),
        ("deploymentStatus", str_val(step, &["status"])),
        ("operationStatus", str_val(step, &["operationStatus"])),
        (
            "environment",
            json!({
                "id": env_id,
                "name": str_val(env, &["name"]),
                "definitionEnvironmentId": id_at(env, &["definitionEnvironmentId"]),
            }),
        ),
        ("release", json!({"id": release_id, "name": release_name})),
        (
            "releaseDefinition",
            definition.map_or(
                Value::Null,
                |d| json!({"id": id_at(d, &["id"]), "name": str_val(d, &["name"])}),
            ),
        ),
        ("project", project.clone()),
        ("requestedBy", person_at(step, &["requestedBy"])),
        ("requestedFor", person_at(step, &["requestedFor"])),
        ("queuedOn", time_val(step, &["queuedOn"])),
        ("lastModifiedOn", time_val(step, &["lastModifiedOn"])),
    ]);
    let identity = match deployment_id {
        Some(d) => vec!["deployment".to_string(), d.to_string()],
        None => vec![
            "environment".to_string(),
            env_id.to_string(),
            attempt.map(|a| a.to_string()).unwrap_or_default(),
        ],
    };
    let time = if event_type == STARTED {
        ctx.time_of(&[time_at(step, &["queuedOn"]), ctx.created()])
    } else {
        ctx.time_of(&[
            time_at(step, &["lastModifiedOn"]),
            ctx.created(),
            time_at(env, &["modifiedOn"]),
        ])
    };
    let release_key = release_id.map_or_else(
        || format!("environments/{env_id}"),
        |r| format!("releases/{r}"),
    );
    Ok(EventDraft {
        event_type,
        identity,
        subject: match release_id {
            Some(r) => format!("releases/{r}/environments/{env_id}"),
            None => format!("environments/{env_id}"),
        },
        time,
        project_id: project["id"].as_str().map(str::to_string),
        project_name: project["name"].as_str().map(str::to_string),
        partition_key: release_key,
        sequence: None,
        data,
    })
}
