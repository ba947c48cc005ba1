//! `git.pullrequest.created` / `.updated` / `.merged` (resource GitPullRequest 1.0) →
//! `git.pullrequest.created` / `.updated` / `.merge_attempted`.
//!
//! A PR has no revision counter, so `updated` is identified by a fingerprint of its state
//! (status, last merge source commit, sorted reviewers + votes, isDraft, closedDate): what a hook
//! and the REST history (system threads + iterations, or the PR itself for its current state)
//! both show. The merge status is not part of it (schema version 2): Azure DevOps keeps no
//! history of it, so an intermediate state could never be matched, and `updated` carries no
//! per-attempt merge fields — those are `merge_attempted`'s.

use serde_json::{Value, json};

use super::cloudevent::EventDraft;
use super::context::{NotNormalized, ResourceContext, need};
use super::extract::{
    bool_at, id_at, int_at, obj, person, person_at, project_ref, str_at, str_val, time_at, time_val,
};

pub const CREATED: &str = "git.pullrequest.created";
pub const UPDATED: &str = "git.pullrequest.updated";
pub const MERGE_ATTEMPTED: &str = "git.pullrequest.merge_attempted";

/// Reviewers as `{person…, vote, isRequired, hasDeclined, isFlagged}`, sorted by id then name so
/// the order Azure DevOps happened to list them in does not matter.
fn reviewers(pr: &Value) -> Vec<Value> {
    let mut out: Vec<Value> = pr
        .get("reviewers")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|r| {
                    let mut p = person(r)?;
                    let o = p.as_object_mut()?;
                    o.insert("vote".into(), json!(int_at(r, &["vote"]).unwrap_or(0)));
                    o.insert("isRequired".into(), json!(bool_at(r, &["isRequired"])));
                    o.insert("hasDeclined".into(), json!(bool_at(r, &["hasDeclined"])));
                    o.insert("isFlagged".into(), json!(bool_at(r, &["isFlagged"])));
                    Some(p)
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_by_key(reviewer_key);
    out
}

fn reviewer_key(r: &Value) -> (String, String) {
    let s = |k: &str| r[k].as_str().unwrap_or_default().to_ascii_lowercase();
    (s("id"), s("uniqueName") + &s("name"))
}

/// The state fingerprint of an `updated` event (docs/contract.md#identities).
pub fn fingerprint(pr: &Value) -> String {
    let votes: Vec<String> = reviewers(pr)
        .iter()
        .map(|r| {
            let who = r["id"]
                .as_str()
                .or(r["uniqueName"].as_str())
                .or(r["name"].as_str());
            format!(
                "{}={}",
                who.unwrap_or_default().to_ascii_lowercase(),
                r["vote"]
            )
        })
        .collect();
    [
        str_at(pr, &["status"]).unwrap_or_default().to_string(),
        source_commit(pr).unwrap_or_default().to_string(),
        votes.join(","),
        bool_at(pr, &["isDraft"]).to_string(),
        time_at(pr, &["closedDate"]).unwrap_or_default(),
    ]
    .join("|")
}

fn source_commit(pr: &Value) -> Option<&str> {
    str_at(pr, &["lastMergeSourceCommit", "commitId"])
}

/// The fields a consumer needs from a GitPullRequest, shared by every PR event type.
pub fn pr_data(pr: &Value, pr_id: i64, repo_id: &str) -> serde_json::Map<String, Value> {
    obj([
        ("pullRequestId", json!(pr_id)),
        ("title", str_val(pr, &["title"])),
        ("status", str_val(pr, &["status"])),
        ("mergeStatus", str_val(pr, &["mergeStatus"])),
        ("isDraft", json!(bool_at(pr, &["isDraft"]))),
        ("sourceRefName", str_val(pr, &["sourceRefName"])),
        ("targetRefName", str_val(pr, &["targetRefName"])),
        (
            "repository",
            json!({"id": repo_id, "name": str_val(pr, &["repository", "name"])}),
        ),
        ("project", project_ref(pr.pointer("/repository/project"))),
        ("createdBy", person_at(pr, &["createdBy"])),
        ("creationDate", time_val(pr, &["creationDate"])),
        ("closedBy", person_at(pr, &["closedBy"])),
        ("closedDate", time_val(pr, &["closedDate"])),
        (
            "lastMergeSourceCommit",
            str_val(pr, &["lastMergeSourceCommit", "commitId"]),
        ),
        (
            "lastMergeTargetCommit",
            str_val(pr, &["lastMergeTargetCommit", "commitId"]),
        ),
        (
            "lastMergeCommit",
            str_val(pr, &["lastMergeCommit", "commitId"]),
        ),
        ("reviewers", Value::Array(reviewers(pr))),
        ("url", str_val(pr, &["url"])),
    ])
}

/// `updated` carries the state its identity is made of, without the merge attempt's fields; the
/// merge commit only once the PR completed (it is then the one that landed).
fn updated_data(data: &mut serde_json::Map<String, Value>) {
    data.remove("mergeStatus");
    data.remove("lastMergeTargetCommit");
    if data.get("status").and_then(Value::as_str) != Some("completed") {
        data.insert("lastMergeCommit".into(), Value::Null);
    }
}

/// Repository id of a PR; old canned payloads only have it inside the PR url.
pub fn repo_id_of(pr: &Value) -> Option<String> {
    str_at(pr, &["repository", "id"])
        .map(str::to_string)
        .or_else(|| {
            str_at(pr, &["url"])
                .and_then(|u| super::extract::segment_after(u, "repositories"))
                .map(str::to_string)
        })
}

pub fn draft(
    event_type: &'static str,
    pr: &Value,
    ctx: &ResourceContext<'_>,
) -> Result<EventDraft, NotNormalized> {
    let pr_id = need(id_at(pr, &["pullRequestId"]), event_type, "pullRequestId")?;
    let repo_id = need(repo_id_of(pr), event_type, "repository.id")?;
    let mut data = pr_data(pr, pr_id, &repo_id);
    if event_type == UPDATED {
        updated_data(&mut data);
    }
    let closed = time_at(pr, &["closedDate"]);
    let created = time_at(pr, &["creationDate"]);
    let (identity, time) = match event_type {
        CREATED => (vec![pr_id.to_string()], ctx.time_of(&[created])),
        UPDATED => (
            vec![pr_id.to_string(), fingerprint(pr)],
            // No "updated at" exists on a PR: a closed PR changed when it closed, otherwise the
            // event's own time is the best there is.
            ctx.time_of(&[closed, ctx.created(), created]),
        ),
        _ => (
            vec![
                pr_id.to_string(),
                str_at(pr, &["mergeStatus"]).unwrap_or_default().to_string(),
                source_commit(pr).unwrap_or_default().to_string(),
            ],
            ctx.time_of(&[closed, ctx.created(), created]),
        ),
    };
    let project = &data["project"];
    Ok(EventDraft {
        event_type,
        identity,
        subject: format!("pullrequests/{pr_id}"),
        time,
        project_id: project["id"].as_str().map(str::to_string),
        project_name: project["name"].as_str().map(str::to_string),
        partition_key: format!("pullrequests/{pr_id}"),
        sequence: None,
        data,
    })
}
