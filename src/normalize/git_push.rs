//! `git.push` (resource GitPush 1.0) → `git.push`, identity (repository id, pushId).
//!
//! REST counterpart: `GET …/repositories/{repo}/pushes?searchCriteria.includeRefUpdates=true`
//! (or `pushes/{id}`) with `commits` filled from `pushes/{id}/commits`: the same shape.

use serde_json::{Value, json};

use super::cloudevent::EventDraft;
use super::context::{NotNormalized, ResourceContext, need};
use super::extract::{
    git_user, int_at, obj, person_at, project_ref, str_at, str_val, time_at, time_val,
};

pub const TYPE: &str = "git.push";

/// 40 zeros: the "no object" side of a ref creation or deletion.
const NULL_SHA: &str = "0000000000000000000000000000000000000000";

fn ref_change(old: Option<&str>, new: Option<&str>) -> &'static str {
    let is_null = |s: Option<&str>| s.is_none_or(|s| s.chars().all(|c| c == '0'));
    match (is_null(old), is_null(new)) {
        (true, false) => "create",
        (false, true) => "delete",
        _ => "update",
    }
}

fn ref_updates(resource: &Value) -> Vec<Value> {
    let Some(list) = resource.get("refUpdates").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .filter(|r| r.is_object())
        .map(|r| {
            let old = str_at(r, &["oldObjectId"]);
            let new = str_at(r, &["newObjectId"]);
            json!({
                "name": str_val(r, &["name"]),
                "oldObjectId": old.unwrap_or(NULL_SHA),
                "newObjectId": new.unwrap_or(NULL_SHA),
                "change": ref_change(old, new),
            })
        })
        .collect()
}

fn commits(resource: &Value) -> Vec<Value> {
    // A branch deletion has no `commits` key at all.
    let Some(list) = resource.get("commits").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|c| {
            let id = str_at(c, &["commitId"])?;
            Some(json!({
                "commitId": id,
                "author": git_user(c.get("author").unwrap_or(&Value::Null)),
                "committer": git_user(c.get("committer").unwrap_or(&Value::Null)),
                "comment": str_val(c, &["comment"]),
            }))
        })
        .collect()
}

pub fn draft(resource: &Value, ctx: &ResourceContext<'_>) -> Result<EventDraft, NotNormalized> {
    let push_id = need(
        int_at(resource, &["pushId"]).filter(|n| *n > 0),
        TYPE,
        "pushId",
    )?;
    let repo_id = need(
        str_at(resource, &["repository", "id"]),
        TYPE,
        "repository.id",
    )?;
    let project = project_ref(resource.pointer("/repository/project"));
    let commits = commits(resource);
    let data = obj([
        ("pushId", json!(push_id)),
        (
            "repository",
            json!({"id": repo_id, "name": str_val(resource, &["repository", "name"])}),
        ),
        ("project", project.clone()),
        ("pushedBy", person_at(resource, &["pushedBy"])),
        ("date", time_val(resource, &["date"])),
        ("refUpdates", Value::Array(ref_updates(resource))),
        ("commitCount", json!(commits.len())),
        ("commits", Value::Array(commits)),
        ("url", str_val(resource, &["url"])),
    ]);
    Ok(EventDraft {
        event_type: TYPE,
        identity: vec![repo_id.to_string(), push_id.to_string()],
        subject: format!("repositories/{repo_id}/pushes/{push_id}"),
        time: ctx.time_of(&[time_at(resource, &["date"])]),
        project_id: project["id"].as_str().map(str::to_string),
        project_name: project["name"].as_str().map(str::to_string),
        partition_key: format!("repositories/{repo_id}"),
        sequence: Some(push_id),
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_ref_changes() {
        assert_eq!(ref_change(Some(NULL_SHA), Some("abc")), "create");
        assert_eq!(ref_change(Some("abc"), Some(NULL_SHA)), "delete");
        assert_eq!(ref_change(Some("abc"), Some("def")), "update");
    }
}
