//! Link-only updates: adding or removing a relation is a work-item update without a new revision,
//! so the revisions report never shows it. The links report (`wit/reporting/workitemlinks`, its
//! continuation token kept in the cursor) lists every link change; it is read in step with the
//! revisions report, and a change is published with the revision its item had at that moment
//! (the one before the item's next revision row, or its latest row, or the live item when the walk
//! saw none and it has not changed since) — no per-item call. What cannot be placed that way (an
//! item revised since, whose revision at the time this process never saw, e.g. after a restart)
//! falls back to the item's `workitems/{id}/updates`, and
//! the item as of that update's rev is rebuilt from the live item by undoing the later field
//! changes. A server without the links report (404) skips link-only updates.

use std::collections::{BTreeMap, HashMap, VecDeque};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::super::super::ReconcileError;
use super::super::super::ctx::{Ctx, refused_status, seg, values};
use super::super::super::walk::Mode;
use super::super::{query_time, time_of};
use super::{RevisionCache, fetch_updates, items_batch, with_revision};
use crate::normalize::NormalizedEvent;
use crate::normalize::extract::{as_int, str_at};
use crate::normalize::time::format_time;

/// Items whose update histories are held at once.
const CHUNK: usize = 128;

/// One link-only update as the links report tells it: the rows of one item at one time.
#[derive(Debug)]
pub(super) struct LinkChange {
    page: u64,
    at: DateTime<Utc>,
    by: Value,
    added: Vec<Value>,
    removed: Vec<Value>,
}

/// The links report of one scope, read ahead of the revisions up to where they are; changes
/// wait here until the revision they belong to is known.
pub(super) struct LinkFeed {
    prefix: String,
    /// Where the next page starts (`None`: the window start, or the beginning).
    token: Option<String>,
    start: Option<DateTime<Utc>>,
    supported: bool,
    at_end: bool,
    newest: Option<DateTime<Utc>>,
    pages_read: u64,
    /// Pages read and not yet wholly published: (page, token after it, changes outstanding).
    pages: VecDeque<(u64, Option<String>, usize)>,
    /// Token after the last page whose changes are all published (what the cursor may keep).
    committed: Option<String>,
    pending: HashMap<i64, Vec<LinkChange>>,
    /// Items to read updates of at the end: id → earliest unplaced change.
    fallback: BTreeMap<i64, DateTime<Utc>>,
}

impl LinkFeed {
    pub(super) fn new(scope: Option<&str>, token: Option<String>, mode: Mode) -> Self {
        let start = match (&token, mode) {
            (None, Mode::Window { since, .. }) => Some(since),
            _ => None,
        };
        Self {
            prefix: scope.map(|p| format!("{p}/")).unwrap_or_default(),
            committed: token.clone(),
            token,
            start,
            supported: true,
            at_end: false,
            newest: None,
            pages_read: 0,
            pages: VecDeque::new(),
            pending: HashMap::new(),
            fallback: BTreeMap::new(),
        }
    }

    /// Reads pages until one reaches past `until` (`None`: to the end of the report as it is
    /// now). Returns how many link changes were read.
    pub(super) async fn read_until(
        &mut self,
        ctx: &Ctx,
        until: Option<DateTime<Utc>>,
    ) -> Result<usize, ReconcileError> {
        if until.is_none() {
            self.at_end = false;
        }
        let mut read = 0;
        while self.supported
            && !self.at_end
            && until.is_none_or(|u| self.newest.is_none_or(|n| n <= u))
        {
            let mut path = format!(
                "{}_apis/wit/reporting/workitemlinks?$maxPageSize={}",
                self.prefix,
                ctx.config.page_size.max(1)
            );
            match (&self.token, self.start) {
                (Some(t), _) => path.push_str(&format!("&continuationToken={}", seg(t))),
                (None, Some(since)) => {
                    path.push_str(&format!("&startDateTime={}", query_time(since)))
                }
                (None, None) => {}
            }
            let resp = match ctx.get_raw(&path).await {
                Ok(r) => r,
                Err(e) if e.is_not_found() => {
                    self.supported = false;
                    return Ok(read);
                }
                Err(e) => return Err(e.into()),
            };
            let rows: &[Value] = resp
                .body
                .get("values")
                .and_then(Value::as_array)
                .map_or(&[], Vec::as_slice);
            self.at_end = rows.is_empty()
                || resp
                    .body
                    .get("isLastBatch")
                    .and_then(Value::as_bool)
                    .unwrap_or(true);
            let token = resp
                .body
                .get("continuationToken")
                .and_then(Value::as_str)
                .map(str::to_string);
            self.pages_read += 1;
            let page = self.pages_read;
            let changes = group(ctx, page, rows);
            read += changes.len();
            self.pages.push_back((page, token.clone(), changes.len()));
            for (id, change) in changes {
                self.newest = self.newest.max(Some(change.at));
                self.pending.entry(id).or_default().push(change);
            }
            if token.is_some() {
                self.token = token;
            }
        }
        Ok(read)
    }

    /// The changes of an item made before `t`, oldest first.
    pub(super) fn take_before(&mut self, id: i64, t: DateTime<Utc>) -> Vec<LinkChange> {
        let Some(list) = self.pending.get_mut(&id) else {
            return Vec::new();
        };
        let (before, after): (Vec<_>, Vec<_>) =
            std::mem::take(list).into_iter().partition(|c| c.at < t);
        if after.is_empty() {
            self.pending.remove(&id);
        } else {
            *list = after;
        }
        before
    }

    /// Publishes `change` with `snapshot` (the item's revision at that moment) when that
    /// revision is older than the change, else leaves it to the fallback.
    pub(super) fn place(
        &mut self,
        ctx: &Ctx,
        id: i64,
        change: LinkChange,
        snapshot: Option<Value>,
        events: &mut Vec<NormalizedEvent>,
    ) {
        let fits = snapshot.as_ref().is_some_and(|s| {
            time_of(&s["fields"], "System.ChangedDate").is_some_and(|t| t <= change.at)
        });
        match snapshot {
            Some(s) if fits => {
                events.extend(link_update(ctx, id, &s, &change));
                if let Some(p) = self.pages.iter_mut().find(|p| p.0 == change.page) {
                    p.2 -= 1;
                }
            }
            _ => {
                let e = self.fallback.entry(id).or_insert(change.at);
                *e = (*e).min(change.at);
            }
        }
    }

    /// The token after the pages whose changes are all published.
    pub(super) fn committed(&mut self) -> Option<String> {
        while self.pages.front().is_some_and(|p| p.2 == 0) {
            if let Some((_, Some(t), _)) = self.pages.pop_front() {
                self.committed = Some(t);
            }
        }
        self.committed.clone()
    }

    /// At the end of the revisions: every waiting change belongs to its item's latest revision
    /// (when this walk saw it), the rest is read from `updates`. Returns the events, the items
    /// still in the recycle bin (to retry) and the token after every page read.
    pub(super) async fn finish(
        mut self,
        ctx: &Ctx,
        cache: &RevisionCache,
        mode: Mode,
        waiting: BTreeMap<i64, DateTime<Utc>>,
    ) -> Result<FeedEnd, ReconcileError> {
        let mut events = Vec::new();
        let pending: Vec<(i64, Option<Value>, Vec<LinkChange>)> = self
            .pending
            .drain()
            .map(|(id, list)| (id, cache.latest(id), list))
            .collect();
        // Items this walk saw no revision of: the live item, when it has not changed since.
        let unseen: Vec<i64> = pending
            .iter()
            .filter(|(_, seen, _)| seen.is_none())
            .map(|(id, _, _)| *id)
            .collect();
        let live = if unseen.is_empty() {
            HashMap::new()
        } else {
            live_items(ctx, &unseen).await?
        };
        for (id, seen, list) in pending {
            let snapshot = seen.or_else(|| live.get(&id).cloned());
            for change in list.into_iter().filter(|c| mode.contains(c.at)) {
                self.place(ctx, id, change, snapshot.clone(), &mut events);
            }
        }
        let mut changed = waiting;
        for (id, t) in std::mem::take(&mut self.fallback) {
            let e = changed.entry(id).or_insert(t);
            *e = (*e).min(t);
        }
        let (more, deleted) = link_events(ctx, &changed).await?;
        events.extend(more);
        let token = self.token.clone().or(self.committed.clone());
        Ok(FeedEnd {
            events,
            deleted,
            token,
        })
    }
}

pub(super) struct FeedEnd {
    pub events: Vec<NormalizedEvent>,
    pub deleted: BTreeMap<i64, DateTime<Utc>>,
    pub token: Option<String>,
}

/// The rows of a page grouped into link-only updates (one per item and time), in order.
fn group(ctx: &Ctx, page: u64, rows: &[Value]) -> Vec<(i64, LinkChange)> {
    let mut out: Vec<(i64, LinkChange)> = Vec::new();
    for r in rows {
        let (Some(id), Some(at), Some(target)) = (
            r.get("sourceId").and_then(as_int),
            time_of(r, "changedDate"),
            r.get("targetId").and_then(as_int),
        ) else {
            continue;
        };
        let rel = str_at(r, &["rel"]).or_else(|| str_at(r, &["linkType"]));
        let relation = json!({"rel": rel, "url": ctx.work_item_url(target)});
        let removed = match str_at(r, &["changedOperation"]) {
            Some(op) => op.eq_ignore_ascii_case("remove"),
            None => r.get("isActive").and_then(Value::as_bool) == Some(false),
        };
        let i = match out.iter().position(|(i, c)| *i == id && c.at == at) {
            Some(i) => i,
            None => {
                out.push((
                    id,
                    LinkChange {
                        page,
                        at,
                        by: r.get("changedBy").cloned().unwrap_or(Value::Null),
                        added: Vec::new(),
                        removed: Vec::new(),
                    },
                ));
                out.len() - 1
            }
        };
        let change = &mut out[i].1;
        if removed {
            change.removed.push(relation);
        } else {
            change.added.push(relation);
        }
    }
    out
}

/// The link-only update as a hook would carry it, with the item as of the change.
fn link_update(
    ctx: &Ctx,
    id: i64,
    snapshot: &Value,
    change: &LinkChange,
) -> Option<NormalizedEvent> {
    let project = str_at(snapshot, &["fields", "System.TeamProject"])
        .and_then(|n| ctx.project_by_name(n))
        .map(|p| p.id.clone());
    let resource = json!({
        "workItemId": id,
        "rev": snapshot.get("rev").cloned().unwrap_or(Value::Null),
        "revisedBy": change.by,
        "revisedDate": format_time(&change.at),
        "relations": {"added": change.added, "removed": change.removed},
        "revision": snapshot,
    });
    ctx.normalize(
        "workitem.updated",
        "1.0",
        &resource,
        project.as_deref(),
        None,
    )
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
        let resp = match ctx
            .get(&format!("{}/_apis/wit/recyclebin", seg(&p.id)))
            .await
        {
            Ok(resp) => resp,
            // Without the bin an unreadable item cannot be told deleted from destroyed: it is
            // taken as destroyed (no deletion published), and the gap is reported.
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
        out.extend(
            values(&resp)
                .iter()
                .filter_map(|v| v.get("id").and_then(as_int))
                .filter(|id| ids.contains(id)),
        );
    }
    Ok(out)
}

/// The live items by id; deleted ones are left out.
async fn live_items(ctx: &Ctx, ids: &[i64]) -> Result<HashMap<i64, Value>, ReconcileError> {
    Ok(items_batch(ctx, ids, None)
        .await?
        .into_iter()
        .filter_map(|item| Some((item.get("id").and_then(as_int)?, item)))
        .collect())
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
