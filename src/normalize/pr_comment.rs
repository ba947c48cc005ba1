//! `ms.vss-code.git-pullrequest-comment-event` → `git.pullrequest.commented`, identity
//! (pullRequestId, thread id, comment id, lastUpdatedDate).
//!
//! resourceVersion 2.0 is `{comment, pullRequest}`; 1.0 is the comment alone, its PR reachable only
//! through `_links`. Either way the thread id exists only inside `_links.threads.href`
//! (`…/pullRequests/22568/threads/109903`). REST counterpart: a comment of
//! `GET …/pullRequests/{id}/threads` wrapped as `{comment, pullRequest}` (thread `_links` included).

use serde_json::{Value, json};

use super::cloudevent::EventDraft;
use super::context::{NotNormalized, ResourceContext, need};
use super::extract::{
    id_at, int_at, link, number_after, obj, person_at, project_ref, segment_after, str_val,
    time_at, time_val,
};
use super::pull_request::repo_id_of;

pub const TYPE: &str = "git.pullrequest.commented";

pub fn draft(resource: &Value, ctx: &ResourceContext<'_>) -> Result<EventDraft, NotNormalized> {
    // 2.0 wraps the comment; 1.0 (and anything without `comment`) is the comment itself.
    let (comment, pr) = match resource.get("comment").filter(|c| c.is_object()) {
        Some(c) => (c, resource.get("pullRequest").filter(|p| p.is_object())),
        None => (resource, None),
    };
    let threads = link(comment, "threads");
    let self_link = link(comment, "self");
    let from_links = |seg: &str| {
        threads
            .and_then(|t| number_after(t, seg))
            .or_else(|| self_link.and_then(|s| number_after(s, seg)))
    };
    let thread_id = need(from_links("threads"), TYPE, "_links.threads.href thread id")?;
    let comment_id = need(id_at(comment, &["id"]), TYPE, "comment.id")?;
    let pr_id = need(
        pr.and_then(|p| id_at(p, &["pullRequestId"]))
            .or_else(|| from_links("pullRequests")),
        TYPE,
        "pullRequestId",
    )?;
    let repo_id = pr.and_then(repo_id_of).or_else(|| {
        [threads, self_link, link(comment, "repository")]
            .into_iter()
            .flatten()
            .find_map(|u| segment_after(u, "repositories"))
            .map(str::to_string)
    });
    let repo_id = need(repo_id, TYPE, "repository id")?;
    let updated = time_at(comment, &["lastUpdatedDate"]);
    let published = time_at(comment, &["publishedDate"]);
    let project = project_ref(pr.and_then(|p| p.pointer("/repository/project")));
    // Only what does not change after the comment: the PR's own status at comment time is not
    // reproducible from REST later, so it is left to the PR events.
    let data = obj([
        ("pullRequestId", json!(pr_id)),
        ("threadId", json!(thread_id)),
        ("commentId", json!(comment_id)),
        (
            "parentCommentId",
            int_at(comment, &["parentCommentId"])
                .filter(|n| *n > 0)
                .map_or(Value::Null, Value::from),
        ),
        ("author", person_at(comment, &["author"])),
        ("content", str_val(comment, &["content"])),
        ("commentType", str_val(comment, &["commentType"])),
        (
            "publishedDate",
            published.clone().map_or(Value::Null, Value::String),
        ),
        (
            "lastUpdatedDate",
            updated.clone().map_or(Value::Null, Value::String),
        ),
        (
            "lastContentUpdatedDate",
            time_val(comment, &["lastContentUpdatedDate"]),
        ),
        (
            "repository",
            json!({"id": repo_id, "name": pr.map_or(Value::Null, |p| str_val(p, &["repository", "name"]))}),
        ),
        ("project", project.clone()),
        (
            "url",
            self_link.map_or(Value::Null, |s| Value::String(s.to_string())),
        ),
    ]);
    Ok(EventDraft {
        event_type: TYPE,
        identity: vec![
            pr_id.to_string(),
            thread_id.to_string(),
            comment_id.to_string(),
            updated.clone().or(published.clone()).unwrap_or_default(),
        ],
        subject: format!("pullrequests/{pr_id}/threads/{thread_id}/comments/{comment_id}"),
        time: ctx.time_of(&[updated, published]),
        project_id: project["id"].as_str().map(str::to_string),
        project_name: project["name"].as_str().map(str::to_string),
        partition_key: format!("pullrequests/{pr_id}"),
        sequence: None,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::envelope::Containers;

    #[test]
    fn comment_without_thread_link_is_too_thin() {
        let containers = Containers::default();
        let ctx = ResourceContext {
            resource_version: Some("2.0"),
            containers: &containers,
            created_date: None,
        };
        let r = json!({"comment": {"id": 1}, "pullRequest": {"pullRequestId": 5, "repository": {"id": "r"}}});
        assert!(matches!(
            draft(&r, &ctx),
            Err(NotNormalized::TooThin { .. })
        ));
        let r = json!({"comment": {"id": 1, "_links": {"threads": {"href": "https://x/_apis/git/repositories/r/pullRequests/5/threads/9"}}}});
        let d = draft(&r, &ctx).unwrap();
        assert_eq!(
            d.identity[..3],
            ["5".to_string(), "9".to_string(), "1".to_string()]
        );
        assert_eq!(d.data["repository"]["id"], "r");
    }
}
