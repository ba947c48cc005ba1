//! TFVC routes: changesets (`searchCriteria.fromId/toId/fromDate/toDate/author/itemPath`,
//! `$top`/`$skip`, `$orderby=id asc|desc`), one changeset and its changes.

use serde_json::{Value, json};

use super::paging::{opt_time, opt_u64, page, top_skip};
use super::{ApiError, ApiResult, Req, get_only, list, ok};
use crate::clock::ts;
use crate::hooks::tfvc::changeset_url;
use crate::model::{Changeset, Org};
use crate::render::{href, identity_basic};

fn item(org: &Org, cs: &Changeset, max_comment: Option<usize>) -> Value {
    let mut v = json!({
        "changesetId": cs.id,
        "url": changeset_url(org, cs.id),
        "author": identity_basic(org, &org.people[cs.author]),
        "checkedInBy": identity_basic(org, &org.people[cs.checked_in_by]),
        "createdDate": ts(cs.created_date),
        "comment": cs.comment,
    });
    if let Some(max) = max_comment
        && cs.comment.chars().count() > max
    {
        v["comment"] = json!(cs.comment.chars().take(max).collect::<String>());
        v["commentTruncated"] = json!(true);
    }
    v
}

pub(super) fn route(org: &Org, req: &Req, path: &[&str]) -> ApiResult {
    get_only(req)?;
    let find = |id: &str| {
        id.parse::<u64>()
            .ok()
            .and_then(|n| org.changesets.iter().find(|c| c.id == n))
            .ok_or_else(|| {
                ApiError::not_found(format!("TF14019: The changeset {id} does not exist."))
            })
    };
    match path {
        ["changesets"] => changesets(org, req),
        ["changesets", id] => {
            let cs = find(id)?;
            let mut v = item(org, cs, None);
            let url = changeset_url(org, cs.id);
            v["_links"] = json!({
                "self": href(url.clone()),
                "changes": href(format!("{url}/changes")),
                "workItems": href(format!("{url}/workItems")),
                "author": href(org.identity_url(&org.people[cs.author])),
                "checkedInBy": href(org.identity_url(&org.people[cs.checked_in_by])),
            });
            ok(v)
        }
        ["changesets", id, "changes"] => {
            let cs = find(id)?;
            let (top, skip) = top_skip(req, 100, 1000)?;
            let changes = cs
                .changes
                .iter()
                .map(|c| {
                    json!({
                        "item": {
                            "version": cs.id,
                            "size": 1024 + c.path.len() as u64 * 7,
                            "hashValue": "n9ZqVjP1rQ9n7ZmS8BeI1A==",
                            "path": c.path,
                            "url": format!("{}_apis/tfvc/items/{}?versionType=Changeset&version={}", org.base_url, c.path.trim_start_matches('$'), cs.id),
                        },
                        "changeType": c.change_type,
                    })
                })
                .collect();
            ok(list(page(changes, top, skip)))
        }
        _ => Err(ApiError::not_found(
            "The requested TFVC route is not simulated.",
        )),
    }
}

/// Newest first unless `$orderby=id asc`; ids inclusive, `fromDate` inclusive, `toDate` exclusive;
/// with a project in the route, only changesets touching that project.
fn changesets(org: &Org, req: &Req) -> ApiResult {
    let (top, skip) = top_skip(req, 100, 1000)?;
    let from_id = opt_u64(req, "searchCriteria.fromId")?;
    let to_id = opt_u64(req, "searchCriteria.toId")?;
    let from = opt_time(req, "searchCriteria.fromDate")?;
    let to = opt_time(req, "searchCriteria.toDate")?;
    let author = req.q("searchCriteria.author");
    let item_path = req
        .q("searchCriteria.itemPath")
        .map(str::to_ascii_lowercase);
    let max_comment = opt_u64(req, "maxCommentLength")?.map(|n| n as usize);
    let ascending = match req
        .q("$orderby")
        .map(|s| s.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("id desc") | Some("id") => false,
        Some("id asc") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Invalid $orderby '{other}'."
            )));
        }
    };
    let mut items: Vec<&Changeset> = org
        .changesets
        .iter()
        .filter(|c| req.project.is_none_or(|p| c.projects.contains(&p)))
        .filter(|c| from_id.is_none_or(|f| c.id >= f) && to_id.is_none_or(|t| c.id <= t))
        .filter(|c| {
            from.is_none_or(|f| c.created_date >= f) && to.is_none_or(|t| c.created_date < t)
        })
        .filter(|c| {
            author.is_none_or(|a| {
                let p = &org.people[c.author];
                p.id.eq_ignore_ascii_case(a)
                    || p.unique_name.eq_ignore_ascii_case(a)
                    || p.display_name.eq_ignore_ascii_case(a)
            })
        })
        .filter(|c| {
            item_path.as_deref().is_none_or(|ip| {
                c.changes
                    .iter()
                    .any(|ch| ch.path.to_ascii_lowercase().starts_with(ip))
            })
        })
        .collect();
    items.sort_by_key(|c| c.id);
    if !ascending {
        items.reverse();
    }
    let values = items
        .into_iter()
        .map(|c| item(org, c, max_comment))
        .collect();
    ok(list(page(values, top, skip)))
}
