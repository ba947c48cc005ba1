//! Git routes: repositories, pushes (+ a push's commits) and pull requests.

use serde_json::Value;

use super::paging::{opt_time, opt_u64, page, top_skip};
use super::{ApiError, ApiResult, Req, get_only, list, ok};
use crate::model::git::PrStatus;
use crate::model::{Org, Repo};
use crate::render::git::{RepoFlavor, commit_rest, push_get, push_list_item, repository};
use crate::render::pr::{PrFlavor, iteration_rest, pull_request, thread_rest};

fn find_repo(org: &Org, req: &Req, name_or_id: &str) -> Result<usize, ApiError> {
    org.repos
        .iter()
        .position(|r| {
            (r.id.eq_ignore_ascii_case(name_or_id) || r.name.eq_ignore_ascii_case(name_or_id))
                && req.project.is_none_or(|p| p == r.project)
        })
        .ok_or_else(|| ApiError::not_found(format!("TF401019: The Git repository with name or identifier {name_or_id} does not exist or you do not have permissions for the operation you are attempting.")))
}

pub(super) fn route(org: &Org, req: &Req, path: &[&str]) -> ApiResult {
    get_only(req)?;
    match path {
        ["repositories"] => {
            let repos = org
                .repos
                .iter()
                .filter(|r| req.project.is_none_or(|p| p == r.project))
                .map(|r| repository(org, r, RepoFlavor::RestList))
                .collect();
            ok(list(repos))
        }
        ["repositories", r] => ok(repository(
            org,
            &org.repos[find_repo(org, req, r)?],
            RepoFlavor::RestList,
        )),
        ["repositories", r, "pushes"] => pushes(org, req, &org.repos[find_repo(org, req, r)?]),
        ["repositories", r, "pushes", id] => {
            let repo = &org.repos[find_repo(org, req, r)?];
            let push = find_push(repo, id)?;
            let commits = opt_u64(req, "includeCommits")?.unwrap_or(0) as usize;
            ok(push_get(
                org,
                repo,
                push,
                commits,
                req.q_bool("includeRefUpdates"),
            ))
        }
        ["repositories", r, "pushes", id, "commits"] => {
            let repo = &org.repos[find_repo(org, req, r)?];
            let push = find_push(repo, id)?;
            let (top, skip) = top_skip(req, 100, 1000)?;
            let commits = push
                .commits
                .iter()
                .rev()
                .map(|c| commit_rest(org, repo, c))
                .collect();
            ok(list(page(commits, top, skip)))
        }
        ["pullrequests"] => pull_requests(org, req, None),
        ["pullrequests", id] | ["repositories", _, "pullrequests", id] => {
            let n: u64 = id
                .parse()
                .map_err(|_| ApiError::bad_request(format!("'{id}' is not a pull request id.")))?;
            let pr = org
                .prs
                .iter()
                .find(|p| {
                    p.id == n
                        && req
                            .project
                            .is_none_or(|proj| org.repos[p.repo].project == proj)
                })
                .ok_or_else(|| {
                    ApiError::not_found(format!(
                        "TF401180: The requested pull request was not found: {n}."
                    ))
                })?;
            ok(pull_request(org, pr, PrFlavor::Get))
        }
        ["repositories", r, "pullrequests", id, "threads"] => {
            let repo = find_repo(org, req, r)?;
            let pr = id
                .parse::<u64>()
                .ok()
                .and_then(|n| org.prs.iter().find(|p| p.id == n && p.repo == repo))
                .ok_or_else(|| {
                    ApiError::not_found(format!(
                        "TF401180: The requested pull request was not found: {id}."
                    ))
                })?;
            let threads = pr.threads.iter().map(|t| thread_rest(org, pr, t)).collect();
            ok(list(threads))
        }
        ["repositories", r, "pullrequests", id, "iterations"] => {
            let repo = find_repo(org, req, r)?;
            let pr = id
                .parse::<u64>()
                .ok()
                .and_then(|n| org.prs.iter().find(|p| p.id == n && p.repo == repo))
                .ok_or_else(|| {
                    ApiError::not_found(format!(
                        "TF401180: The requested pull request was not found: {id}."
                    ))
                })?;
            let iterations = pr
                .iterations
                .iter()
                .map(|it| iteration_rest(org, pr, it))
                .collect();
            ok(list(iterations))
        }
        ["repositories", r, "pullrequests"] => {
            let repo = find_repo(org, req, r)?;
            pull_requests(org, req, Some(repo))
        }
        _ => Err(ApiError::not_found(
            "The requested git route is not simulated.",
        )),
    }
}

fn find_push<'a>(repo: &'a Repo, id: &str) -> Result<&'a crate::model::Push, ApiError> {
    id.parse::<u64>()
        .ok()
        .and_then(|n| repo.push(n))
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "TF401175: The push {id} does not exist in repository {}.",
                repo.name
            ))
        })
}

/// Newest first; `fromDate` inclusive, `toDate` exclusive.
fn pushes(org: &Org, req: &Req, repo: &Repo) -> ApiResult {
    let (top, skip) = top_skip(req, 100, 1000)?;
    let from = opt_time(req, "searchCriteria.fromDate")?;
    let to = opt_time(req, "searchCriteria.toDate")?;
    let pusher = req.q("searchCriteria.pusherId");
    let ref_name = req.q("searchCriteria.refName");
    let include_refs = req.q_bool("searchCriteria.includeRefUpdates");
    let items: Vec<Value> = repo
        .pushes
        .iter()
        .rev()
        .filter(|p| from.is_none_or(|f| p.date >= f) && to.is_none_or(|t| p.date < t))
        .filter(|p| pusher.is_none_or(|id| org.people[p.pusher].id.eq_ignore_ascii_case(id)))
        .filter(|p| {
            ref_name.is_none_or(|n| p.ref_updates.iter().any(|u| u.name.eq_ignore_ascii_case(n)))
        })
        .map(|p| push_list_item(org, repo, p, include_refs))
        .collect();
    ok(list(page(items, top, skip)))
}

/// Newest first. `searchCriteria.status` defaults to active; `minTime` (inclusive) and `maxTime`
/// (exclusive) apply to the creation date, or to the closed date with `queryTimeRangeType=closed`.
fn pull_requests(org: &Org, req: &Req, repo: Option<usize>) -> ApiResult {
    let (top, skip) = top_skip(req, 100, 1000)?;
    let status = req
        .q("searchCriteria.status")
        .unwrap_or("active")
        .to_ascii_lowercase();
    let wanted: Option<PrStatus> = match status.as_str() {
        "active" => Some(PrStatus::Active),
        "completed" => Some(PrStatus::Completed),
        "abandoned" => Some(PrStatus::Abandoned),
        "all" | "notset" => None,
        other => {
            return Err(ApiError::bad_request(format!(
                "Invalid pull request status '{other}'."
            )));
        }
    };
    // The time-range criteria exist from api-version 7.1 (Server 2022.1); older versions ignore them.
    let time_filters = req.api_version.is_none_or(|v| v >= (7, 1));
    let min = if time_filters {
        opt_time(req, "searchCriteria.minTime")?
    } else {
        None
    };
    let max = if time_filters {
        opt_time(req, "searchCriteria.maxTime")?
    } else {
        None
    };
    let closed_range = match req
        .q("searchCriteria.queryTimeRangeType")
        .filter(|_| time_filters)
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("created") => false,
        Some("closed") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Invalid queryTimeRangeType '{other}'."
            )));
        }
    };
    let repo_filter = req.q("searchCriteria.repositoryId");
    let creator = req.q("searchCriteria.creatorId");
    let reviewer = req.q("searchCriteria.reviewerId");
    let source = req.q("searchCriteria.sourceRefName");
    let target = req.q("searchCriteria.targetRefName");
    let mut prs: Vec<_> = org
        .prs
        .iter()
        .filter(|p| repo.is_none_or(|r| p.repo == r))
        .filter(|p| {
            req.project
                .is_none_or(|proj| org.repos[p.repo].project == proj)
        })
        .filter(|p| wanted.is_none_or(|s| p.status == s))
        .filter(|p| repo_filter.is_none_or(|id| org.repos[p.repo].id.eq_ignore_ascii_case(id)))
        .filter(|p| creator.is_none_or(|id| org.people[p.created_by].id.eq_ignore_ascii_case(id)))
        .filter(|p| {
            reviewer.is_none_or(|id| {
                p.reviewers
                    .iter()
                    .any(|r| org.people[r.person].id.eq_ignore_ascii_case(id))
            })
        })
        .filter(|p| source.is_none_or(|s| p.source_ref.eq_ignore_ascii_case(s)))
        .filter(|p| target.is_none_or(|t| p.target_ref.eq_ignore_ascii_case(t)))
        .filter(|p| {
            let at = if closed_range {
                p.closed_date
            } else {
                Some(p.creation_date)
            };
            if min.is_none() && max.is_none() {
                return true;
            }
            at.is_some_and(|t| min.is_none_or(|m| t >= m) && max.is_none_or(|m| t < m))
        })
        .collect();
    prs.sort_by_key(|p| std::cmp::Reverse(p.id));
    let values = prs
        .into_iter()
        .map(|p| pull_request(org, p, PrFlavor::List))
        .collect();
    ok(list(page(values, top, skip)))
}
