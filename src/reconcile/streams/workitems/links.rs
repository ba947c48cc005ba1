//! Link-only updates: adding or removing a relation is a work-item update without a new revision,
//! so the revisions report never shows it. The links report (`wit/reporting/workitemlinks`, its
//! continuation token kept in the cursor) names the items whose links changed; their
//! `workitems/{id}/updates` give the updates (with the update number the identity needs), and the
//! item as of that update's rev is rebuilt from the live item by undoing the later field changes.
//! A server without the links report (404) skips this step.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::super::super::ReconcileError;
use super::super::super::ctx::{Ctx, seg, values};
use super::super::super::walk::{Mode, Walk};
use super::super::{query_time, time_of};
use super::{Cursor, fetch_updates, requested_fields, with_revision};

/// Items whose update histories are held at once.
const CHUNK: usize = 128;
use crate::normalize::NormalizedEvent;
use crate::normalize::extract::{as_int, str_at};

pub(super) async fn walk(
    w: &mut Walk<'_>,
    cursor: &mut Cursor,
    scope: Option<String>,
) -> Result<(), ReconcileError> {
    let key = scope.clone().unwrap_or_default();
    let prefix = scope
        .as_deref()
        .map(|p| format!("{p}/"))
        .unwrap_or_default();
    loop {
        if w.cancel.is_cancelled() {
            return Err(ReconcileError::Cancelled);
        }
        let mut path = format!(
            "{prefix}_apis/wit/reporting/workitemlinks?$maxPageSize={}",
            w.ctx.config.page_size.max(1)
        );
        match (cursor.links.get(&key), w.mode) {
            (Some(t), _) => path.push_str(&format!("&continuationToken={}", seg(t))),
            (None, Mode::Window { since, .. }) => {
                path.push_str(&format!("&startDateTime={}", query_time(since)))
            }
            (None, Mode::Periodic) => {}
        }
        let resp = match w.ctx.get_raw(&path).await {
            Ok(r) => r,
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let rows = resp
            .body
            .get("values")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let last = resp
            .body
            .get("isLastBatch")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        // The earliest link change per item on this page: its link-only updates from then on
        // (plus the items still waiting to come back from the recycle bin).
        let mut changed: BTreeMap<i64, DateTime<Utc>> = std::mem::take(&mut cursor.links_pending);
        for r in &rows {
            if let (Some(id), Some(t)) = (
                r.get("sourceId").and_then(as_int),
                time_of(r, "changedDate"),
            ) {
                let e = changed.entry(id).or_insert(t);
                *e = (*e).min(t);
            }
        }
        let (events, deleted) = link_events(w.ctx, &changed).await?;
        cursor.links_pending = deleted;
        if let Some(t) = resp.body.get("continuationToken").and_then(Value::as_str) {
            cursor.links.insert(key.clone(), t.to_string());
        }
        w.commit(events, rows.len() as u64, &*cursor).await?;
        if last || rows.is_empty() {
            return Ok(());
        }
    }
}

/// The link-only updates of these items, and the items that could not be read (deleted).
async fn link_events(
    ctx: &Ctx,
    changed: &BTreeMap<i64, DateTime<Utc>>,
) -> Result<(Vec<NormalizedEvent>, BTreeMap<i64, DateTime<Utc>>), ReconcileError> {
    let ids: Vec<i64> = changed.keys().copied().collect();
    let live = live_items(ctx, &ids).await?;
    let (live_ids, gone): (Vec<i64>, Vec<i64>) =
        ids.into_iter().partition(|id| live.contains_key(id));
    let in_bin = in_recycle_bin(ctx, &gone).await?;
    let deleted = changed
        .iter()
        .filter(|(id, _)| in_bin.contains(id))
        .map(|(id, t)| (*id, *t))
        .collect();
    let mut events = Vec::new();
    // A few items at a time: an item's whole update history can be large.
    for chunk in live_ids.chunks(CHUNK) {
        let updates = fetch_updates(ctx, chunk).await?;
        for (id, list) in &updates {
            let (Some(item), Some(since)) = (live.get(id), changed.get(id)) else {
                continue;
            };
            let project = str_at(item, &["fields", "System.TeamProject"])
                .and_then(|n| ctx.project_by_name(n))
                .map(|p| p.id.clone());
            for u in list.iter().filter(|u| u.get("fields").is_none()) {
                if time_of(u, "revisedDate").is_some_and(|t| t < *since) {
                    continue;
                }
                let Some(rev) = u.get("rev").and_then(as_int) else {
                    continue;
                };
                let snapshot = item_at(item, list, rev);
                let resource = with_revision(u.clone(), &snapshot);
                events.extend(ctx.normalize(
                    "workitem.updated",
                    "1.0",
                    &resource,
                    project.as_deref(),
                    None,
                ));
            }
        }
    }
    Ok((events, deleted))
}

/// Which of these items are in their project's recycle bin (not destroyed for good).
async fn in_recycle_bin(ctx: &Ctx, ids: &[i64]) -> Result<Vec<i64>, ReconcileError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for p in &ctx.projects {
        let resp = ctx
            .get(&format!("{}/_apis/wit/recyclebin", seg(&p.id)))
            .await?;
        out.extend(
            values(&resp)
                .iter()
                .filter_map(|v| v.get("id").and_then(as_int))
                .filter(|id| ids.contains(id)),
        );
    }
    Ok(out)
}

/// The live items (200 per batch call); deleted ones are left out.
async fn live_items(ctx: &Ctx, ids: &[i64]) -> Result<HashMap<i64, Value>, ReconcileError> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(200) {
        let body = json!({"ids": chunk, "fields": requested_fields(), "errorPolicy": "omit"});
        let resp = ctx.post("_apis/wit/workitemsbatch", &body).await?;
        for item in values(&resp).iter().filter(|v| v.is_object()) {
            if let Some(id) = item.get("id").and_then(as_int) {
                out.insert(id, item.clone());
            }
        }
    }
    Ok(out)
}

/// The item as of `rev`: the live fields with every later field change undone.
fn item_at(live: &Value, updates: &[Value], rev: i64) -> Value {
    let mut fields: Map<String, Value> = live
        .get("fields")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut later: Vec<&Value> = updates
        .iter()
        .filter(|u| u.get("rev").and_then(as_int).is_some_and(|r| r > rev))
        .collect();
    later.sort_by_key(|u| std::cmp::Reverse(u.get("id").and_then(as_int).unwrap_or(0)));
    for u in later {
        for (name, change) in u
            .get("fields")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            match change.get("oldValue") {
                Some(old) => {
                    fields.insert(name.clone(), old.clone());
                }
                None => {
                    fields.remove(name);
                }
            }
        }
    }
    fields.insert("System.Rev".into(), json!(rev));
    json!({"id": live.get("id").cloned().unwrap_or(Value::Null), "rev": rev, "fields": fields})
}
