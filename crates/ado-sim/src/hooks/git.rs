//! git.push and the pull request events (created, updated, merge attempted, commented).

use serde_json::json;

use super::{NewEvent, branch_facts};
use crate::event::Message;
use crate::model::git::{PrComment, PrThread, PullRequest};
use crate::model::{Org, Push};
use crate::render::git::{push_hook, web_url};
use crate::render::pr::{PrFlavor, comment_event_v1, comment_event_v2, pull_request};

pub fn push(org: &Org, repo_idx: usize, push: &Push) -> NewEvent {
    let repo = &org.repos[repo_idx];
    let project = &org.projects[repo.project];
    let who = &org.people[push.pusher];
    let branch = push
        .ref_updates
        .first()
        .map(|r| r.name.trim_start_matches("refs/heads/").to_string())
        .unwrap_or_default();
    let url = format!(
        "{}/commit/{}",
        web_url(org, repo),
        push.commits.first().map(|c| c.id.as_str()).unwrap_or("")
    );
    let message = Message::linked(
        &format!("{} pushed updates to ", who.display_name),
        &format!("{}:{branch}", repo.name),
        "",
        &url,
    );
    let detailed_lines: Vec<String> = push
        .commits
        .iter()
        .map(|c| format!("\n* {} {}", c.comment, &c.id[..8]))
        .collect();
    let detailed = Message {
        text: format!("{}{}", message.text, detailed_lines.concat()),
        html: format!(
            "{}{}",
            message.html,
            detailed_lines.concat().replace('\n', "<br/>")
        ),
        markdown: format!("{}{}", message.markdown, detailed_lines.concat()),
    };
    let summary = format!(
        "push {} to {}/{} ({} refs, {} commits)",
        push.push_id,
        repo.name,
        branch,
        push.ref_updates.len(),
        push.commits.len()
    );
    let mut ev = NewEvent::new("git.push", push_hook(org, repo, push), message, summary)
        .detailed(detailed)
        .project(repo.project, &project.id)
        .fact("repository", repo.id.clone())
        .fact("pushedBy", who.id.clone())
        .id_part("repositoryId", repo.id.clone())
        .id_part("pushId", push.push_id);
    for r in &push.ref_updates {
        ev = branch_facts(ev, &r.name);
    }
    ev
}

fn pr_base(
    org: &Org,
    pr: &PullRequest,
    event_type: &'static str,
    message: Message,
    summary: String,
) -> NewEvent {
    let repo = &org.repos[pr.repo];
    let project = &org.projects[repo.project];
    let mut ev = NewEvent::new(
        event_type,
        pull_request(org, pr, PrFlavor::Hook),
        message,
        summary,
    )
    .project(repo.project, &project.id)
    .fact("repository", repo.id.clone())
    .fact("pullrequestCreatedBy", org.people[pr.created_by].id.clone())
    .id_part("pullRequestId", pr.id);
    for r in &pr.reviewers {
        ev = ev.fact(
            "pullrequestReviewersContains",
            org.people[r.person].id.clone(),
        );
    }
    branch_facts(ev, &pr.target_ref)
}

fn pr_link(org: &Org, pr: &PullRequest) -> String {
    format!(
        "{}/pullrequest/{}",
        web_url(org, &org.repos[pr.repo]),
        pr.id
    )
}

pub fn pr_created(org: &Org, pr: &PullRequest) -> NewEvent {
    let who = &org.people[pr.created_by].display_name;
    let msg = Message::linked(
        &format!("{who} created "),
        &format!("pull request {}", pr.id),
        &format!(" ({})", pr.title),
        &pr_link(org, pr),
    );
    pr_base(
        org,
        pr,
        "git.pullrequest.created",
        msg,
        format!("PR {} created: {}", pr.id, pr.title),
    )
}

/// The state fingerprint a `git.pullrequest.updated` is identified by (docs/contract.md#identities).
fn reviewers_votes(org: &Org, pr: &PullRequest) -> String {
    let mut v: Vec<String> = pr
        .reviewers
        .iter()
        .map(|r| format!("{}:{}", org.people[r.person].id, r.vote))
        .collect();
    v.sort();
    v.join(",")
}

/// `notification_type` is the publisher filter value of the update (PushNotification,
/// ReviewersUpdateNotification, StatusUpdateNotification, ReviewerVoteNotification).
pub fn pr_updated(
    org: &Org,
    pr: &PullRequest,
    actor: usize,
    what: &str,
    notification_type: &str,
) -> NewEvent {
    let who = &org.people[actor].display_name;
    let msg = Message::linked(
        &format!("{who} {what} "),
        &format!("pull request {}", pr.id),
        &format!(" ({})", pr.title),
        &pr_link(org, pr),
    );
    pr_base(
        org,
        pr,
        "git.pullrequest.updated",
        msg,
        format!("PR {} {what}", pr.id),
    )
    .fact("notificationType", notification_type)
    .id_part("status", pr.status.as_str())
    .id_part("sourceCommit", pr.last_merge_source.clone())
    .id_part("reviewers", reviewers_votes(org, pr))
    .id_part("isDraft", pr.is_draft)
    .id_part("closedDate", pr.closed_date.map(crate::clock::ts_ticks))
}

pub fn pr_merge_attempted(org: &Org, pr: &PullRequest) -> NewEvent {
    let outcome = match pr.merge_status {
        crate::model::git::MergeStatus::Conflicts => ("Conflicts", "has merge conflicts in"),
        _ => ("Succeeded", "has created a merge commit for"),
    };
    let who = &org.people[pr.created_by].display_name;
    let msg = Message::linked(
        &format!("{who} {} ", outcome.1),
        &format!("pull request {}", pr.id),
        "",
        &pr_link(org, pr),
    );
    pr_base(
        org,
        pr,
        "git.pullrequest.merged",
        msg,
        format!("PR {} merge attempt: {}", pr.id, pr.merge_status.as_str()),
    )
    .fact("mergeResult", outcome.0)
    .id_part("mergeStatus", pr.merge_status.as_str())
    .id_part("sourceCommit", pr.last_merge_source.clone())
}

pub fn pr_commented(org: &Org, pr: &PullRequest, thread: &PrThread, c: &PrComment) -> NewEvent {
    let who = &org.people[c.author].display_name;
    let msg = Message::linked(
        &format!("{who} has "),
        "commented",
        &format!(" on pull request {} ({})", pr.id, pr.title),
        &pr_link(org, pr),
    );
    let mut ev = pr_base(
        org,
        pr,
        "ms.vss-code.git-pullrequest-comment-event",
        msg,
        format!("PR {} comment {} in thread {}", pr.id, c.id, thread.id),
    )
    .fact("commentPattern", c.content.clone())
    .id_part("threadId", thread.id)
    .id_part("commentId", c.id)
    .id_part("lastUpdatedDate", crate::clock::ts(c.updated));
    ev.resources = vec![
        comment_event_v2(org, pr, thread, c),
        comment_event_v1(org, pr, thread, c),
    ];
    ev.identity.insert("pullRequestId".into(), json!(pr.id));
    ev
}
