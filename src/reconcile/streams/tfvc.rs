//! TFVC check-ins: changesets are numbered collection-wide, so the watermark is the last id seen
//! and each pass asks for `searchCriteria.fromId = last + 1` in ascending order. The hook's
//! `teamProjectIds` is not in the REST changeset; it is derived from the changed paths
//! (`$/{Project}/…`, one `changes` call per changeset).

use std::collections::BTreeSet;

use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::super::ReconcileError;
use super::super::ctx::{Ctx, values};
use super::super::walk::{Mode, Walk};
use super::{query_time, time_of};
use crate::normalize::extract::{as_int, str_at};

#[derive(Debug, Default, Serialize, Deserialize)]
struct Cursor {
    /// Highest changeset id walked.
    #[serde(default)]
    last_id: Option<i64>,
}

pub(crate) async fn walk(w: &mut Walk<'_>) -> Result<(), ReconcileError> {
    let mut cursor: Cursor = w.load_cursor().await?;
    let top = w.ctx.config.page_size.max(1) as usize;
    loop {
        if w.cancel.is_cancelled() {
            return Err(ReconcileError::Cancelled);
        }
        let mut path = format!("_apis/tfvc/changesets?$orderby=id%20asc&$top={top}");
        if let Some(last) = cursor.last_id {
            path.push_str(&format!("&searchCriteria.fromId={}", last + 1));
        }
        if let Mode::Window { since, until } = w.mode {
            path.push_str(&format!(
                "&searchCriteria.fromDate={}&searchCriteria.toDate={}",
                query_time(since),
                query_time(until)
            ));
        }
        let resp = w.ctx.get(&path).await?;
        let page = values(&resp).to_vec();
        let projects = project_ids(w.ctx, &page).await?;
        let mut events = Vec::new();
        for (cs, ids) in page.iter().zip(projects) {
            if let Some(id) = cs.get("changesetId").and_then(as_int) {
                cursor.last_id = cursor.last_id.max(Some(id));
            }
            if time_of(cs, "createdDate").is_some_and(|t| !w.mode.contains(t)) {
                continue;
            }
            let mut resource = cs.clone();
            if let Some(m) = resource.as_object_mut() {
                m.insert("teamProjectIds".into(), json!(ids));
                // The hook's changeset summary has whole seconds; REST adds the fraction.
                if let Some(t) = time_of(cs, "createdDate") {
                    m.insert(
                        "createdDate".into(),
                        json!(t.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
                    );
                }
            }
            events.extend(
                w.ctx
                    .normalize("tfvc.checkin", "1.0", &resource, None, None),
            );
        }
        w.commit(events, page.len() as u64, &cursor).await?;
        if page.len() < top {
            return Ok(());
        }
    }
}

/// The projects each changeset touched, from its changes' server paths.
async fn project_ids(ctx: &Ctx, page: &[Value]) -> Result<Vec<Vec<String>>, ReconcileError> {
    futures::stream::iter(page.iter().cloned())
        .map(|cs| async move {
            let Some(id) = cs.get("changesetId").and_then(as_int) else {
                return Ok(Vec::new());
            };
            let mut names = BTreeSet::new();
            let mut skip = 0usize;
            loop {
                let path = format!("_apis/tfvc/changesets/{id}/changes?$top=1000&$skip={skip}");
                let resp = ctx.get_raw(&path).await?;
                let changes = values(&resp);
                for c in changes {
                    if let Some(name) = str_at(c, &["item", "path"])
                        .and_then(|p| p.strip_prefix("$/"))
                        .and_then(|p| p.split('/').next())
                        .filter(|n| !n.is_empty())
                    {
                        names.insert(name.to_string());
                    }
                }
                skip += changes.len();
                if changes.len() < 1000 {
                    break;
                }
            }
            let mut ids: Vec<String> = names
                .iter()
                .filter_map(|n| ctx.project_by_name(n).map(|p| p.id.clone()))
                .collect();
            ids.sort();
            Ok::<_, ReconcileError>(ids)
        })
        .buffered(ctx.concurrency)
        .try_collect()
        .await
}
