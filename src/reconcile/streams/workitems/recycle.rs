//! Deletions and restores: neither creates a revision, so the reporting API does not show them.
//! Each project's recycle bin is compared with the last look (kept in the cursor): an item that
//! appeared was deleted (`recyclebin/{id}` gives its rev, fields and `deletedDate`); an item that
//! left and still exists was restored (at the rev it was deleted with); an item still in the bin
//! whose rev grew was restored, edited and deleted again. A delete and restore both between two
//! looks leaves no trace in REST (only a failed notification can replay it).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};

use super::super::super::ReconcileError;
use super::super::super::ctx::{Ctx, seg, values};
use super::super::super::walk::{Mode, Walk};
use super::{Cursor, RevisionCache, requested_fields};
use crate::normalize::NormalizedEvent;
use crate::normalize::extract::as_int;

pub(super) async fn walk(
    w: &mut Walk<'_>,
    cache: &RevisionCache,
    cursor: &mut Cursor,
    touched: &HashSet<i64>,
) -> Result<(), ReconcileError> {
    let projects = w.ctx.projects.clone();
    for project in projects {
        if w.cancel.is_cancelled() {
            return Err(ReconcileError::Cancelled);
        }
        let path = format!("{}/_apis/wit/recyclebin", seg(&project.id));
        let resp = w.ctx.get(&path).await?;
        let binned: BTreeSet<i64> = values(&resp)
            .iter()
            .filter_map(|v| v.get("id").and_then(as_int))
            .collect();
        // A backfill has no earlier look: it reports deletions within its window only.
        let previous = match w.mode {
            Mode::Periodic => cursor.bin.get(&project.id).cloned(),
            Mode::Window { .. } => None,
        };
        let mut next: BTreeMap<i64, i64> = BTreeMap::new();
        let mut fetch: Vec<(i64, Option<i64>)> = Vec::new();
        for id in &binned {
            match previous.as_ref().and_then(|p| p.get(id)) {
                Some(rev) if !touched.contains(id) => {
                    next.insert(*id, *rev);
                }
                old => fetch.push((*id, old.copied())),
            }
        }
        let details = deleted_items(w.ctx, &project.id, &fetch).await?;
        let mut events = Vec::new();
        let mut restored: Vec<(i64, i64)> = Vec::new();
        for (id, old_rev, detail) in details {
            let Some(item) = detail.get("resource").filter(|r| r.is_object()) else {
                continue;
            };
            let Some(rev) = item.get("rev").and_then(as_int) else {
                continue;
            };
            next.insert(id, rev);
            if old_rev == Some(rev) {
                continue;
            }
            if let Some(old) = old_rev {
                restored.push((id, old));
            }
            let deleted_at = detail.get("deletedDate").and_then(Value::as_str);
            let at = super::super::time_of(&detail, "deletedDate");
            if at.is_none_or(|t| w.mode.contains(t)) {
                let fields = item.get("fields").cloned().unwrap_or(Value::Null);
                let resource = json!({"id": id, "rev": rev, "fields": fields});
                events.extend(w.ctx.normalize(
                    "workitem.deleted",
                    "1.0",
                    &resource,
                    Some(&project.id),
                    deleted_at,
                ));
            }
        }
        if let Some(prev) = &previous {
            restored.extend(
                prev.iter()
                    .filter(|(id, _)| !binned.contains(id))
                    .map(|(id, rev)| (*id, *rev)),
            );
        }
        events.extend(restore_events(w.ctx, cache, &project.id, &restored).await?);
        cursor.bin.insert(project.id.clone(), next);
        w.commit(events, binned.len() as u64, &*cursor).await?;
    }
    Ok(())
}

/// `recyclebin/{id}` of each item, concurrently.
async fn deleted_items(
    ctx: &Ctx,
    project: &str,
    items: &[(i64, Option<i64>)],
) -> Result<Vec<(i64, Option<i64>, Value)>, ReconcileError> {
    futures::stream::iter(items.iter().copied())
        .map(|(id, old)| async move {
            let path = format!("{}/_apis/wit/recyclebin/{id}", seg(project));
            match ctx.client.get(&path).await {
                Ok(resp) => Ok(Some((id, old, resp.body))),
                // Destroyed (or restored) since the list was read.
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(ReconcileError::from(e)),
            }
        })
        .buffered(ctx.concurrency)
        .try_filter_map(|x| async move { Ok(x) })
        .try_collect()
        .await
}

/// `workitem.restored` for items that left the bin and still exist (one batch call per 200).
async fn restore_events(
    ctx: &Ctx,
    cache: &RevisionCache,
    project: &str,
    items: &[(i64, i64)],
) -> Result<Vec<NormalizedEvent>, ReconcileError> {
    let mut events = Vec::new();
    for chunk in items.chunks(200) {
        let ids: Vec<i64> = chunk.iter().map(|(id, _)| *id).collect();
        let body = json!({"ids": ids, "fields": requested_fields(), "errorPolicy": "omit"});
        let resp = ctx.post("_apis/wit/workitemsbatch", &body).await?;
        for live in values(&resp).iter().filter(|v| v.is_object()) {
            let Some(id) = live.get("id").and_then(as_int) else {
                continue;
            };
            let Some((_, rev)) = chunk.iter().find(|(i, _)| *i == id) else {
                continue;
            };
            // The item as restored: its revision `rev` (restoring adds no revision). The live item
            // is that revision unless it was edited since; then the cached row, if any.
            let fields = if live.get("rev").and_then(as_int) == Some(*rev) {
                live.get("fields").cloned()
            } else {
                cache
                    .latest(id)
                    .filter(|r| r.get("rev").and_then(as_int) == Some(*rev))
                    .and_then(|r| r.get("fields").cloned())
                    .or_else(|| live.get("fields").cloned())
            };
            let resource = json!({"id": id, "rev": rev, "fields": fields.unwrap_or(Value::Null)});
            events.extend(ctx.normalize(
                "workitem.restored",
                "1.0",
                &resource,
                Some(project),
                None,
            ));
        }
    }
    Ok(events)
}
