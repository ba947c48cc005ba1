//! `connectionData` and `projects`.

use serde_json::json;

use super::paging::{parse_count, top_skip};
use super::{ApiError, ApiResult, Req, get_only, list, ok, ok_with_token};
use crate::model::Org;
use crate::render::{ProjectFlavor, project_ref};

pub(super) fn connection_data(org: &Org) -> ApiResult {
    let me = &org.service_identity;
    let user = json!({
        "id": me.id,
        "descriptor": format!("Microsoft.IdentityModel.Claims.ClaimsIdentity;{}", me.unique_name),
        "subjectDescriptor": me.descriptor,
        "providerDisplayName": me.display_name,
        "isActive": true,
        "properties": {},
        "resourceVersion": 2,
        "metaTypeId": 0,
    });
    ok(json!({
        "authenticatedUser": user,
        "authorizedUser": user,
        "instanceId": org.collection_id,
        "deploymentId": org.host_id,
        "deploymentType": if org.is_server() { "onPremises" } else { "hosted" },
        "locationServiceData": {
            "serviceOwner": "00025394-6065-48ca-87d9-7f5672854ef7",
            "defaultAccessMappingMoniker": "PublicAccessMapping",
            "lastChangeId": 1,
            "lastChangeId64": 1,
        },
    }))
}

/// `GET projects` (`$top`, `$skip` or `continuationToken` = the next offset) and `projects/{id}`.
pub(super) fn projects(org: &Org, req: &Req, rest: &[&str]) -> ApiResult {
    get_only(req)?;
    if let [id] = rest {
        let p = org.project_index(id).ok_or_else(|| {
            ApiError::not_found(format!(
                "TF200016: The following project does not exist: {id}."
            ))
        })?;
        return ok(project_ref(org, &org.projects[p], ProjectFlavor::Full));
    }
    let (top, mut skip) = top_skip(req, 100, 1000)?;
    if let Some(t) = req.q("continuationToken") {
        skip = parse_count(t, "continuationToken")?;
    }
    let all: Vec<_> = org
        .projects
        .iter()
        .map(|p| project_ref(org, p, ProjectFlavor::Full))
        .collect();
    let total = all.len();
    let page: Vec<_> = all.into_iter().skip(skip).take(top).collect();
    let next = (skip + page.len() < total).then(|| (skip + page.len()).to_string());
    ok_with_token(list(page), next)
}
