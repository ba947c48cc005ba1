//! Pull requests and their comments in the hook and REST shapes.

use serde_json::{Map, Value, json};

use super::git::{RepoFlavor, commit_url, repo_url, repository, web_url};
use super::{href, identity, identity_basic, signature};
use crate::clock::{ts, ts_secs, ts_ticks};
use crate::model::git::{
    Iteration, PrComment, PrStatus, PrThread, PullRequest, Reviewer, SystemThread,
};
use crate::model::{Org, Repo};

/// Which API a pull request is rendered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrFlavor {
    /// `git.pullrequest.*` hooks and the comment event's `pullRequest`.
    Hook,
    /// `GET …/pullrequests/{id}`.
    Get,
    /// `GET …/pullrequests` list items.
    List,
}

pub fn pr_url(org: &Org, repo: &Repo, pr: &PullRequest) -> String {
    format!("{}/pullRequests/{}", repo_url(org, repo), pr.id)
}

fn commit_ref(org: &Org, repo: &Repo, id: &str) -> Value {
    json!({ "commitId": id, "url": commit_url(org, repo, id) })
}

fn reviewer(org: &Org, repo: &Repo, pr: &PullRequest, r: &Reviewer, flavor: PrFlavor) -> Value {
    let p = &org.people[r.person];
    let mut v = json!({
        "reviewerUrl": format!("{}/reviewers/{}", pr_url(org, repo, pr), p.id),
        "vote": r.vote,
    });
    let m = v.as_object_mut().expect("object literal");
    if flavor != PrFlavor::List {
        m.insert("hasDeclined".into(), json!(false));
        m.insert("isRequired".into(), json!(r.is_required));
        m.insert("isFlagged".into(), json!(false));
    }
    let ident = identity(org, p);
    for (k, val) in ident.as_object().into_iter().flatten() {
        if flavor == PrFlavor::List && (k == "_links" || k == "descriptor") {
            continue;
        }
        if k != "descriptor" {
            m.insert(k.clone(), val.clone());
        }
    }
    if flavor != PrFlavor::Get {
        m.insert("isContainer".into(), json!(false));
    }
    v
}

/// The pull request object.
pub fn pull_request(org: &Org, pr: &PullRequest, flavor: PrFlavor) -> Value {
    let repo = &org.repos[pr.repo];
    let project = &org.projects[repo.project];
    let url = pr_url(org, repo, pr);
    let repo_flavor = match flavor {
        PrFlavor::Hook => RepoFlavor::PullRequest,
        PrFlavor::Get => RepoFlavor::PrGet,
        PrFlavor::List => RepoFlavor::PrList,
    };
    let mut m = Map::new();
    m.insert("repository".into(), repository(org, repo, repo_flavor));
    m.insert("pullRequestId".into(), json!(pr.id));
    m.insert("codeReviewId".into(), json!(pr.id));
    m.insert("status".into(), json!(pr.status.as_str()));
    m.insert(
        "createdBy".into(),
        identity(org, &org.people[pr.created_by]),
    );
    m.insert("creationDate".into(), json!(ts_ticks(pr.creation_date)));
    if let Some(closed) = pr.closed_date {
        m.insert("closedDate".into(), json!(ts_ticks(closed)));
    }
    m.insert("title".into(), json!(pr.title));
    m.insert("description".into(), json!(pr.description));
    m.insert("sourceRefName".into(), json!(pr.source_ref));
    m.insert("targetRefName".into(), json!(pr.target_ref));
    m.insert("mergeStatus".into(), json!(pr.merge_status.as_str()));
    m.insert("isDraft".into(), json!(pr.is_draft));
    m.insert("mergeId".into(), json!(pr.merge_id));
    m.insert(
        "lastMergeSourceCommit".into(),
        commit_ref(org, repo, &pr.last_merge_source),
    );
    m.insert(
        "lastMergeTargetCommit".into(),
        commit_ref(org, repo, &pr.last_merge_target),
    );
    if let Some(c) = &pr.last_merge_commit {
        if flavor == PrFlavor::List {
            m.insert("lastMergeCommit".into(), commit_ref(org, repo, &c.id));
        } else {
            let who = &org.people[c.author];
            let date = ts_secs(c.date);
            m.insert(
                "lastMergeCommit".into(),
                json!({
                    "commitId": c.id,
                    "author": signature(who, &date),
                    "committer": signature(who, &date),
                    "comment": c.comment,
                    "url": commit_url(org, repo, &c.id),
                }),
            );
        }
    }
    if flavor == PrFlavor::Hook {
        let commits: Vec<Value> = pr
            .commits
            .iter()
            .rev()
            .map(|c| commit_ref(org, repo, c))
            .collect();
        m.insert("commits".into(), Value::Array(commits));
    }
    let reviewers: Vec<Value> = pr
        .reviewers
        .iter()
        .map(|r| reviewer(org, repo, pr, r, flavor))
        .collect();
    m.insert("reviewers".into(), Value::Array(reviewers));
    m.insert("url".into(), json!(url));
    let web = format!("{}/pullrequest/{}", web_url(org, repo), pr.id);
    match flavor {
        PrFlavor::Hook => {
            m.insert(
                "_links".into(),
                json!({"web": href(web), "statuses": href(format!("{url}/statuses"))}),
            );
        }
        PrFlavor::Get => {
            let refs = |r: &str| {
                href(format!(
                    "{}/refs/{}",
                    repo_url(org, repo),
                    r.trim_start_matches("refs/")
                ))
            };
            m.insert(
                "_links".into(),
                json!({
                    "self": href(url.clone()),
                    "repository": href(repo_url(org, repo)),
                    "workItems": href(format!("{url}/workitems")),
                    "sourceBranch": refs(&pr.source_ref),
                    "targetBranch": refs(&pr.target_ref),
                    "sourceCommit": href(commit_url(org, repo, &pr.last_merge_source)),
                    "targetCommit": href(commit_url(org, repo, &pr.last_merge_target)),
                    "createdBy": href(org.identity_url(&org.people[pr.created_by])),
                    "iterations": href(format!("{url}/iterations")),
                }),
            );
        }
        PrFlavor::List => {}
    }
    let completing = pr.completion_queue_time.is_some();
    if flavor == PrFlavor::Hook && completing {
        m.insert(
            "completionOptions".into(),
            json!({
                "deleteSourceBranch": pr.delete_source_branch,
                "squashMerge": pr.squash,
                "mergeStrategy": if pr.squash { "squash" } else { "noFastForward" },
                "triggeredByAutoComplete": false,
                "autoCompleteIgnoreConfigIds": [],
            }),
        );
    }
    m.insert("supportsIterations".into(), json!(true));
    if let Some(t) = pr.completion_queue_time
        && flavor != PrFlavor::Get
    {
        m.insert("completionQueueTime".into(), json!(ts_ticks(t)));
    }
    if flavor == PrFlavor::Hook
        && let Some(by) = pr.closed_by
    {
        m.insert("closedBy".into(), identity(org, &org.people[by]));
    }
    if flavor != PrFlavor::List {
        m.insert(
            "artifactId".into(),
            json!(format!(
                "vstfs:///Git/PullRequestId/{}%2f{}%2f{}",
                project.id, repo.id, pr.id
            )),
        );
    }
    Value::Object(m)
}

/// Whether a PR is closed (completed or abandoned).
pub fn is_closed(pr: &PullRequest) -> bool {
    pr.status != PrStatus::Active
}

fn comment_links(
    org: &Org,
    repo: &Repo,
    pr: &PullRequest,
    thread: &PrThread,
    c: &PrComment,
) -> Value {
    let thread_url = format!("{}/threads/{}", pr_url(org, repo, pr), thread.id);
    json!({
        "self": href(format!("{thread_url}/comments/{}", c.id)),
        "repository": href(repo_url(org, repo)),
        "threads": href(thread_url),
        "pullRequests": href(pr_url(org, repo, pr)),
    })
}

/// `ms.vss-code.git-pullrequest-comment-event` resource, resourceVersion 2.0: {comment, pullRequest}.
pub fn comment_event_v2(org: &Org, pr: &PullRequest, thread: &PrThread, c: &PrComment) -> Value {
    let repo = &org.repos[pr.repo];
    json!({
        "comment": {
            "id": c.id,
            "parentCommentId": c.parent_id,
            "author": identity(org, &org.people[c.author]),
            "content": c.content,
            "publishedDate": ts(c.published),
            "lastUpdatedDate": ts(c.updated),
            "lastContentUpdatedDate": ts(c.updated),
            "commentType": "text",
            "usersLiked": [],
            "_links": comment_links(org, repo, pr, thread, c),
        },
        "pullRequest": pull_request(org, pr, PrFlavor::Hook),
    })
}

/// Resource version 1.0: the comment alone; the pull request is reachable only through `_links`.
pub fn comment_event_v1(org: &Org, pr: &PullRequest, thread: &PrThread, c: &PrComment) -> Value {
    let repo = &org.repos[pr.repo];
    let mut links = comment_links(org, repo, pr, thread, c);
    if let Some(l) = links.as_object_mut() {
        l.remove("pullRequests");
    }
    json!({
        "id": c.id,
        "parentCommentId": c.parent_id,
        "author": identity_basic(org, &org.people[c.author]),
        "content": c.content,
        "publishedDate": ts(c.published),
        "lastUpdatedDate": ts(c.updated),
        "lastContentUpdatedDate": ts(c.updated),
        "commentType": "text",
        "_links": links,
    })
}

/// One thread of `GET …/pullRequests/{id}/threads` with its comments.
pub fn thread_rest(org: &Org, pr: &PullRequest, thread: &PrThread) -> Value {
    let repo = &org.repos[pr.repo];
    let thread_url = format!("{}/threads/{}", pr_url(org, repo, pr), thread.id);
    if let Some(system) = &thread.system {
        return system_thread_rest(org, repo, thread.id, system, &thread_url);
    }
    let comments: Vec<Value> = thread
        .comments
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "parentCommentId": c.parent_id,
                "author": identity(org, &org.people[c.author]),
                "content": c.content,
                "publishedDate": ts(c.published),
                "lastUpdatedDate": ts(c.updated),
                "lastContentUpdatedDate": ts(c.updated),
                "commentType": "text",
                "usersLiked": [],
                "_links": comment_links(org, repo, pr, thread, c),
            })
        })
        .collect();
    let first = thread.comments.first();
    let last = thread.comments.iter().map(|c| c.updated).max();
    json!({
        "id": thread.id,
        "publishedDate": first.map(|c| ts(c.published)),
        "lastUpdatedDate": last.map(ts),
        "comments": comments,
        "status": "active",
        "threadContext": null,
        "properties": {},
        "identities": null,
        "isDeleted": false,
        "_links": {
            "self": href(thread_url),
            "repository": href(repo_url(org, repo)),
        },
    })
}

/// A system thread as Services serves it: `properties` of `{"$type": "System.String", "$value"}`,
/// actor properties holding keys into `identities`, one system comment.
fn system_thread_rest(
    org: &Org,
    repo: &Repo,
    id: u64,
    t: &SystemThread,
    thread_url: &str,
) -> Value {
    let string = |v: &str| json!({ "$type": "System.String", "$value": v });
    let mut properties = Map::new();
    properties.insert("CodeReviewThreadType".into(), string(t.thread_type));
    for (k, v) in &t.properties {
        properties.insert((*k).to_string(), string(v));
    }
    let mut identities = Map::new();
    for (i, person) in std::iter::once(&t.actor).chain(&t.others).enumerate() {
        let p = &org.people[*person];
        identities.insert(
            (i + 1).to_string(),
            json!({ "displayName": p.display_name, "id": p.id, "uniqueName": p.unique_name }),
        );
    }
    let at = ts(t.published);
    json!({
        "id": id,
        "publishedDate": at,
        "lastUpdatedDate": at,
        "comments": [{
            "id": 1,
            "parentCommentId": 0,
            "author": identity(org, &org.people[t.actor]),
            "content": t.content,
            "publishedDate": at,
            "lastUpdatedDate": at,
            "lastContentUpdatedDate": at,
            "commentType": "system",
            "usersLiked": [],
        }],
        "status": "active",
        "threadContext": null,
        "properties": properties,
        "identities": identities,
        "isDeleted": false,
        "_links": {
            "self": href(thread_url.to_string()),
            "repository": href(repo_url(org, repo)),
        },
    })
}

/// One item of `GET …/pullRequests/{id}/iterations`.
pub fn iteration_rest(org: &Org, pr: &PullRequest, it: &Iteration) -> Value {
    let repo = &org.repos[pr.repo];
    let at = ts(it.created);
    json!({
        "id": it.id,
        "description": it.description,
        "author": identity(org, &org.people[it.author]),
        "createdDate": at,
        "updatedDate": at,
        "sourceRefCommit": { "commitId": it.source_commit },
        "targetRefCommit": { "commitId": it.target_commit },
        "commonRefCommit": { "commitId": it.target_commit },
        "hasMoreCommits": false,
        "reason": it.reason,
        "_links": {
            "self": href(format!("{}/iterations/{}", pr_url(org, repo, pr), it.id)),
        },
    })
}
