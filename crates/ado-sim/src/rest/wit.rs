//! Work item routes: reporting revisions (continuation token = collection watermark, `isLastBatch`),
//! work items batch / by ids, an item's updates, and the recycle bin.

use axum::http::Method;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::paging::{csv, opt_time, opt_u64, page, top_skip};
use super::{ApiError, ApiResult, Req, get_only, list, need_project, ok};
use crate::clock::{FAR_FUTURE, ts};
use crate::model::wit::Revision;
use crate::model::{Org, WorkItem};
use crate::render::identity_string;
use crate::render::wit::{update_rest, work_item_rest, work_item_rest_at};

pub(super) fn route(org: &Org, req: &Req, path: &[&str]) -> ApiResult {
    match path {
        ["reporting", "workitemrevisions"] => revisions(org, req),
        ["reporting", "workitemlinks"] => super::wit_links::links(org, req),
        ["workitemsbatch"] => {
            if req.method != Method::POST {
                return Err(ApiError::bad_request("workitemsbatch is a POST."));
            }
            let body: BatchRequest = serde_json::from_slice(&req.body)
                .map_err(|e| ApiError::bad_request(format!("Invalid body: {e}")))?;
            let as_of = body.as_of.as_deref().map(parse_as_of).transpose()?;
            batch(
                org,
                req,
                &body.ids,
                body.fields.as_deref(),
                body.error_policy.as_deref(),
                as_of,
            )
        }
        ["workitems"] => {
            get_only(req)?;
            let ids: Vec<u64> = csv(req, "ids")
                .iter()
                .filter_map(|s| s.parse().ok())
                .collect();
            let fields = csv(req, "fields");
            let as_of = req.q("asOf").map(parse_as_of).transpose()?;
            batch(
                org,
                req,
                &ids,
                (!fields.is_empty()).then_some(&fields[..]),
                req.q("errorPolicy"),
                as_of,
            )
        }
        ["workitems", id, "updates"] => {
            get_only(req)?;
            let wi = find(org, req, id)?;
            let (top, skip) = top_skip(req, 200, 200)?;
            let updates = wi.updates.iter().map(|u| update_rest(org, wi, u)).collect();
            ok(list(page(updates, top, skip)))
        }
        ["recyclebin"] => {
            get_only(req)?;
            let project = need_project(req)?;
            let ids = csv(req, "ids");
            if !ids.is_empty() {
                return deleted_references(org, project, &ids);
            }
            let items = org
                .work_items
                .iter()
                .filter(|w| w.project == project && w.deleted.is_some())
                .map(|w| json!({ "id": w.id, "url": format!("{}_apis/wit/recycleBin/{}", org.base_url, w.id) }))
                .collect();
            ok(list(items))
        }
        ["recyclebin", id] => {
            get_only(req)?;
            let project = need_project(req)?;
            let wi = id
                .parse::<u64>()
                .ok()
                .and_then(|n| {
                    org.work_items
                        .iter()
                        .find(|w| w.id == n && w.project == project && w.deleted.is_some())
                })
                .ok_or_else(|| {
                    ApiError::not_found(format!(
                        "TF401232: Work item {id} does not exist in the recycle bin."
                    ))
                })?;
            let mut item = delete_reference(org, wi);
            item["resource"] = work_item_rest(org, wi, None);
            ok(item)
        }
        _ => Err(ApiError::not_found(
            "The requested work item route is not simulated.",
        )),
    }
}

/// A WorkItemDeleteReference: who deleted the item and when (`recyclebin/{id}` adds the item).
fn delete_reference(org: &Org, wi: &WorkItem) -> Value {
    let (date, by) = wi.deleted.unwrap_or_default();
    json!({
        "id": wi.id,
        "code": 200,
        "deletedBy": identity_string(&org.people[by]),
        "deletedDate": ts(date),
        "name": wi.field_str("System.Title"),
        "project": org.projects[wi.project].name,
        "type": wi.work_item_type(),
        "url": format!("{}_apis/wit/recycleBin/{}", org.base_url, wi.id),
    })
}

/// `recyclebin?ids=`: a WorkItemDeleteReference per id (who deleted it and when, no fields);
/// an id not in the project's bin gets `code` 404 and a message.
fn deleted_references(org: &Org, project: usize, ids: &[String]) -> ApiResult {
    if ids.len() > 200 {
        return Err(ApiError::bad_request(
            "At most 200 work item ids are allowed.",
        ));
    }
    let mut values = Vec::new();
    for id in ids {
        let n: u64 = id
            .parse()
            .map_err(|_| ApiError::bad_request(format!("Invalid work item id '{id}'.")))?;
        let binned = org
            .work_items
            .iter()
            .find(|w| w.id == n && w.project == project && w.deleted.is_some());
        values.push(match binned {
            Some(wi) => delete_reference(org, wi),
            None => json!({
                "id": n,
                "code": 404,
                "message": format!("TF401232: Work item {n} does not exist in the recycle bin."),
            }),
        });
    }
    ok(list(values))
}

fn find<'a>(org: &'a Org, req: &Req, id: &str) -> Result<&'a WorkItem, ApiError> {
    id.parse::<u64>()
        .ok()
        .and_then(|n| org.work_items.iter().find(|w| w.id == n && w.deleted.is_none() && req.project.is_none_or(|p| p == w.project)))
        .ok_or_else(|| ApiError::not_found(format!("TF401232: Work item {id} does not exist, or you do not have permissions to read it.")))
}

#[derive(Deserialize)]
struct BatchRequest {
    #[serde(default)]
    ids: Vec<u64>,
    #[serde(default)]
    fields: Option<Vec<String>>,
    #[serde(default, rename = "errorPolicy")]
    error_policy: Option<String>,
    #[serde(default, rename = "asOf")]
    as_of: Option<String>,
}

fn parse_as_of(t: &str) -> Result<chrono::DateTime<chrono::Utc>, ApiError> {
    chrono::DateTime::parse_from_rfc3339(t)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|_| ApiError::bad_request(format!("Invalid asOf date '{t}'.")))
}

/// Up to 200 ids; a missing id fails the request unless `errorPolicy=omit` (then `null`). With
/// `asOf`, each item as of that time (its last revision changed at or before it); an item created
/// later is missing.
fn batch(
    org: &Org,
    req: &Req,
    ids: &[u64],
    fields: Option<&[String]>,
    policy: Option<&str>,
    as_of: Option<chrono::DateTime<chrono::Utc>>,
) -> ApiResult {
    if ids.is_empty() || ids.len() > 200 {
        return Err(ApiError::bad_request(
            "Between 1 and 200 work item ids are required.",
        ));
    }
    let omit = policy.is_some_and(|p| p.eq_ignore_ascii_case("omit"));
    let mut values = Vec::new();
    for id in ids {
        let found = find(org, req, &id.to_string()).and_then(|wi| match as_of {
            None => Ok(work_item_rest(org, wi, fields)),
            Some(t) => wi
                .revisions
                .iter()
                .filter(|r| r.changed_date <= t)
                .max_by_key(|r| r.rev)
                .map(|r| work_item_rest_at(org, wi, r, fields))
                .ok_or_else(|| {
                    ApiError::not_found(format!(
                        "TF401232: Work item {id} does not exist at {}.",
                        ts(t)
                    ))
                }),
        });
        match found {
            Ok(item) => values.push(item),
            Err(e) if !omit => return Err(e),
            Err(_) => values.push(Value::Null),
        }
    }
    ok(list(values))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RevisionsFilter {
    #[serde(default)]
    fields: Vec<String>,
    #[serde(default)]
    types: Vec<String>,
    #[serde(default)]
    include_identity_ref: bool,
    #[serde(default)]
    include_deleted: bool,
    #[serde(default)]
    include_latest_only: bool,
}

fn identity_ref(org: &Org, v: &Value) -> Value {
    let s = v.as_str().unwrap_or_default();
    match org.people.iter().find(|p| identity_string(p) == s) {
        Some(p) => json!({ "id": p.id, "uniqueName": s }),
        None => v.clone(),
    }
}

/// One reporting row: the revision's fields plus the computed system fields.
fn row(org: &Org, wi: &WorkItem, r: &Revision, f: &RevisionsFilter) -> Value {
    let revised = wi
        .revisions
        .iter()
        .find(|x| x.rev == r.rev + 1)
        .map(|x| ts(x.changed_date))
        .unwrap_or_else(|| FAR_FUTURE.to_string());
    let mut all: Map<String, Value> = r
        .fields
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    all.insert("System.Id".into(), json!(wi.id));
    all.insert("System.Rev".into(), json!(r.rev));
    all.insert("System.RevisedDate".into(), json!(revised));
    all.insert("System.Watermark".into(), json!(r.watermark));
    all.insert(
        "System.AuthorizedDate".into(),
        all.get("System.ChangedDate")
            .cloned()
            .unwrap_or(Value::Null),
    );
    if f.include_deleted {
        all.insert("System.IsDeleted".into(), json!(r.deleted));
    }
    if f.include_identity_ref {
        for k in ["System.CreatedBy", "System.ChangedBy", "System.AssignedTo"] {
            if let Some(v) = all.get(k).cloned() {
                all.insert(k.into(), identity_ref(org, &v));
            }
        }
    }
    let fields: Map<String, Value> = if f.fields.is_empty() {
        all
    } else {
        f.fields
            .iter()
            .filter_map(|n| all.get(n).map(|v| (n.clone(), v.clone())))
            .collect()
    };
    json!({ "id": wi.id, "rev": r.rev, "fields": fields })
}

/// Rows ordered by the collection watermark; the continuation token is the watermark of the last
/// row returned (opaque to clients), so a stored token resumes exactly after what was seen.
fn revisions(org: &Org, req: &Req) -> ApiResult {
    let mut filter = if req.method == Method::POST {
        serde_json::from_slice::<RevisionsFilter>(&req.body)
            .map_err(|e| ApiError::bad_request(format!("Invalid body: {e}")))?
    } else if req.method == Method::GET {
        RevisionsFilter {
            fields: csv(req, "fields"),
            types: csv(req, "types"),
            include_identity_ref: req.q_bool("includeIdentityRef"),
            include_deleted: req.q_bool("includeDeleted"),
            include_latest_only: req.q_bool("includeLatestOnly"),
        }
    } else {
        return Err(ApiError::bad_request("Use GET or POST."));
    };
    filter.include_identity_ref |= req.q_bool("includeIdentityRef");
    let after = opt_u64(req, "continuationToken")?;
    let start = if after.is_none() {
        opt_time(req, "startDateTime")?
    } else {
        None
    };
    let size = opt_u64(req, "$maxPageSize")?
        .map(|n| n as usize)
        .unwrap_or(200)
        .clamp(1, 1000);
    let mut rows: Vec<(&WorkItem, &Revision)> = org
        .work_items
        .iter()
        .filter(|w| req.project.is_none_or(|p| p == w.project))
        .filter(|w| filter.include_deleted || w.deleted.is_none())
        .filter(|w| {
            filter.types.is_empty()
                || filter
                    .types
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case(w.work_item_type()))
        })
        .flat_map(|w| w.revisions.iter().map(move |r| (w, r)))
        .filter(|(w, r)| !filter.include_latest_only || r.rev == w.rev)
        .filter(|(_, r)| after.is_none_or(|a| r.watermark > a))
        .filter(|(_, r)| start.is_none_or(|s| r.changed_date >= s))
        .collect();
    rows.sort_by_key(|(_, r)| r.watermark);
    let last_batch = rows.len() <= size;
    rows.truncate(size);
    let token = rows
        .last()
        .map(|(_, r)| r.watermark)
        .or(after)
        .unwrap_or(0)
        .to_string();
    let values: Vec<Value> = rows.iter().map(|(w, r)| row(org, w, r, &filter)).collect();
    let scope = req
        .project
        .map(|p| format!("{}/", org.projects[p].id))
        .unwrap_or_default();
    ok(json!({
        "values": values,
        "nextLink": format!("{}{scope}_apis/wit/reporting/workItemRevisions?continuationToken={token}&api-version=7.1", org.base_url),
        "continuationToken": token,
        "isLastBatch": last_batch,
    }))
}
