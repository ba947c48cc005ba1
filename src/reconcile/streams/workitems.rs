//! Work items. Reporting work-item revisions (`wit/reporting/workitemrevisions`, its continuation
//! token stored as the watermark) give every `(id, rev)`: rev 1 is `workitem.created`, every other
//! rev a `workitem.updated` (diffed against the previous revision, or — when that revision was not
//! seen by this process — taken from `workitems/{id}/updates`), and a revision carrying
//! `System.History` also a `workitem.commented`. Link-only updates and deletions/restores change no
//! revision: the links report is read in step with the revisions (see `links`), and each
//! project's recycle bin is diffed against the last look (see `recycle`).

use std::collections::{BTreeMap, HashMap, HashSet};

use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::super::ReconcileError;
use super::super::ctx::{Ctx, ReadAhead, refused_status, seg, values};
use super::super::walk::{Mode, Walk};
use super::query_time;
use crate::normalize::NormalizedEvent;
use crate::normalize::extract::{as_int, str_at};
use crate::normalize::rest_shapes::workitem_update_from_revisions;
use crate::normalize::workitem::TRACKED_FIELDS;

mod cache;
mod links;
mod recycle;

use links::LinkFeed;

pub(crate) use cache::RevisionCache;

/// `{id, rev, fields}` — built by hand: `json!` would copy `fields` by serializing it, which is
/// most of the cost per revision.
pub(crate) fn item_of(id: i64, rev: i64, fields: Value) -> Value {
    let mut item = serde_json::Map::new();
    item.insert("id".into(), Value::from(id));
    item.insert("rev".into(), Value::from(rev));
    item.insert("fields".into(), fields);
    Value::Object(item)
}

/// Fields read besides the tracked ones: identity, the snapshot published with every event, and
/// what tells comments apart.
const EXTRA_FIELDS: &[&str] = &[
    "System.Id",
    "System.Rev",
    "System.CreatedDate",
    "System.CreatedBy",
    "System.ChangedDate",
    "System.ChangedBy",
    "System.History",
    "System.CommentCount",
    "System.IsDeleted",
];

pub(crate) fn requested_fields() -> Vec<&'static str> {
    let mut f: Vec<&'static str> = EXTRA_FIELDS.to_vec();
    for t in TRACKED_FIELDS {
        if !f.contains(t) {
            f.push(t);
        }
    }
    f
}

/// Where the stream is: one reporting token per scope ("" = the whole collection, else a project
/// id) and each project's recycle bin at the last look.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Cursor {
    #[serde(default)]
    pub tokens: BTreeMap<String, String>,
    /// Links-report token per scope.
    #[serde(default)]
    pub links: BTreeMap<String, String>,
    /// Items whose links changed while they were in the recycle bin (their updates cannot be
    /// read then): id → earliest such change, retried every pass until the item is back or gone.
    #[serde(default)]
    pub links_pending: BTreeMap<i64, chrono::DateTime<chrono::Utc>>,
    /// Project id → (work item id → the item as deleted: restoring brings back exactly that).
    #[serde(default)]
    pub bin: BTreeMap<String, BTreeMap<i64, Binned>>,
}

/// A work item in the recycle bin at the last look.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Binned {
    pub rev: i64,
    #[serde(default)]
    pub fields: Value,
}

pub(crate) async fn walk(w: &mut Walk<'_>, cache: &RevisionCache) -> Result<(), ReconcileError> {
    let mut cursor: Cursor = w.load_cursor().await?;
    let scopes: Vec<Option<String>> = if w.ctx.all_in_scope() {
        vec![None]
    } else {
        w.ctx.projects.iter().map(|p| Some(p.id.clone())).collect()
    };
    // Items whose newer revisions were seen this walk (a binned item edited since its deletion
    // was restored and deleted again).
    let mut touched: HashSet<i64> = HashSet::new();
    // The bins are listed first: an item deleted by then has no revision the walk cannot see.
    let looks = recycle::look(w.ctx).await?;
    for scope in scopes {
        revisions(w, cache, &mut cursor, scope, &mut touched).await?;
    }
    recycle::walk(w, &mut cursor, &touched, looks, cache).await
}

/// Follows the reporting API from the scope's token (or the window start) to the last batch,
/// with the links report read alongside (link changes are placed on the revisions around them).
async fn revisions(
    w: &mut Walk<'_>,
    cache: &RevisionCache,
    cursor: &mut Cursor,
    scope: Option<String>,
    touched: &mut HashSet<i64>,
) -> Result<(), ReconcileError> {
    let key = scope.clone().unwrap_or_default();
    let prefix = scope
        .as_deref()
        .map(|p| format!("{p}/"))
        .unwrap_or_default();
    let body = json!({
        "fields": requested_fields(),
        "includeIdentityRef": false,
        "includeDeleted": true,
        "includeLatestOnly": false,
    });
    let mut feed = LinkFeed::new(scope.as_deref(), cursor.links.get(&key).cloned(), w.mode);
    // Link changes read after the last revisions read may belong to revisions made since: the
    // revisions are read once more then (a few times at most while activity goes on).
    let mut rounds = 0;
    let (mode, page_size) = (w.mode, w.ctx.config.page_size.max(1));
    let page_path = |token: Option<&String>| {
        let mut path =
            format!("{prefix}_apis/wit/reporting/workitemrevisions?$maxPageSize={page_size}");
        match (token, mode) {
            (Some(t), _) => path.push_str(&format!("&continuationToken={}", seg(t))),
            (None, Mode::Window { since, .. }) => {
                path.push_str(&format!("&startDateTime={}", query_time(since)))
            }
            (None, Mode::Periodic) => {}
        }
        path
    };
    // The next page is requested as soon as its token is known, so it travels while this one
    // is normalized and committed.
    let mut ahead: Option<(String, ReadAhead)> = None;
    loop {
        if w.cancel.is_cancelled() {
            return Err(ReconcileError::Cancelled);
        }
        let path = page_path(cursor.tokens.get(&key));
        let resp = match ahead.take() {
            Some((p, request)) if p == path => request.response().await?,
            _ => w.ctx.post(&path, &body).await?,
        };
        let rows = resp
            .body
            .get("values")
            .and_then(Value::as_array)
            .ok_or_else(|| w.ctx.unexpected(&path, "no `values` array"))?;
        let last = resp
            .body
            .get("isLastBatch")
            .and_then(Value::as_bool)
            .unwrap_or(rows.is_empty());
        let token = resp
            .body
            .get("continuationToken")
            .and_then(Value::as_str)
            .map(str::to_string);
        let end = last || token.is_none() || rows.is_empty();
        if let (false, Some(t)) = (end, &token) {
            let next = page_path(Some(t));
            ahead = Some((next.clone(), w.ctx.post_ahead(next, body.clone())));
        }
        let newest = rows
            .iter()
            .filter_map(|r| super::time_of(&r["fields"], "System.ChangedDate"))
            .max();
        let links_read = if end {
            feed.read_until(w.ctx, None).await?
        } else {
            feed.read_until(w.ctx, newest.or(Some(chrono::Utc::now())))
                .await?
        };
        let (mut events, beyond) =
            page_events(w.ctx, cache, rows, w.mode, touched, &mut feed).await?;
        if let Some(t) = &token {
            cursor.tokens.insert(key.clone(), t.clone());
        }
        // A window ends when the rows have passed `until` (they come in change order).
        let done = beyond || (end && (links_read == 0 || rounds >= 3));
        if done {
            let waiting = std::mem::take(&mut cursor.links_pending);
            let end = feed.finish(w.ctx, cache, w.mode, waiting).await?;
            events.extend(end.events);
            cursor.links_pending = end.deleted;
            if let Some(t) = end.token {
                cursor.links.insert(key.clone(), t);
            }
            return w.commit(events, rows.len() as u64, &*cursor).await;
        }
        if end {
            rounds += 1;
        }
        if let Some(t) = feed.committed() {
            cursor.links.insert(key.clone(), t);
        }
        w.commit(events, rows.len() as u64, &*cursor).await?;
    }
}

/// The events of one page of revision rows, in order. Returns whether the page reached past the
/// end of a backfill window.
async fn page_events(
    ctx: &Ctx,
    cache: &RevisionCache,
    rows: &[Value],
    mode: Mode,
    touched: &mut HashSet<i64>,
    feed: &mut LinkFeed,
) -> Result<(Vec<NormalizedEvent>, bool), ReconcileError> {
    // Previous revisions this process never saw: one `updates` call per such item.
    let mut in_page: HashSet<(i64, i64)> = HashSet::new();
    let mut missing: Vec<i64> = Vec::new();
    for row in rows {
        let (Some(id), Some(rev)) = (id_rev(row).0, id_rev(row).1) else {
            continue;
        };
        if rev > 1 && !in_page.contains(&(id, rev - 1)) && !cache.has(id, rev - 1) {
            missing.push(id);
        }
        in_page.insert((id, rev));
    }
    missing.sort_unstable();
    missing.dedup();
    // In a window, the revision before an item's first one is the item as of the window start:
    // 200 items per call instead of one history each.
    if let (Mode::Window { since, .. }, false) = (mode, missing.is_empty()) {
        let first_rev: HashMap<i64, i64> = rows
            .iter()
            .filter_map(|r| Some((id_rev(r).0?, id_rev(r).1?)))
            .fold(HashMap::new(), |mut m, (id, rev)| {
                m.entry(id).or_insert(rev);
                m
            });
        let before = since - chrono::Duration::milliseconds(1);
        let mut readable = HashSet::new();
        for item in items_batch(ctx, &missing, Some(before)).await? {
            if let (Some(id), Some(rev)) = id_rev(&item) {
                readable.insert(id);
                if first_rev.get(&id) == Some(&(rev + 1)) {
                    cache.put(id, &item);
                }
            }
        }
        // Left for `updates`: items readable but not at the expected rev (a revision within the
        // last millisecond before the window). The unreadable ones (deleted) have no history
        // to read either.
        missing.retain(|id| {
            readable.contains(id) && first_rev.get(id).is_none_or(|rev| !cache.has(*id, rev - 1))
        });
    }
    // Only what this page needs of those histories: the field updates of its revisions and
    // the link-only updates.
    let mut updates = fetch_updates(ctx, &missing).await?;
    for (id, list) in updates.iter_mut() {
        list.retain(|u| {
            u.get("fields").is_none()
                || u.get("rev")
                    .and_then(as_int)
                    .is_some_and(|r| in_page.contains(&(*id, r)))
        });
    }
    let mut events = Vec::with_capacity(rows.len());
    let mut beyond = !rows.is_empty();
    let mut page_rows: HashMap<(i64, i64), Value> = HashMap::new();
    for row in rows {
        let (Some(id), Some(rev)) = id_rev(row) else {
            continue;
        };
        let fields = row.get("fields").cloned().unwrap_or(Value::Null);
        let changed = super::time_of(&fields, "System.ChangedDate");
        let in_window = changed.is_none_or(|t| mode.contains(t));
        beyond &= mode
            .until()
            .is_some_and(|u| changed.is_some_and(|t| t >= u));
        touched.insert(id);
        // Link changes made before this revision belong to the one before it.
        if let Some(t) = changed {
            for change in feed.take_before(id, t) {
                let previous = (rev > 1).then(|| cache.get(id, rev - 1)).flatten();
                feed.place(ctx, id, change, previous, &mut events);
            }
        }
        let project = str_at(&fields, &["System.TeamProject"])
            .and_then(|n| ctx.project_by_name(n))
            .map(|p| p.id.clone());
        let project = project.as_deref();
        let item = item_of(id, rev, fields);
        // The previous revision is read before this one replaces it in the cache.
        let previous = (in_window && rev > 1)
            .then(|| cache.get(id, rev - 1))
            .flatten();
        let commented = (in_window && str_at(&item, &["fields", "System.History"]).is_some())
            .then(|| ctx.normalize("workitem.commented", "1.0", &item, project, None))
            .flatten();
        if updates.contains_key(&id) {
            page_rows.insert((id, rev), item.clone());
        }
        cache.put(id, &item);
        if in_window {
            if rev == 1 {
                events.extend(ctx.normalize("workitem.created", "1.0", &item, project, None));
            } else {
                // The update takes the row itself (no copy): it is not needed after this.
                let resource = match previous {
                    Some(prev) => workitem_update_from_revisions(Some(&prev), item),
                    None => match updates.get(&id).and_then(|u| field_update(u, rev)) {
                        Some(u) => with_revision(u, &item),
                        // The item is gone (deleted) or its history unreadable: the id is right,
                        // the old values are unknown.
                        None => workitem_update_from_revisions(None, item),
                    },
                };
                events.extend(ctx.normalize("workitem.updated", "1.0", &resource, project, None));
            }
        }
        events.extend(commented);
    }
    // Link-only updates of items whose history was read anyway (they change no revision).
    for (id, list) in &updates {
        let Some(latest) = cache.latest(*id) else {
            continue;
        };
        let project = str_at(&latest, &["fields", "System.TeamProject"])
            .and_then(|n| ctx.project_by_name(n))
            .map(|p| p.id.clone());
        for u in list.iter().filter(|u| u.get("fields").is_none()) {
            let t = super::time_of(u, "revisedDate");
            if t.is_some_and(|t| !mode.contains(t)) {
                continue;
            }
            let Some(rev) = u.get("rev").and_then(as_int) else {
                continue;
            };
            // The hook carries the item as of the link change: that revision's row.
            let snapshot = match page_rows.get(&(*id, rev)) {
                Some(row) => row.clone(),
                None if latest.get("rev").and_then(as_int) == Some(rev) => latest.clone(),
                None => continue,
            };
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
    Ok((events, beyond))
}

fn id_rev(row: &Value) -> (Option<i64>, Option<i64>) {
    (
        row.get("id").and_then(as_int),
        row.get("rev").and_then(as_int),
    )
}

/// The field update (not a link-only one) that produced `rev`.
fn field_update(updates: &[Value], rev: i64) -> Option<Value> {
    updates
        .iter()
        .find(|u| u.get("rev").and_then(as_int) == Some(rev) && u.get("fields").is_some())
        .cloned()
}

/// A REST update with the revision it produced, as the hook's `revision`.
pub(super) fn with_revision(mut update: Value, item: &Value) -> Value {
    if let Some(m) = update.as_object_mut() {
        m.insert("revision".into(), item.clone());
    }
    update
}

/// The items (`workitemsbatch`, 200 per call), as of `as_of` or now, with the fields the revisions
/// report is asked for; items that did not exist then, or no longer do, are left out.
pub(super) async fn items_batch(
    ctx: &Ctx,
    ids: &[i64],
    as_of: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Vec<Value>, ReconcileError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(200) {
        let mut body = json!({"ids": chunk, "fields": requested_fields(), "errorPolicy": "omit"});
        if let Some(t) = as_of {
            body["asOf"] = json!(crate::normalize::time::format_time(&t));
        }
        let resp = if ctx.batch_refused.load(std::sync::atomic::Ordering::Relaxed) {
            items_list(ctx, chunk, as_of).await?
        } else {
            match ctx.post("_apis/wit/workitemsbatch", &body).await {
                Ok(resp) => resp,
                Err(e) => match refused_status(&e) {
                    // Refused (403) or missing (404, an older Server): the list API gives the same
                    // items, fields and `asOf` in one GET per 200 ids, so nothing is lost.
                    Some(status) => {
                        tracing::warn!(org = %ctx.org, status,
                            "wit/workitemsbatch refused; reading items with GET wit/workitems?ids= instead");
                        ctx.batch_refused
                            .store(true, std::sync::atomic::Ordering::Relaxed);
                        items_list(ctx, chunk, as_of).await?
                    }
                    None => return Err(e),
                },
            }
        };
        out.extend(values(&resp).iter().filter(|v| v.is_object()).cloned());
    }
    Ok(out)
}

/// `GET wit/workitems?ids=` (Work Items - List, on every Server version): the fallback of
/// `workitemsbatch`, same answer shape.
async fn items_list(
    ctx: &Ctx,
    ids: &[i64],
    as_of: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<crate::ado::RestResponse, ReconcileError> {
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    let fields: Vec<String> = requested_fields().iter().map(|f| f.to_string()).collect();
    let mut path = format!(
        "_apis/wit/workitems?ids={}&fields={}&errorPolicy=omit",
        ids.join(","),
        fields.join(",")
    );
    if let Some(t) = as_of {
        path.push_str(&format!(
            "&asOf={}",
            seg(&crate::normalize::time::format_time(&t))
        ));
    }
    ctx.get(&path).await
}

/// `workitems/{id}/updates` of each item (all pages), concurrently; items that no longer exist
/// (deleted) are left out.
pub(super) async fn fetch_updates(
    ctx: &Ctx,
    ids: &[i64],
) -> Result<HashMap<i64, Vec<Value>>, ReconcileError> {
    let concurrency = ctx.concurrency;
    futures::stream::iter(ids.iter().copied())
        .map(|id| async move {
            let mut all = Vec::new();
            loop {
                let path = format!(
                    "_apis/wit/workitems/{id}/updates?$top=200&$skip={}",
                    all.len()
                );
                match ctx.get_raw(&path).await {
                    Ok(resp) => {
                        let page = values(&resp);
                        all.extend(page.iter().cloned());
                        if page.len() < 200 {
                            return Ok(Some((id, all)));
                        }
                    }
                    Err(e) if e.is_not_found() => return Ok(None),
                    Err(e) => return Err(ReconcileError::from(e)),
                }
            }
        })
        .buffer_unordered(concurrency)
        .try_filter_map(|x| async move { Ok(x) })
        .try_collect()
        .await
}
