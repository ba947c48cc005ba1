//! Release Management: `GET {project}/_apis/release/deployments` (`minStartedTime`,
//! `maxStartedTime`, `deploymentStatus`, `queryOrder=ascending|descending` by id, `$top` default 50,
//! an integer continuation token in the `x-ms-continuationtoken` header). On Services this API is
//! served from the organization's `vsrm.` host; the simulator serves it at the collection URL, as a
//! Server does.

use serde_json::{Value, json};

use super::paging::{opt_time, opt_u64};
use super::{ApiError, ApiResult, Req, get_only, list, need_project, ok_with_token};
use crate::clock::ts;
use crate::model::{Deployment, Org};
use crate::render::identity;

pub(super) fn route(org: &Org, req: &Req, path: &[&str]) -> ApiResult {
    get_only(req)?;
    let project = need_project(req)?;
    match path {
        ["deployments"] => deployments(org, req, project),
        _ => Err(ApiError::not_found(
            "The requested release route is not simulated.",
        )),
    }
}

fn deployments(org: &Org, req: &Req, project: usize) -> ApiResult {
    let ascending = match req.q("queryOrder").map(str::to_ascii_lowercase).as_deref() {
        None | Some("descending") => false,
        Some("ascending") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Invalid queryOrder '{other}'."
            )));
        }
    };
    let top = opt_u64(req, "$top")?
        .map_or(50, |t| t as usize)
        .clamp(1, 100);
    let min = opt_time(req, "minStartedTime")?;
    let max = opt_time(req, "maxStartedTime")?;
    let token = opt_u64(req, "continuationToken")?;
    let status = req.q("deploymentStatus").map(str::to_ascii_lowercase);
    let mut items: Vec<&Deployment> = org
        .deployments
        .iter()
        .filter(|d| d.project == project)
        .filter(|d| min.is_none_or(|m| d.started_on >= m) && max.is_none_or(|m| d.started_on <= m))
        .filter(|d| match status.as_deref() {
            None | Some("all") | Some("undefined") => true,
            Some(s) => d.deployment_status().eq_ignore_ascii_case(s),
        })
        .filter(|d| match token {
            None => true,
            Some(t) if ascending => d.id >= t,
            Some(t) => d.id <= t,
        })
        .collect();
    items.sort_by_key(|d| d.id);
    if !ascending {
        items.reverse();
    }
    // The token is the id the next page starts with.
    let next = items.get(top).map(|d| d.id.to_string());
    items.truncate(top);
    let values = items.into_iter().map(|d| render(org, d)).collect();
    ok_with_token(list(values), next)
}

/// A `Deployment` as the list returns it.
fn render(org: &Org, d: &Deployment) -> Value {
    let project = &org.projects[d.project];
    let owner = identity(org, &org.people[d.owner]);
    let vsrm = format!("{}{}/_apis/Release", org.base_url, project.id);
    json!({
        "id": d.id,
        "release": {
            "id": d.release_id,
            "name": d.release_name,
            "url": format!("{vsrm}/releases/{}", d.release_id),
            "_links": {},
        },
        "releaseDefinition": {
            "id": d.definition_id,
            "name": d.definition_name,
            "path": "\\",
            "projectReference": { "id": project.id, "name": project.name },
            "url": format!("{vsrm}/definitions/{}", d.definition_id),
            "_links": {},
        },
        "releaseEnvironment": {
            "id": d.environment_id,
            "name": d.environment_name,
            "url": format!("{vsrm}/releases/{}/environments/{}", d.release_id, d.environment_id),
            "_links": {},
        },
        "projectReference": { "id": project.id, "name": project.name },
        "definitionEnvironmentId": d.definition_environment_id,
        "attempt": d.attempt,
        "reason": "automated",
        "deploymentStatus": d.deployment_status(),
        "operationStatus": d.operation_status(),
        "requestedBy": owner,
        "requestedFor": owner,
        "queuedOn": ts(d.queued_on),
        "startedOn": ts(d.started_on),
        "completedOn": ts(d.modified_on),
        "lastModifiedOn": ts(d.modified_on),
        "lastModifiedBy": owner,
        "conditions": [],
        "preDeployApprovals": [],
        "postDeployApprovals": [],
        "_links": {},
    })
}
