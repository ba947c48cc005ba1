//! Deletions and restores: neither creates a revision, so the reporting API does not show them.
//! Each project's recycle bin is listed before the revisions are read and compared with the last
//! look (kept in the cursor) after: an item that appeared was deleted (`recyclebin?ids=` gives
//! `deletedDate` for 200 at a time; its rev and fields are the last revision the walk saw, since
//! a deleted item cannot change — `recyclebin/{id}` only for items the walk did not see); an item
//! that left and still exists was restored (at the rev it was deleted with); an item still in the
//! bin whose rev grew was restored, edited and deleted again. A delete and restore both between
//! two looks leaves no trace in REST (only a failed notification can replay it).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};

use super::super::super::ReconcileError;
use super::super::super::ctx::{Ctx, refused_status, seg, values};
use super::super::super::walk::{Mode, Walk};
use super::{Binned, Cursor, RevisionCache};
use crate::normalize::NormalizedEvent;
use crate::normalize::extract::as_int;

/// Each project's recycle bin as it is before the revisions are read.
pub(super) struct Look {
    project: String,
    binned: BTreeSet<i64>,
}

/// Projects whose bin cannot be read (403 for an identity without the permission, 404 on a Server
/// without the API) get no look: their deletions and restores are reported as a gap, and the
/// revisions of every project are still reconciled.
pub(super) async fn look(ctx: &Ctx) -> Result<Vec<Look>, ReconcileError> {
    let mut looks = Vec::new();
    for project in &ctx.projects {
        let path = format!("{}/_apis/wit/recyclebin", seg(&project.id));
        let resp = match ctx.get(&path).await {
            Ok(resp) => resp,
            Err(e) => match refused_status(&e) {
                Some(status) => {
                    ctx.note_gap(
                        "workitems",
                        "wit/recyclebin",
                        status,
                        "deletions and restores are not recovered",
                    );
                    continue;
                }
                None => return Err(e),
            },
        };
        let binned = values(&resp)
            .iter()
            .filter_map(|v| v.get("id").and_then(as_int))
            .collect();
        looks.push(Look {
            project: project.id.clone(),
            binned,
        });
    }
    Ok(looks)
}

pub(super) async fn walk(
    w: &mut Walk<'_>,
    cursor: &mut Cursor,
    touched: &HashSet<i64>,
    looks: Vec<Look>,
    cache: &RevisionCache,
) -> Result<(), ReconcileError> {
    for Look { project, binned } in looks {
        if w.cancel.is_cancelled() {
            return Err(ReconcileError::Cancelled);
        }
        // A backfill has no earlier look: it reports deletions within its window only.
        let previous = match w.mode {
            Mode::Periodic => cursor.bin.get(&project).cloned(),
            Mode::Window { .. } => None,
        };
        let mut next: BTreeMap<i64, Binned> = BTreeMap::new();
        let mut fetch: Vec<(i64, Option<Binned>)> = Vec::new();
        for id in &binned {
            match previous.as_ref().and_then(|p| p.get(id)) {
                Some(b) if !touched.contains(id) => {
                    next.insert(*id, b.clone());
                }
                old => fetch.push((*id, old.cloned())),
            }
        }
        let details = deleted_items(w.ctx, &project, &fetch, cache).await?;
        let mut events = Vec::new();
        let mut restored: Vec<(i64, Binned)> = Vec::new();
        for (id, old, detail) in details {
            let Some(item) = detail.get("resource").filter(|r| r.is_object()) else {
                continue;
            };
            let Some(rev) = item.get("rev").and_then(as_int) else {
                continue;
            };
            let fields = item.get("fields").cloned().unwrap_or(Value::Null);
            next.insert(
                id,
                Binned {
                    rev,
                    fields: fields.clone(),
                },
            );
            match old {
                Some(o) if o.rev == rev => continue,
                Some(o) => restored.push((id, o)),
                None => {}
            }
            let deleted_at = detail.get("deletedDate").and_then(Value::as_str);
            let at = super::super::time_of(&detail, "deletedDate");
            if at.is_none_or(|t| w.mode.contains(t)) {
                let resource = json!({"id": id, "rev": rev, "fields": fields});
                events.extend(w.ctx.normalize(
                    "workitem.deleted",
                    "1.0",
                    &resource,
                    Some(&project),
                    deleted_at,
                ));
            }
        }
        if let Some(prev) = &previous {
            restored.extend(
                prev.iter()
                    .filter(|(id, _)| !binned.contains(id))
                    .map(|(id, b)| (*id, b.clone())),
            );
        }
        events.extend(restore_events(w.ctx, &project, &restored).await?);
        cursor.bin.insert(project.clone(), next);
        w.commit(events, binned.len() as u64, &*cursor).await?;
    }
    Ok(())
}

/// Each deleted item as `recyclebin/{id}` gives it (`deletedDate` and the item as `resource`):
/// the date from `recyclebin?ids=` (200 at a time) and the item from the last revision the walk
/// saw when that is older than the deletion, else (not seen, or changed since the bin was
/// listed) from `recyclebin/{id}`. Items no longer in the bin are left out.
async fn deleted_items(
    ctx: &Ctx,
    project: &str,
    items: &[(i64, Option<Binned>)],
    cache: &RevisionCache,
) -> Result<Vec<(i64, Option<Binned>, Value)>, ReconcileError> {
    let mut found = Vec::new();
    let mut unseen = Vec::new();
    for chunk in items.chunks(200) {
        let ids: Vec<String> = chunk.iter().map(|(id, _)| id.to_string()).collect();
        let path = format!(
            "{}/_apis/wit/recyclebin?ids={}",
            seg(project),
            ids.join(",")
        );
        let resp = ctx.get(&path).await?;
        let refs: std::collections::HashMap<i64, &Value> = values(&resp)
            .iter()
            .filter(|r| r.get("code").and_then(as_int).is_none_or(|c| c == 200))
            .filter_map(|r| Some((r.get("id").and_then(as_int)?, r)))
            .collect();
        for (id, old) in chunk {
            let Some(reference) = refs.get(id) else {
                continue;
            };
            let deleted = super::super::time_of(reference, "deletedDate");
            let row = cache.latest(*id).filter(|row| {
                let changed = super::super::time_of(&row["fields"], "System.ChangedDate");
                matches!((changed, deleted), (Some(c), Some(d)) if c <= d)
            });
            match row {
                Some(row) => {
                    let mut detail = (*reference).clone();
                    detail["resource"] = row;
                    found.push((*id, old.clone(), detail));
                }
                None => unseen.push((*id, old.clone())),
            }
        }
    }
    let fetched: Vec<(i64, Option<Binned>, Value)> = futures::stream::iter(unseen)
        .map(|(id, old)| async move {
            let path = format!("{}/_apis/wit/recyclebin/{id}", seg(project));
            match ctx.get_raw(&path).await {
                Ok(resp) => Ok(Some((id, old, resp.body))),
                // Destroyed (or restored) since the list was read.
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(ReconcileError::from(e)),
            }
        })
        .buffered(ctx.concurrency)
        .try_filter_map(|x| async move { Ok(x) })
        .try_collect()
        .await?;
    found.extend(fetched);
    Ok(found)
}

/// `workitem.restored` for items that left the bin and still exist (one batch call per 200 to
/// tell restored from destroyed). The item comes back as it was deleted (same rev and fields).
async fn restore_events(
    ctx: &Ctx,
    project: &str,
    items: &[(i64, Binned)],
) -> Result<Vec<NormalizedEvent>, ReconcileError> {
    let mut events = Vec::new();
    for chunk in items.chunks(200) {
        let ids: Vec<i64> = chunk.iter().map(|(id, _)| *id).collect();
        let body = json!({"ids": ids, "fields": ["System.Id"], "errorPolicy": "omit"});
        let resp = ctx.post("_apis/wit/workitemsbatch", &body).await?;
        let live: Vec<i64> = values(&resp)
            .iter()
            .filter_map(|v| v.get("id").and_then(as_int))
            .collect();
        for (id, b) in chunk.iter().filter(|(id, _)| live.contains(id)) {
            let resource = json!({"id": id, "rev": b.rev, "fields": b.fields});
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
