//! Git pushes, per repository: `pushes?searchCriteria.fromDate=…&includeRefUpdates=true` (newest
//! first, `$top`/`$skip`), then each push with its commits (`pushes/{id}?includeCommits=…`) — the
//! hook's GitPush shape. A push that only deletes refs has no commits, so it needs no second call.
//! The watermark per repository is the newest push date fully walked (server time, so clock skew
//! between ado-ingest and Azure DevOps does not matter); each pass re-reads `overlap` before it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::super::ReconcileError;
use super::super::ctx::{Ctx, seg, values};
use super::super::walk::{Mode, Walk};
use super::{query_time, time_of};
use crate::normalize::extract::{as_int, str_at};

/// Commits asked for with each push (Azure DevOps' own hook payloads carry them all).
const COMMITS_PER_PUSH: u32 = 1000;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Cursor {
    #[serde(default)]
    repos: BTreeMap<String, RepoPos>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct RepoPos {
    /// Newest push date covered by a complete walk.
    #[serde(default)]
    date: Option<DateTime<Utc>>,
    /// A walk in progress: the `$skip` reached and the newest date it saw.
    #[serde(default)]
    skip: Option<u64>,
    #[serde(default)]
    seen: Option<DateTime<Utc>>,
    /// Backfill only: this repository's window is done.
    #[serde(default)]
    done: bool,
}

/// `(repository id, project id)` of every repository in scope.
pub(crate) async fn repositories(ctx: &Ctx) -> Result<Vec<(String, String)>, ReconcileError> {
    let lists = if ctx.all_in_scope() {
        vec!["_apis/git/repositories".to_string()]
    } else {
        ctx.projects
            .iter()
            .map(|p| format!("{}/_apis/git/repositories", seg(&p.id)))
            .collect()
    };
    let mut out = Vec::new();
    for path in lists {
        let resp = ctx.get(&path).await?;
        for r in values(&resp) {
            let (Some(id), Some(project)) = (str_at(r, &["id"]), str_at(r, &["project", "id"]))
            else {
                continue;
            };
            if ctx.in_scope(project)
                && !r
                    .get("isDisabled")
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
            {
                out.push((id.to_string(), project.to_string()));
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

pub(crate) async fn walk(w: &mut Walk<'_>) -> Result<(), ReconcileError> {
    let mut cursor: Cursor = w.load_cursor().await?;
    for (repo, project) in repositories(w.ctx).await? {
        walk_repo(w, &mut cursor, &repo, &project).await?;
    }
    Ok(())
}

async fn walk_repo(
    w: &mut Walk<'_>,
    cursor: &mut Cursor,
    repo: &str,
    project: &str,
) -> Result<(), ReconcileError> {
    let mut pos = cursor.repos.get(repo).cloned().unwrap_or_default();
    if pos.done {
        return Ok(());
    }
    let overlap = chrono::Duration::from_std(w.ctx.config.overlap).unwrap_or_default();
    let (from, to) = match w.mode {
        Mode::Periodic => (pos.date.map(|d| d - overlap), None),
        Mode::Window { since, until } => (Some(since), Some(until)),
    };
    let top = w.ctx.config.page_size.max(1) as u64;
    let base = format!("{}/_apis/git/repositories/{}", seg(project), seg(repo));
    let mut skip = pos.skip.unwrap_or(0);
    loop {
        if w.cancel.is_cancelled() {
            return Err(ReconcileError::Cancelled);
        }
        let mut path =
            format!("{base}/pushes?searchCriteria.includeRefUpdates=true&$top={top}&$skip={skip}");
        if let Some(f) = from {
            path.push_str(&format!("&searchCriteria.fromDate={}", query_time(f)));
        }
        if let Some(t) = to {
            path.push_str(&format!("&searchCriteria.toDate={}", query_time(t)));
        }
        let resp = w.ctx.get(&path).await?;
        let page = values(&resp).to_vec();
        let details = push_details(w.ctx, &base, &page).await?;
        let mut events = Vec::with_capacity(details.len());
        for push in &details {
            pos.seen = pos.seen.max(time_of(push, "date"));
            if time_of(push, "date").is_none_or(|t| w.mode.contains(t)) {
                events.extend(
                    w.ctx
                        .normalize("git.push", "1.0", push, Some(project), None),
                );
            }
        }
        skip += page.len() as u64;
        let finished = (page.len() as u64) < top;
        if finished {
            pos.date = pos.date.max(pos.seen.take());
            pos.skip = None;
            pos.done = matches!(w.mode, Mode::Window { .. });
        } else {
            pos.skip = Some(skip);
        }
        cursor.repos.insert(repo.to_string(), pos.clone());
        w.commit(events, page.len() as u64, &*cursor).await?;
        if finished {
            return Ok(());
        }
    }
}

/// Each listed push as the hook's GitPush: with its commits (one call per push that created or
/// moved a ref) and the repository from the list.
async fn push_details(ctx: &Ctx, base: &str, page: &[Value]) -> Result<Vec<Value>, ReconcileError> {
    futures::stream::iter(page.iter().cloned())
        .map(|item| async move {
            let Some(id) = item.get("pushId").and_then(as_int) else {
                return Ok(None);
            };
            if !moves_a_ref(&item) {
                return Ok(Some(item));
            }
            let path = format!(
                "{base}/pushes/{id}?includeCommits={COMMITS_PER_PUSH}&includeRefUpdates=true"
            );
            let mut push = match ctx.get_raw(&path).await {
                Ok(resp) => resp.body,
                Err(e) if e.is_not_found() => return Ok(None),
                Err(e) => return Err(ReconcileError::from(e)),
            };
            if let (Some(p), Some(repo)) = (push.as_object_mut(), item.get("repository")) {
                p.entry("repository").or_insert_with(|| repo.clone());
            }
            Ok(Some(push))
        })
        .buffered(ctx.concurrency)
        .try_filter_map(|x| async move { Ok(x) })
        .try_collect()
        .await
}

/// Whether any ref update points at an object (a deletion-only push has no commits).
fn moves_a_ref(push: &Value) -> bool {
    match push.get("refUpdates").and_then(Value::as_array) {
        Some(list) => list
            .iter()
            .any(|r| str_at(r, &["newObjectId"]).is_some_and(|s| s.chars().any(|c| c != '0'))),
        None => true,
    }
}
