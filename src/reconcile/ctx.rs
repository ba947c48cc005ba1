//! What every stream walker shares during one pass or backfill: the organization's REST client,
//! its collection id and projects, and the normalize options that make REST-derived events carry
//! the same ids and routing keys as hook-derived ones.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::{Inner, ReconcileError};
use crate::ado::{AdoError, ApiVersion, OrgClient, RestResponse};
use crate::config::ReconcileConfig;
use crate::normalize::envelope::Container;
use crate::normalize::{
    Containers, NormalizeOptions, NormalizedEvent, NotNormalized, Origin, normalize_resource,
};
use crate::store::Store;

/// A team project of the organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Project {
    pub id: String,
    pub name: String,
}

pub(crate) struct Ctx {
    pub org: String,
    pub client: OrgClient,
    pub store: Arc<dyn Store>,
    pub config: ReconcileConfig,
    /// `instanceId`: the tenant key hooks carry as `resourceContainers.collection.id`.
    pub collection_id: String,
    /// The collection base URL as hooks carry it (`…/{org}/`, `…/tfs/{collection}/`).
    pub base_url: String,
    pub api_version: ApiVersion,
    /// The projects this pass or backfill covers.
    pub projects: Vec<Project>,
    /// Every readable project, for name ↔ id lookups.
    pub all_projects: Vec<Project>,
    pub opts: NormalizeOptions,
    /// Requests the organization allows in flight (`max_concurrency`).
    pub concurrency: usize,
    /// Azure DevOps Services (not a Server collection): some events exist only there.
    pub hosted: bool,
    /// REST calls per route (shared by every pass of the organization).
    pub routes: Arc<RouteCounts>,
    /// What streams could not read this pass (a refused auxiliary call), by stream: taken into
    /// the stream's progress when its walk ends.
    pub gaps: std::sync::Mutex<Vec<(&'static str, String)>>,
    /// `workitemsbatch` was refused this pass: items are read with the list API instead.
    pub batch_refused: std::sync::atomic::AtomicBool,
}

/// The status of a call Azure DevOps refused for this identity (403) or does not have (404): an
/// auxiliary call a stream can do without, reporting the gap instead of failing.
pub(crate) fn refused_status(e: &ReconcileError) -> Option<u16> {
    match e {
        ReconcileError::Ado(e) => e.status().filter(|s| matches!(s, 403 | 404)),
        _ => None,
    }
}

/// REST calls per route template (`wit/reporting/workitemrevisions`, `git/repositories/{id}/pushes/{id}`,
/// …): where a pass spends its calls (status page, benchmark).
#[derive(Debug, Default)]
pub struct RouteCounts {
    counts: std::sync::Mutex<BTreeMap<String, u64>>,
}

impl RouteCounts {
    pub fn count(&self, path: &str) {
        let route = route_of(path);
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        *c.entry(route).or_default() += 1;
    }

    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// The route after `_apis/`, ids replaced by `{id}`, lowercase, without the query.
fn route_of(path: &str) -> String {
    let path = path.split('?').next().unwrap_or_default();
    let tail = path.split("_apis/").nth(1).unwrap_or(path);
    tail.split('/')
        .map(|seg| {
            let id_like = seg.chars().all(|c| c.is_ascii_digit())
                || (seg.len() >= 32 && seg.chars().all(|c| c.is_ascii_hexdigit() || c == '-'));
            if id_like && !seg.is_empty() {
                "{id}".to_string()
            } else {
                seg.to_ascii_lowercase()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

impl Ctx {
    /// Connects (credentials, api-version, collection id) and lists the projects; `filter` names
    /// projects by name or id (empty = every readable project).
    pub async fn load(inner: &Inner, filter: &[String]) -> Result<Self, ReconcileError> {
        let org = inner.org.name();
        let client = inner.client.clone();
        let routes = inner.routes.clone();
        let connection = client.connect().await?.clone();
        let base_url = client.base_url().to_string();
        let all_projects = list_projects(&client, &routes).await?;
        let projects = if filter.is_empty() {
            all_projects.clone()
        } else {
            let mut chosen = Vec::new();
            for wanted in filter {
                match all_projects.iter().find(|p| {
                    p.id.eq_ignore_ascii_case(wanted) || p.name.eq_ignore_ascii_case(wanted)
                }) {
                    Some(p) if !chosen.contains(p) => chosen.push(p.clone()),
                    Some(_) => {}
                    None => {
                        return Err(ReconcileError::InvalidSpec(format!(
                            "{org} has no project named {wanted:?} that these credentials can read"
                        )));
                    }
                }
            }
            chosen
        };
        // Unknown counts as Services; Server says `onPremises`.
        let hosted = !connection
            .deployment_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("onPremises"));
        let opts = NormalizeOptions {
            include_raw: inner.include_raw,
            origin: Origin::Backfill,
            org_override: Some(org.clone()),
        };
        Ok(Self {
            org,
            client,
            store: inner.store.clone(),
            config: inner.config.clone(),
            collection_id: connection.collection_id,
            base_url,
            api_version: connection.api_version,
            projects,
            all_projects,
            opts,
            concurrency: inner.org.max_concurrency.max(1),
            hosted,
            routes,
            gaps: Default::default(),
            batch_refused: Default::default(),
        })
    }

    /// Records that `stream` could not use `route` (refused with `status`) and what that costs.
    pub fn note_gap(&self, stream: &'static str, route: &str, status: u16, consequence: &str) {
        let message = format!("{route} refused ({status}): {consequence}");
        let mut gaps = self.gaps.lock().unwrap_or_else(|e| e.into_inner());
        if !gaps.iter().any(|(s, m)| *s == stream && *m == message) {
            gaps.push((stream, message));
        }
    }

    /// The gaps `stream` noted, removed from the pass's list.
    pub fn take_gaps(&self, stream: &str) -> Vec<String> {
        let mut gaps = self.gaps.lock().unwrap_or_else(|e| e.into_inner());
        let (mine, rest): (Vec<_>, Vec<_>) = gaps.drain(..).partition(|(s, _)| *s == stream);
        *gaps = rest;
        mine.into_iter().map(|(_, m)| m).collect()
    }

    /// The `resourceContainers` a hook for this collection (and project) carries.
    pub fn containers(&self, project_id: Option<&str>) -> Containers {
        Containers {
            collection: Some(Container {
                id: Some(self.collection_id.clone()),
                base_url: Some(self.base_url.clone()),
            }),
            account: None,
            server: None,
            project: project_id.map(|id| Container {
                id: Some(id.to_string()),
                base_url: Some(self.base_url.clone()),
            }),
        }
    }

    /// Normalizes a REST object put into a hook resource shape. A resource that cannot be
    /// normalized is logged and skipped (it is counted as seen, not as published).
    pub fn normalize(
        &self,
        event_type: &str,
        resource_version: &str,
        resource: &Value,
        project_id: Option<&str>,
        created_date: Option<&str>,
    ) -> Option<NormalizedEvent> {
        let containers = self.containers(project_id);
        match normalize_resource(
            event_type,
            Some(resource_version),
            resource,
            &containers,
            created_date,
            &self.opts,
        ) {
            Ok(e) => Some(e),
            Err(NotNormalized::TooThin { missing, .. }) => {
                tracing::warn!(org = %self.org, event_type, missing, "REST object too thin to normalize; skipped");
                None
            }
            Err(e) => {
                tracing::warn!(org = %self.org, event_type, error = %e, "REST object not normalized; skipped");
                None
            }
        }
    }

    /// A work item's REST URL, as relations name their targets.
    pub fn work_item_url(&self, id: i64) -> String {
        format!(
            "{}/_apis/wit/workItems/{id}",
            self.base_url.trim_end_matches('/')
        )
    }

    pub fn project_by_name(&self, name: &str) -> Option<&Project> {
        self.all_projects
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// Whether an object of this project is in scope.
    pub fn in_scope(&self, project_id: &str) -> bool {
        self.projects
            .iter()
            .any(|p| p.id.eq_ignore_ascii_case(project_id))
    }

    /// Whether the pass covers every project (collection-wide routes can be used).
    pub fn all_in_scope(&self) -> bool {
        self.projects.len() == self.all_projects.len()
    }

    /// GET, counted per route; the client's error as is (callers tell 404 apart).
    pub async fn get_raw(&self, path: &str) -> Result<RestResponse, AdoError> {
        self.routes.count(path);
        self.client.get(path).await
    }

    pub async fn get(&self, path: &str) -> Result<RestResponse, ReconcileError> {
        Ok(self.get_raw(path).await?)
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<RestResponse, ReconcileError> {
        self.routes.count(path);
        Ok(self.client.post_json(path, body).await?)
    }

    pub async fn put(&self, path: &str, body: &Value) -> Result<RestResponse, ReconcileError> {
        self.routes.count(path);
        Ok(self.client.put_json(path, body).await?)
    }

    /// POST on its own task: the request is under way while the caller works on the previous
    /// response (read-ahead of paged reports).
    pub fn post_ahead(&self, path: String, body: Value) -> ReadAhead {
        self.routes.count(&path);
        let client = self.client.clone();
        let task = tokio::spawn(async move { client.post_json(&path, &body).await });
        ReadAhead(task)
    }

    /// An error for a response that lacks what the route promises.
    pub fn unexpected(&self, route: &str, message: impl Into<String>) -> ReconcileError {
        ReconcileError::UnexpectedResponse {
            org: self.org.clone(),
            route: route.to_string(),
            message: message.into(),
        }
    }
}

/// A request started by [`Ctx::post_ahead`]; dropping it cancels the request.
pub(crate) struct ReadAhead(tokio::task::JoinHandle<Result<RestResponse, AdoError>>);

impl ReadAhead {
    pub async fn response(mut self) -> Result<RestResponse, ReconcileError> {
        match (&mut self.0).await {
            Ok(r) => Ok(r?),
            Err(e) => Err(ReconcileError::Task(e.to_string())),
        }
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// `value` of a `{count, value}` list response.
pub(crate) fn values(resp: &RestResponse) -> &[Value] {
    resp.body
        .get("value")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Percent-encodes a path segment (project names may contain spaces and other reserved bytes).
pub(crate) fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Every project, following `x-ms-continuationtoken`.
async fn list_projects(
    client: &OrgClient,
    routes: &RouteCounts,
) -> Result<Vec<Project>, ReconcileError> {
    let mut out: BTreeMap<String, Project> = BTreeMap::new();
    let mut token: Option<String> = None;
    loop {
        let path = match &token {
            Some(t) => format!("_apis/projects?$top=100&continuationToken={}", seg(t)),
            None => "_apis/projects?$top=100".to_string(),
        };
        routes.count(&path);
        let resp = client.get(&path).await?;
        for p in values(&resp) {
            if let (Some(id), Some(name)) = (
                p.get("id").and_then(Value::as_str),
                p.get("name").and_then(Value::as_str),
            ) {
                out.insert(
                    id.to_ascii_lowercase(),
                    Project {
                        id: id.to_string(),
                        name: name.to_string(),
                    },
                );
            }
        }
        match resp.continuation_token {
            Some(t) if !values(&resp).is_empty() && token.as_deref() != Some(t.as_str()) => {
                token = Some(t)
            }
            _ => break,
        }
    }
    Ok(out.into_values().collect())
}
