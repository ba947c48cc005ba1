//! The simulated REST API. One fallback handler parses both URL styles —
//! `/{org}[/{project}]/_apis/…` (Services) and `/tfs/{collection}[/{project}]/_apis/…` (Server) —
//! checks the PAT (Basic, any user name), applies the TSTU-like rate limit and injected 5xx, and
//! dispatches on the path after `_apis` (case-insensitive, as Azure DevOps routes are).
//!
//! Routes (project segment optional unless noted):
//! * `GET connectionData`, `GET projects[/{id}]` (`$top`, `$skip`, `x-ms-continuationtoken`)
//! * `GET git/repositories[/{repo}]`, `…/{repo}/pushes` (`$top`, `$skip`, `searchCriteria.fromDate|
//!   toDate|pusherId|refName|includeRefUpdates`), `…/pushes/{id}` (`includeCommits`,
//!   `includeRefUpdates`), `…/pushes/{id}/commits`
//! * `GET git/pullrequests[/{id}]`, `git/repositories/{repo}/pullrequests[/{id}]`
//!   (`searchCriteria.status|repositoryId|creatorId|reviewerId|sourceRefName|targetRefName|minTime|
//!   maxTime|queryTimeRangeType`, `$top`, `$skip`)
//! * `GET {project}/build/builds[/{id}[/timeline]]` (`definitions`, `statusFilter`, `resultFilter`,
//!   `minTime`, `maxTime`, `queryOrder`, `buildIds`, `branchName`, `$top`, `continuationToken`)
//! * `GET|POST wit/reporting/workitemrevisions`, `GET wit/reporting/workitemlinks`, `POST wit/workitemsbatch`, `GET wit/workitems?ids=`,
//!   `GET wit/workitems/{id}/updates`, `GET {project}/wit/recyclebin[?ids=]`, `…/recyclebin/{id}`
//! * `GET tfvc/changesets[/{id}[/changes]]` (`searchCriteria.fromId|toId|fromDate|toDate|author|
//!   itemPath`, `$top`, `$skip`, `$orderby`)
//! * at the root (Entra ID): `POST /{tenant}/oauth2/v2.0/devicecode`, `…/token` (device code and
//!   refresh-token grants) and the managed identity's `GET /metadata/identity/oauth2/token`;
//!   issued access tokens are accepted as `Bearer`
//! * at the root (`app.vssps` on Services): `GET _apis/profile/profiles/me`,
//!   `GET _apis/accounts?memberId=`
//! * `GET|POST hooks/subscriptions`, `GET|PUT|DELETE hooks/subscriptions/{id}`,
//!   `GET hooks/subscriptions/{id}/notifications[/{nid}]`, `POST hooks/notificationsquery`

mod build;
mod core;
pub(crate) mod entra;
mod gate;
mod git;
mod hooks;
pub(crate) mod paging;
mod pipelines;
mod profile;
mod release;
mod tfvc;
mod wit;
mod wit_links;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::SimError;
use super::model::Org;
use super::shared::Shared;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

/// A parsed request.
pub(crate) struct Req {
    pub method: Method,
    pub org: usize,
    pub project: Option<usize>,
    /// Path segments after `_apis`, decoded, original case.
    pub segs: Vec<String>,
    /// Query parameters; names lowercased.
    pub query: BTreeMap<String, String>,
    pub body: Bytes,
    /// The `api-version` asked for, `(major, minor)`; None when absent (the latest is served).
    pub api_version: Option<(u32, u32)>,
}

impl Req {
    pub fn q(&self, name: &str) -> Option<&str> {
        self.query
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    pub fn q_bool(&self, name: &str) -> bool {
        self.q(name).is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

/// A REST failure in Azure DevOps' error body shape.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub type_key: &'static str,
}

impl ApiError {
    pub fn new(status: StatusCode, type_key: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            type_key,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidArgumentValueException",
            message,
        )
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NotFoundException", message)
    }
}

impl From<SimError> for ApiError {
    fn from(e: SimError) -> Self {
        match e {
            SimError::UnknownOrg(_) | SimError::UnknownSubscription(_) => {
                Self::not_found(e.to_string())
            }
            _ => Self::bad_request(e.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "$id": "1",
            "innerException": null,
            "message": self.message,
            "typeName": format!("Microsoft.VisualStudio.Services.Simulator.{}, ado-ingest", self.type_key),
            "typeKey": self.type_key,
            "errorCode": 0,
            "eventId": 3000,
        });
        (self.status, axum::Json(body)).into_response()
    }
}

pub(crate) type ApiResult = Result<Response, ApiError>;

/// 200 with a JSON body.
pub(crate) fn ok(v: Value) -> ApiResult {
    Ok(axum::Json(v).into_response())
}

/// 200 with a JSON body and, when there is more, the `x-ms-continuationtoken` header.
pub(crate) fn ok_with_token(v: Value, token: Option<String>) -> ApiResult {
    let mut resp = axum::Json(v).into_response();
    if let Some(t) = token.and_then(|t| HeaderValue::from_str(&t).ok()) {
        resp.headers_mut().insert("x-ms-continuationtoken", t);
    }
    Ok(resp)
}

/// `{count, value}`.
pub(crate) fn list(values: Vec<Value>) -> Value {
    json!({ "count": values.len(), "value": values })
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if entra::is_entra_route(uri.path()) {
        if uri
            .path()
            .eq_ignore_ascii_case("/metadata/identity/oauth2/token")
        {
            return entra::managed_identity(&shared, &headers, &query);
        }
        return entra::handle(&shared, &method, uri.path(), &body);
    }
    if profile::is_profile_route(uri.path()) {
        return profile::handle(&shared, &method, uri.path(), &query, &headers).await;
    }
    let (org, project, segs) = match gate::locate(&shared, uri.path()) {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let route = segs
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join("/");
    shared.count_call(org, route.clone());
    let extra = match gate::admit(&shared, &headers).await {
        Ok(extra) => extra,
        Err(resp) => return resp,
    };
    if let Some(refusal) = refused(&shared, &route) {
        return refusal.into_response();
    }
    let query: BTreeMap<String, String> = query
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    let api_version = match gate::api_version(&shared, org, query.get("api-version")) {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let req = Req {
        method,
        org,
        project,
        segs,
        query,
        body,
        api_version,
    };
    let mut resp = match dispatch(&shared, &req) {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    add_headers(&mut resp, &extra);
    resp
}

/// The refusal configured for `route`, in Azure DevOps' shapes: 403 as for an identity lacking the
/// permission, 404 as on a Server version without the API.
fn refused(shared: &Shared, route: &str) -> Option<ApiError> {
    let status = shared
        .controls()
        .refused_routes
        .iter()
        .find(|(prefix, _)| route_matches(prefix, route))
        .map(|(_, status)| *status)?;
    Some(match status {
        404 => ApiError::not_found(format!(
            "VS402371: The resource cannot be found: the API {route} is not available on this server."
        )),
        other => ApiError::new(
            StatusCode::from_u16(other).unwrap_or(StatusCode::FORBIDDEN),
            "UnauthorizedRequestException",
            format!(
                "TF400813: The user is not authorized to access this resource ({route}): the identity lacks the permission."
            ),
        ),
    })
}

/// Whether `route` is `pattern` or under it; a `*` segment of the pattern matches any one segment.
fn route_matches(pattern: &str, route: &str) -> bool {
    let mut route = route.split('/');
    pattern
        .split('/')
        .all(|p| route.next().is_some_and(|r| p == "*" || p == r))
}

pub(crate) fn add_headers(resp: &mut Response, headers: &[(&'static str, String)]) {
    for (k, v) in headers {
        if let Ok(v) = HeaderValue::from_str(v) {
            resp.headers_mut().insert(*k, v);
        }
    }
}

fn dispatch(shared: &Arc<Shared>, req: &Req) -> ApiResult {
    let lower: Vec<String> = req.segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let path: Vec<&str> = lower.iter().map(String::as_str).collect();
    match path.first().copied() {
        Some("hooks") => hooks::route(shared, req, &path[1..]),
        _ => {
            let world = shared.world();
            let org: &Org = &world.orgs[req.org];
            match path.as_slice() {
                ["connectiondata"] => core::connection_data(org),
                ["projects", rest @ ..] => core::projects(org, req, rest),
                ["git", rest @ ..] => git::route(org, req, rest),
                ["build", rest @ ..] => build::route(org, req, rest),
                ["pipelines", rest @ ..] => pipelines::route(org, req, rest),
                ["release", rest @ ..] => release::route(org, req, rest),
                ["wit", rest @ ..] => wit::route(org, req, rest),
                ["tfvc", rest @ ..] => tfvc::route(org, req, rest),
                _ => Err(ApiError::not_found(
                    "The requested API route is not simulated.",
                )),
            }
        }
    }
}

/// Requires a GET.
pub(crate) fn get_only(req: &Req) -> Result<(), ApiError> {
    if req.method == Method::GET {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "The HTTP method is not supported on this route.",
        ))
    }
}

/// The project a route needs.
pub(crate) fn need_project(req: &Req) -> Result<usize, ApiError> {
    req.project
        .ok_or_else(|| ApiError::not_found("This route needs a project: {org}/{project}/_apis/…"))
}
