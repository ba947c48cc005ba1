//! The pull-request REST calls: project lists (newest first, all pages), one PR by id, and the
//! comments of PR threads as `git.pullrequest.commented` events.

use std::collections::BTreeSet;

use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};

use super::super::super::ReconcileError;
use super::super::super::ctx::{Ctx, Project, seg, values};
use super::pr_id;
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

/// `git.pullrequest.commented` for every comment of these PRs' threads (one call per PR).
pub(super) async fn comment_events(
    ctx: &Ctx,
    project: &Project,
    prs: &[Value],
) -> Result<Vec<NormalizedEvent>, ReconcileError> {
    let per_pr: Vec<Vec<NormalizedEvent>> = futures::stream::iter(prs.iter().cloned())
        .map(|pr| async move {
            let pr = &pr;
            let (Some(id), Some(repo)) = (pr_id(pr), str_at(pr, &["repository", "id"])) else {
                return Ok(Vec::new());
            };
            let path = format!(
                "{}/_apis/git/repositories/{}/pullRequests/{id}/threads",
                seg(&project.id),
                seg(repo)
            );
            let resp = match ctx.get_raw(&path).await {
                Ok(r) => r,
                Err(e) if e.is_not_found() => return Ok(Vec::new()),
                Err(e) => return Err(ReconcileError::from(e)),
            };
            let mut events = Vec::new();
            for thread in values(&resp) {
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
            Ok(events)
        })
        .buffered(ctx.concurrency)
        .try_collect()
        .await?;
    Ok(per_pr.into_iter().flatten().collect())
}
