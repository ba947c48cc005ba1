//! Build routes: builds (filters, `queryOrder`, `minTime`/`maxTime`, `x-ms-continuationtoken`
//! paging), one build, and its timeline.

use chrono::{DateTime, Utc};

use super::paging::{csv, opt_time, opt_u64};
use super::{ApiError, ApiResult, Req, get_only, list, need_project, ok, ok_with_token};
use crate::model::{Build, Org};
use crate::render::build::{BuildFlavor, build, status_str, timeline};

#[derive(Clone, Copy, PartialEq)]
enum TimeField {
    Queue,
    Start,
    Finish,
}

fn time_of(b: &Build, f: TimeField) -> Option<DateTime<Utc>> {
    match f {
        TimeField::Queue => Some(b.queue_time),
        TimeField::Start => b.start_time,
        TimeField::Finish => b.finish_time,
    }
}

/// `queryOrder` → (time field, ascending). Default: queue time, newest first.
fn order(req: &Req) -> Result<(TimeField, bool), ApiError> {
    Ok(
        match req.q("queryOrder").map(str::to_ascii_lowercase).as_deref() {
            None | Some("queuetimedescending") => (TimeField::Queue, false),
            Some("queuetimeascending") => (TimeField::Queue, true),
            Some("starttimedescending") => (TimeField::Start, false),
            Some("starttimeascending") => (TimeField::Start, true),
            Some("finishtimedescending") => (TimeField::Finish, false),
            Some("finishtimeascending") => (TimeField::Finish, true),
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "Invalid queryOrder '{other}'."
                )));
            }
        },
    )
}

/// Continuation tokens are `{millis}.{buildId}` of the last build returned: the next page starts
/// strictly after it in the requested order, so builds added between pages are not skipped twice.
fn parse_token(t: &str) -> Result<(i64, u64), ApiError> {
    let bad = || ApiError::bad_request(format!("Invalid continuation token '{t}'."));
    let (ms, id) = t.split_once('.').ok_or_else(bad)?;
    Ok((
        ms.parse().map_err(|_| bad())?,
        id.parse().map_err(|_| bad())?,
    ))
}

pub(super) fn route(org: &Org, req: &Req, path: &[&str]) -> ApiResult {
    get_only(req)?;
    let project = need_project(req)?;
    let find = |id: &str| {
        id.parse::<u64>()
            .ok()
            .and_then(|n| {
                org.builds
                    .iter()
                    .find(|b| b.id == n && b.project == project)
            })
            .ok_or_else(|| {
                ApiError::not_found(format!("The requested build {id} could not be found."))
            })
    };
    match path {
        ["builds"] => builds(org, req, project),
        ["definitions"] => definitions(org, req, project),
        ["builds", id] => ok(build(org, find(id)?, BuildFlavor::Rest)),
        ["builds", id, "timeline"] | ["builds", id, "timeline", _] => ok(timeline(org, find(id)?)),
        _ => Err(ApiError::not_found(
            "The requested build route is not simulated.",
        )),
    }
}

fn builds(org: &Org, req: &Req, project: usize) -> ApiResult {
    let (field, ascending) = order(req)?;
    let top = opt_u64(req, "$top")?
        .map(|t| t as usize)
        .unwrap_or(1000)
        .clamp(1, 5000);
    let min = opt_time(req, "minTime")?;
    let max = opt_time(req, "maxTime")?;
    let after = req.q("continuationToken").map(parse_token).transpose()?;
    let definitions = csv(req, "definitions");
    let build_ids = csv(req, "buildIds");
    let status = req.q("statusFilter").map(str::to_ascii_lowercase);
    let results = csv(req, "resultFilter");
    let branch = req.q("branchName");
    let reason = req.q("reasonFilter");
    let mut items: Vec<(&Build, i64)> = org
        .builds
        .iter()
        .filter(|b| b.project == project)
        .filter(|b| {
            definitions.is_empty()
                || definitions.contains(&org.definitions[b.definition].id.to_string())
        })
        .filter(|b| build_ids.is_empty() || build_ids.contains(&b.id.to_string()))
        .filter(|b| match status.as_deref() {
            None | Some("all") => true,
            Some(s) => status_str(b.status).eq_ignore_ascii_case(s),
        })
        .filter(|b| {
            results.is_empty()
                || b.result
                    .is_some_and(|r| results.iter().any(|x| x.eq_ignore_ascii_case(r.as_str())))
        })
        .filter(|b| branch.is_none_or(|br| b.source_branch.eq_ignore_ascii_case(br)))
        .filter(|b| reason.is_none_or(|r| b.reason.eq_ignore_ascii_case(r)))
        .filter_map(|b| {
            // Builds without the ordering time (e.g. no finish yet) are left out when a time
            // window applies to it, and sort as newest otherwise.
            let t = time_of(b, field);
            if (min.is_some() || max.is_some()) && t.is_none() {
                return None;
            }
            let t = t.unwrap_or(DateTime::<Utc>::MAX_UTC);
            (min.is_none_or(|m| t >= m) && max.is_none_or(|m| t < m))
                .then_some((b, t.timestamp_millis()))
        })
        .collect();
    items.sort_by(|a, b| {
        let ord = (a.1, a.0.id).cmp(&(b.1, b.0.id));
        if ascending { ord } else { ord.reverse() }
    });
    if let Some(tok) = after {
        items.retain(|(b, t)| {
            if ascending {
                (*t, b.id) > tok
            } else {
                (*t, b.id) < tok
            }
        });
    }
    let more = items.len() > top;
    items.truncate(top);
    let token = if more {
        items.last().map(|(b, t)| format!("{t}.{}", b.id))
    } else {
        None
    };
    let values = items
        .into_iter()
        .map(|(b, _)| build(org, b, BuildFlavor::Rest))
        .collect();
    ok_with_token(list(values), token)
}

/// `GET {project}/build/definitions`: definition references; with `includeAllProperties=true` also
/// the `process` (type 1 = classic designer, 2 = YAML), as Azure DevOps returns it.
fn definitions(org: &Org, req: &Req, project: usize) -> ApiResult {
    let full = req.q_bool("includeAllProperties");
    let p = &org.projects[project];
    let values = org
        .definitions
        .iter()
        .filter(|d| d.project == project)
        .map(|d| {
            let mut v = serde_json::json!({
                "id": d.id,
                "name": d.name,
                "url": format!("{}{}/_apis/build/Definitions/{}?revision={}", org.base_url, p.id, d.id, d.revision),
                "uri": format!("vstfs:///Build/Definition/{}", d.id),
                "path": "\\",
                "type": "build",
                "queueStatus": "enabled",
                "revision": d.revision,
                "project": { "id": p.id, "name": p.name },
            });
            if full {
                v["process"] = if d.yaml {
                    serde_json::json!({ "yamlFilename": "azure-pipelines.yml", "type": 2 })
                } else {
                    serde_json::json!({ "phases": [], "type": 1 })
                };
            }
            v
        })
        .collect();
    ok(list(values))
}
