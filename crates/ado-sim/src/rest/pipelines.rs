//! Pipeline approvals: `GET {project}/_apis/pipelines/approvals` (`approvalIds`, `state`, `top`,
//! `$expand=steps`) and `…/approvals/{id}`. As on Azure DevOps there is no time filter and no
//! continuation token: a client finds approval ids in run timelines (`Checkpoint.Approval`).

use serde_json::{Value, json};

use super::paging::{csv, opt_u64};
use super::{ApiError, ApiResult, Req, get_only, list, need_project, ok};
use crate::clock::ts;
use crate::model::build::{Approval, Stage, approval_instructions};
use crate::model::{Build, Org};
use crate::render::identity;

pub(super) fn route(org: &Org, req: &Req, path: &[&str]) -> ApiResult {
    get_only(req)?;
    let project = need_project(req)?;
    let steps = req
        .q("$expand")
        .is_some_and(|e| e.split(',').any(|x| x.trim().eq_ignore_ascii_case("steps")));
    let all = approvals(org, project);
    match path {
        ["approvals"] => {
            let ids = csv(req, "approvalIds");
            let state = req.q("state").map(str::to_ascii_lowercase);
            let top = opt_u64(req, "top")?.map_or(250, |t| t as usize).max(1);
            let values = all
                .into_iter()
                .filter(|(_, _, a)| {
                    ids.is_empty() || ids.iter().any(|i| i.eq_ignore_ascii_case(&a.id))
                })
                .filter(|(_, _, a)| match state.as_deref() {
                    None | Some("all") => true,
                    Some("completed") => a.status != "pending",
                    Some(s) => a.status == s,
                })
                .take(top)
                .map(|(b, s, a)| render(org, b, s, a, steps))
                .collect();
            ok(list(values))
        }
        ["approvals", id] => all
            .into_iter()
            .find(|(_, _, a)| a.id.eq_ignore_ascii_case(id))
            .map(|(b, s, a)| ok(render(org, b, s, a, steps)))
            .unwrap_or_else(|| {
                Err(ApiError::not_found(format!(
                    "Approval with id {id} does not exist."
                )))
            }),
        _ => Err(ApiError::not_found(
            "The requested pipelines route is not simulated.",
        )),
    }
}

/// The project's approvals, newest run first.
fn approvals(org: &Org, project: usize) -> Vec<(&Build, &Stage, &Approval)> {
    let mut out: Vec<_> = org
        .builds
        .iter()
        .filter(|b| b.project == project)
        .flat_map(|b| {
            b.stages
                .iter()
                .filter_map(move |s| s.approval.as_ref().map(|a| (b, s, a)))
        })
        .collect();
    out.sort_by_key(|x| std::cmp::Reverse(x.2.created_on));
    out
}

/// An `Approval` (api 7.1): steps only with `$expand=steps`; an answered step names its
/// `actualApprover`.
fn render(org: &Org, b: &Build, s: &Stage, a: &Approval, with_steps: bool) -> Value {
    let approver = &org.people[a.approver];
    let requester = &org.people[b.requested_for];
    let base = format!("{}{}", org.base_url, org.projects[b.project].id);
    let answered = a.status != "pending";
    let steps = if with_steps {
        let mut step = json!({
            "assignedApprover": identity(org, approver),
            "status": a.status,
            "comment": if answered { json!(a.comment) } else { Value::Null },
            "initiatedOn": ts(a.created_on),
            "lastModifiedOn": ts(a.modified_on),
            "order": 1,
            "history": [],
        });
        if answered {
            step["actualApprover"] = identity(org, approver);
            step["lastModifiedBy"] = identity(org, approver);
        }
        vec![step]
    } else {
        Vec::new()
    };
    json!({
        "id": a.id,
        "steps": steps,
        "status": a.status,
        "createdOn": ts(a.created_on),
        "lastModifiedOn": ts(a.modified_on),
        "executionOrder": "anyOrder",
        "minRequiredApprovers": 1,
        "blockedApprovers": [identity(org, requester)],
        "instructions": approval_instructions(b, s),
        "_links": {
            "self": { "href": format!("{base}/_apis/pipelines/approvals/{}", a.id) },
        },
    })
}
