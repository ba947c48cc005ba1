//! The pull-request REST calls: project lists (newest first, all pages), one PR by id, and what
//! a PR's threads and iterations show (comments, past states).

use std::collections::{BTreeMap, BTreeSet};

use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};

use super::super::super::ReconcileError;
use chrono::{DateTime, Utc};

use super::super::super::ctx::{Ctx, Project, refused_status, seg, values};
use super::{history, pr_id};
use crate::normalize::NormalizedEvent;
use crate::normalize::extract::str_at;

/// A project's PRs of a status filter, newest first, all pages; `until` stops at the first PR it
/// rejects.
pub(super) async fn list(
    ctx: &Ctx,
    project: &Project,
    status: &str,
    until: Option<&(dyn Fn(&Value) -> bool + Sync)>,
) -> Result<Vec<Value>, ReconcileError> {
    let top = ctx.config.page_size.max(1) as usize;
    let mut out: Vec<Value> = Vec::new();
    let mut skip = 0usize;
    loop {
        let path = format!(
            "{}/_apis/git/pullrequests?searchCriteria.{status}&$top={top}&$skip={skip}",
            seg(&project.id)
        );
        let resp = ctx.get(&path).await?;
        let page = values(&resp);
        skip += page.len();
        for pr in page {
            if until.is_some_and(|keep| !keep(pr)) {
                return Ok(dedup(out));
            }
            out.push(pr.clone());
        }
        if page.len() < top {
            return Ok(dedup(out));
        }
    }
}

/// Paging by `$skip` over a list that grows at the front can show a PR twice.
fn dedup(mut prs: Vec<Value>) -> Vec<Value> {
    let mut seen = BTreeSet::new();
    prs.retain(|p| pr_id(p).is_none_or(|id| seen.insert(id)));
    prs
}

/// `GET {project}/_apis/git/pullrequests/{id}` (`None` when it no longer exists).
pub(super) async fn get_pr(
    ctx: &Ctx,
    project: &Project,
    id: i64,
) -> Result<Option<Value>, ReconcileError> {
    let path = format!("{}/_apis/git/pullrequests/{id}", seg(&project.id));
    match ctx.get_raw(&path).await {
        Ok(r) => Ok(Some(r.body)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// What one call for a PR's threads (plus one for its iterations when they show changes)
/// reveals: `git.pullrequest.commented` for every comment and `git.pullrequest.updated` for every
/// past state ([`history`]); within `window` only, for a backfill. `replayed` holds, per PR, the
/// newest thread id whose history was already replayed: a PR without a newer change thread is
/// not replayed again (no iterations call); it is updated with what this call replayed.
pub(super) async fn thread_events(
    ctx: &Ctx,
    stream: &'static str,
    project: &Project,
    prs: &[Value],
    window: Option<(DateTime<Utc>, DateTime<Utc>)>,
    replayed: &mut BTreeMap<i64, i64>,
) -> Result<Vec<NormalizedEvent>, ReconcileError> {
    let known: &BTreeMap<i64, i64> = replayed;
    // Per PR: its events, and (PR id, newest change thread) when its history was replayed.
    type PerPr = (Vec<NormalizedEvent>, Option<(i64, i64)>);
    let per_pr: Vec<PerPr> = futures::stream::iter(prs.iter().cloned())
        .map(|pr| async move {
            let pr = &pr;
            let (Some(id), Some(repo)) = (pr_id(pr), str_at(pr, &["repository", "id"])) else {
                return Ok((Vec::new(), None));
            };
            let base = format!(
                "{}/_apis/git/repositories/{}/pullRequests/{id}",
                seg(&project.id),
                seg(repo)
            );
            let resp = match ctx.get_raw(&format!("{base}/threads")).await {
                Ok(r) => r,
                Err(e) if e.is_not_found() => return Ok((Vec::new(), None)),
                Err(e) => return Err(ReconcileError::from(e)),
            };
            let threads = values(&resp);
            let mut events = Vec::new();
            for thread in threads {
                // System threads (votes, pushes, status) are not comment events.
                let comments = thread.get("comments").and_then(Value::as_array);
                for c in comments.into_iter().flatten() {
                    if str_at(c, &["commentType"]).is_some_and(|t| t != "text") {
                        continue;
                    }
                    let resource = json!({"comment": c, "pullRequest": pr});
                    events.extend(ctx.normalize(
                        "ms.vss-code.git-pullrequest-comment-event",
                        "2.0",
                        &resource,
                        Some(&project.id),
                        None,
                    ));
                }
            }
            let newest = history::newest_change(threads);
            if newest.is_none_or(|n| known.get(&id).is_some_and(|k| *k >= n)) {
                return Ok((events, None));
            }
            let iterations = match ctx.get(&format!("{base}/iterations")).await {
                Ok(r) => r,
                Err(e) => match refused_status(&e) {
                    Some(status) => {
                        ctx.note_gap(
                            stream,
                            "git/pullrequests/iterations",
                            status,
                            "intermediate pull-request states are not recovered",
                        );
                        return Ok((events, None));
                    }
                    None => return Err(e),
                },
            };
            // The PR with its full reviewer entries (lists carry fewer fields).
            let full = get_pr(ctx, project, id)
                .await?
                .unwrap_or_else(|| pr.clone());
            for (at, state) in history::states(&full, threads, values(&iterations)) {
                let in_window = window.is_none_or(|(since, until)| {
                    chrono::DateTime::parse_from_rfc3339(&at).is_ok_and(|t| t >= since && t < until)
                });
                if in_window {
                    events.extend(ctx.normalize(
                        "git.pullrequest.updated",
                        "1.0",
                        &state,
                        Some(&project.id),
                        Some(&at),
                    ));
                }
            }
            Ok((events, newest.map(|n| (id, n))))
        })
        .buffered(ctx.concurrency)
        .try_collect()
        .await?;
    let mut out = Vec::new();
    for (events, done) in per_pr {
        out.extend(events);
        if let Some((id, newest)) = done {
            replayed.insert(id, newest);
        }
    }
    Ok(out)
}
