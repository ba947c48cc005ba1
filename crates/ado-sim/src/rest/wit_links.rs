//! `GET wit/reporting/workitemlinks`: every link change (added or removed relation) in change
//! order, paged with a continuation token that resumes exactly after the last row returned, as
//! the reporting API does. Link changes create no work-item revision, so this is how a client
//! finds the items whose link-only updates it has not seen.

use serde_json::{Value, json};

use super::paging::{opt_time, opt_u64};
use super::{ApiError, ApiResult, Req, get_only, ok};
use crate::clock::ts;
use crate::model::Org;

/// `{millis}.{work item id}.{update id}` of the last row returned.
fn parse_token(t: &str) -> Result<(i64, u64, u64), ApiError> {
    let bad = || ApiError::bad_request(format!("Invalid continuation token '{t}'."));
    let mut parts = t.split('.');
    let mut next = || parts.next().ok_or_else(bad);
    let (a, b, c) = (next()?, next()?, next()?);
    Ok((
        a.parse().map_err(|_| bad())?,
        b.parse().map_err(|_| bad())?,
        c.parse().map_err(|_| bad())?,
    ))
}

pub(super) fn links(org: &Org, req: &Req) -> ApiResult {
    get_only(req)?;
    let after = req.q("continuationToken").map(parse_token).transpose()?;
    let start = if after.is_none() {
        opt_time(req, "startDateTime")?
    } else {
        None
    };
    let size = opt_u64(req, "$maxPageSize")?
        .map(|n| n as usize)
        .unwrap_or(1000)
        .clamp(1, 1000);
    let mut rows: Vec<((i64, u64, u64), Value)> = Vec::new();
    for wi in org
        .work_items
        .iter()
        .filter(|w| req.project.is_none_or(|p| p == w.project))
    {
        for u in &wi.updates {
            let key = (u.date.timestamp_millis(), wi.id, u.id);
            if after.is_some_and(|a| key <= a) || start.is_some_and(|s| u.date < s) {
                continue;
            }
            let changes = u
                .relations_added
                .iter()
                .map(|r| (r, true))
                .chain(u.relations_removed.iter().map(|r| (r, false)));
            for (r, added) in changes {
                let target_project = org
                    .work_items
                    .iter()
                    .find(|t| t.id == r.target)
                    .map(|t| org.projects[t.project].id.clone());
                rows.push((
                    key,
                    json!({
                        "rel": r.rel,
                        "sourceId": wi.id,
                        "targetId": r.target,
                        "sourceProjectId": org.projects[wi.project].id,
                        "targetProjectId": target_project,
                        "changedDate": ts(u.date),
                        "changedBy": { "id": org.people[u.revised_by].id },
                        "isActive": added,
                        "changedOperation": if added { "create" } else { "remove" },
                        "comment": r.comment,
                    }),
                ));
            }
        }
    }
    rows.sort_by_key(|r| r.0);
    // Rows of one update stay on one page (the token resumes after a whole update).
    let mut end = rows.len().min(size);
    while end > 0 && end < rows.len() && rows[end].0 == rows[end - 1].0 {
        end += 1;
    }
    let last_batch = end >= rows.len();
    let token = rows[..end]
        .last()
        .map(|(k, _)| format!("{}.{}.{}", k.0, k.1, k.2))
        .or_else(|| req.q("continuationToken").map(str::to_string))
        .unwrap_or_else(|| "0.0.0".into());
    let values: Vec<Value> = rows.into_iter().take(end).map(|(_, v)| v).collect();
    let scope = req
        .project
        .map(|p| format!("{}/", org.projects[p].id))
        .unwrap_or_default();
    ok(json!({
        "values": values,
        "nextLink": format!("{}{scope}_apis/wit/reporting/workItemLinks?continuationToken={token}&api-version=7.1", org.base_url),
        "continuationToken": token,
        "isLastBatch": last_batch,
    }))
}
