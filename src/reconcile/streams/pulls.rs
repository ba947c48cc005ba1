//! Pull requests. Azure DevOps has no "updated since" query for PRs, and a PR has no revision:
//! each pass lists the active PRs per project and diffs them against the last look (kept in the
//! cursor); PRs that left the active list are read by id (their final state); PRs created and
//! closed between two looks are found by id (`status=all`, newest first, down to the highest id
//! seen). Comments come from each active (or just closed) PR's threads.
//!
//! What REST can and cannot reproduce (the hook identities are those of docs/contract.md#identities):
//! * `created` — always (identity = PR id); its data is the PR as first seen, which differs from
//!   the hook's when the PR changed before the reconciler saw it.
//! * `updated` — every state: the PR's system threads (votes, reviewers, draft, status) and
//!   iterations (pushes) are replayed from its creation (`history`), once per new change thread;
//!   the PR's current state too. Title and description edits leave no trace (an intermediate
//!   state carries the current title).
//! * `merge_attempted` — the last attempt, when the source commit or merge status changed since
//!   the last look; earlier attempts leave no trace (current versions write no `MergeAttempt`
//!   threads).
//! * `commented` — every comment (identity includes its last update time).

use std::collections::{BTreeMap, BTreeSet};

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::super::ReconcileError;
use super::super::ctx::{Ctx, Project, seg, values};
use super::super::walk::{Mode, Walk};
use crate::ado::Feature;
use crate::normalize::NormalizedEvent;
use crate::normalize::extract::{as_int, bool_at, str_at};
use crate::normalize::time::format_time;

mod history;
mod rest;
mod window;

use rest::{get_pr, list, thread_events};

#[derive(Debug, Default, Serialize, Deserialize)]
struct Cursor {
    /// Active PRs at the last look.
    #[serde(default)]
    active: BTreeMap<i64, PrState>,
    /// Per active PR, the newest change thread whose history was replayed.
    #[serde(default)]
    replayed: BTreeMap<i64, i64>,
    /// Highest PR id seen (ids grow across the collection).
    #[serde(default)]
    max_id: Option<i64>,
    /// Backfill only: phases done and the position in the current one.
    #[serde(default)]
    window: window::Position,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct PrState {
    project: String,
    repo: String,
    /// Sorted `reviewer=vote` pairs and the draft flag.
    review: String,
    /// `mergeStatus|lastMergeSourceCommit`.
    merge: String,
}

impl PrState {
    fn of(pr: &Value, project: &str) -> Option<Self> {
        let mut votes: Vec<String> = pr
            .get("reviewers")
            .and_then(Value::as_array)
            .map(|l| {
                l.iter()
                    .map(|r| {
                        format!(
                            "{}={}",
                            str_at(r, &["id"]).unwrap_or_default().to_ascii_lowercase(),
                            r.get("vote").and_then(as_int).unwrap_or(0)
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        votes.sort();
        Some(Self {
            project: project.to_string(),
            repo: str_at(pr, &["repository", "id"])?.to_string(),
            review: format!("{}|{}", votes.join(","), bool_at(pr, &["isDraft"])),
            merge: format!("{}|{}", merge_status(pr), source_commit(pr)),
        })
    }
}

fn merge_status(pr: &Value) -> &str {
    str_at(pr, &["mergeStatus"]).unwrap_or_default()
}

fn source_commit(pr: &Value) -> &str {
    str_at(pr, &["lastMergeSourceCommit", "commitId"]).unwrap_or_default()
}

/// A merge status that is the outcome of an attempt (not `queued` / `notSet`).
fn attempted(pr: &Value) -> bool {
    matches!(
        merge_status(pr),
        "succeeded" | "conflicts" | "failure" | "rejectedByPolicy"
    )
}

fn pr_id(pr: &Value) -> Option<i64> {
    pr.get("pullRequestId").and_then(as_int)
}

pub(crate) async fn walk(w: &mut Walk<'_>) -> Result<(), ReconcileError> {
    let mut cursor: Cursor = w.load_cursor().await?;
    if let Mode::Window { since, until } = w.mode {
        return window::walk(w, &mut cursor, since, until).await;
    }
    let projects = w.ctx.projects.clone();
    let mut listed: BTreeSet<i64> = BTreeSet::new();
    // The highest id advances only once the scan for PRs above it is durable (last phase).
    let max_before = cursor.max_id;
    let mut max_seen = cursor.max_id;
    for project in &projects {
        let active = list(w.ctx, project, "status=active", None).await?;
        let mut events = Vec::new();
        let mut threads_of = Vec::new();
        for pr in &active {
            let (Some(id), Some(state)) = (pr_id(pr), PrState::of(pr, &project.id)) else {
                continue;
            };
            listed.insert(id);
            max_seen = max_seen.max(Some(id));
            let emit = match cursor.active.get(&id) {
                None => vec!["git.pullrequest.created"],
                Some(old) => changes(old, &state, pr),
            };
            if !emit.is_empty() {
                let full = get_pr(w.ctx, project, id)
                    .await?
                    .unwrap_or_else(|| pr.clone());
                events.extend(pr_events(w.ctx, project, &full, &emit));
            }
            threads_of.push(pr.clone());
            cursor.active.insert(id, state);
        }
        let history = thread_events(
            w.ctx,
            w.stream,
            project,
            &threads_of,
            None,
            &mut cursor.replayed,
        )
        .await?;
        let events = history_first(history, events);
        w.commit(events, active.len() as u64, &cursor).await?;
    }
    // PRs that left the active list since the last look: read each for its final state.
    let gone: Vec<(i64, PrState)> = cursor
        .active
        .iter()
        .filter(|(id, s)| !listed.contains(id) && projects.iter().any(|p| p.id == s.project))
        .map(|(id, s)| (*id, s.clone()))
        .collect();
    for (id, old) in gone {
        let Some(project) = projects.iter().find(|p| p.id == old.project) else {
            continue;
        };
        let mut events = Vec::new();
        if let Some(pr) = get_pr(w.ctx, project, id).await? {
            let mut emit = PrState::of(&pr, &project.id)
                .map(|s| changes(&old, &s, &pr))
                .unwrap_or_default();
            emit.retain(|t| *t == "git.pullrequest.merge_attempted");
            if str_at(&pr, &["status"]) != Some("active") {
                emit.push("git.pullrequest.updated");
            }
            events.extend(pr_events(w.ctx, project, &pr, &emit));
            let history = thread_events(
                w.ctx,
                w.stream,
                project,
                std::slice::from_ref(&pr),
                None,
                &mut cursor.replayed,
            )
            .await?;
            events = history_first(history, events);
        }
        cursor.active.remove(&id);
        cursor.replayed.remove(&id);
        w.commit(events, 1, &cursor).await?;
    }
    // PRs created and closed between two looks (or, on the first pass, every closed PR).
    for project in &projects {
        let newer = |pr: &Value| pr_id(pr).is_some_and(|id| max_before.is_none_or(|m| id > m));
        let found = list(w.ctx, project, "status=all", Some(&newer)).await?;
        let mut events = Vec::new();
        let mut closed = Vec::new();
        for pr in found
            .iter()
            .filter(|p| str_at(p, &["status"]) != Some("active"))
        {
            let Some(id) = pr_id(pr) else { continue };
            max_seen = max_seen.max(Some(id));
            if listed.contains(&id) {
                continue;
            }
            let full = get_pr(w.ctx, project, id)
                .await?
                .unwrap_or_else(|| pr.clone());
            events.extend(pr_events(
                w.ctx,
                project,
                &full,
                &["git.pullrequest.created", "git.pullrequest.updated"],
            ));
            closed.push(full);
        }
        let history = thread_events(
            w.ctx,
            w.stream,
            project,
            &closed,
            None,
            &mut BTreeMap::new(),
        )
        .await?;
        let events = history_first(history, events);
        w.commit(events, found.len() as u64, &cursor).await?;
    }
    cursor.max_id = max_seen;
    w.commit(Vec::new(), 0, &cursor).await
}

/// What changed between two looks at an active PR, as the events REST can reproduce exactly.
fn changes(old: &PrState, new: &PrState, pr: &Value) -> Vec<&'static str> {
    let merge_changed = old.merge != new.merge;
    let mut out = Vec::new();
    if merge_changed && attempted(pr) {
        out.push("git.pullrequest.merge_attempted");
    }
    // The merge status is no part of an update's identity: a new source commit or new votes are.
    let source = |s: &PrState| s.merge.split('|').nth(1).unwrap_or_default().to_string();
    if old.review != new.review || source(old) != source(new) {
        out.push("git.pullrequest.updated");
    }
    out
}

/// The events a PR's history shows, then those of its current state it does not: the history's
/// closing update names the closer, which the PR itself does not.
fn history_first(
    history: Vec<NormalizedEvent>,
    current: Vec<NormalizedEvent>,
) -> Vec<NormalizedEvent> {
    let known: BTreeSet<String> = history.iter().map(|e| e.id.clone()).collect();
    let mut out = history;
    out.extend(current.into_iter().filter(|e| !known.contains(&e.id)));
    out
}

/// The events of one PR; updates and merge attempts are dated when they were observed.
fn pr_events(ctx: &Ctx, project: &Project, pr: &Value, types: &[&str]) -> Vec<NormalizedEvent> {
    let observed = format_time(&Utc::now());
    types
        .iter()
        .filter_map(|t| {
            let event_type = match *t {
                "git.pullrequest.merge_attempted" => "git.pullrequest.merged",
                other => other,
            };
            ctx.normalize(event_type, "1.0", pr, Some(&project.id), Some(&observed))
        })
        .collect()
}

/// Whether the server filters PR lists by time (`searchCriteria.minTime`, 7.1 / Server 2022.1).
fn time_filters(ctx: &Ctx) -> bool {
    ctx.api_version >= Feature::PullRequestTimeRange.min_version()
}
