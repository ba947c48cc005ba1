//! Keeps the web-hook subscriptions that deliver to ado-ingest switched on. Azure DevOps puts a
//! subscription on probation after a failed delivery (new events are then dropped without a
//! trace) and disables it when probation retries run out; the reconciler finds what was lost
//! meanwhile, but every event REST cannot reveal is gone for good. So each pass lists the
//! organization's web-hook subscriptions, and those posting to `reconcile.hook_url` (or below it)
//! that are `onProbation` or `disabledBySystem` are put back to `enabled`, with the password of
//! their user from `hook_credentials` (Azure DevOps returns it masked). Subscriptions a user
//! disabled are left alone.

use std::collections::BTreeMap;

use serde_json::json;

use super::ReconcileError;
use super::ctx::Ctx;
use crate::config::HookCredential;

/// What one look at the subscriptions did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Repair {
    /// Subscriptions posting to this service.
    pub ours: usize,
    /// Ids put back to `enabled`.
    pub reenabled: Vec<String>,
    /// Ids that need a repair this service cannot make (unknown user), with the reason.
    pub unrepairable: Vec<(String, String)>,
}

/// Whether a subscription's target URL is `hook_url` or a path below it (`/hooks/{org}`).
fn posts_to(url: &str, hook_url: &str) -> bool {
    let (url, base) = (url.trim_end_matches('/'), hook_url.trim_end_matches('/'));
    url.eq_ignore_ascii_case(base)
        || url
            .to_ascii_lowercase()
            .starts_with(&format!("{}/", base.to_ascii_lowercase()))
}

/// The organization's web-hook subscriptions.
const WEB_HOOK_SUBSCRIPTIONS: &str = "_apis/hooks/subscriptions?consumerId=webHooks";

/// The subscriptions of a `WEB_HOOK_SUBSCRIPTIONS` answer that post to `hook_url`.
fn ours<'a>(
    listed: &'a crate::ado::RestResponse,
    hook_url: &'a str,
) -> impl Iterator<Item = &'a serde_json::Value> {
    super::ctx::values(listed).iter().filter(move |s| {
        s["consumerInputs"]["url"]
            .as_str()
            .is_some_and(|u| posts_to(u, hook_url))
    })
}

pub(super) async fn repair(
    ctx: &Ctx,
    hook_url: &str,
    credentials: &[HookCredential],
) -> Result<Repair, ReconcileError> {
    let resp = ctx.get(WEB_HOOK_SUBSCRIPTIONS).await?;
    let mut out = Repair::default();
    for sub in ours(&resp, hook_url) {
        let inputs = &sub["consumerInputs"];
        out.ours += 1;
        let status = sub["status"].as_str().unwrap_or_default();
        if !matches!(status, "onProbation" | "disabledBySystem") {
            continue;
        }
        let Some(id) = sub["id"].as_str() else {
            continue;
        };
        let mut body = sub.clone();
        body["status"] = json!("enabled");
        let user = inputs["basicAuthUsername"].as_str().unwrap_or_default();
        if !user.is_empty() {
            match credentials.iter().find(|c| c.username == user) {
                Some(c) => body["consumerInputs"]["basicAuthPassword"] = json!(c.password.expose()),
                None => {
                    out.unrepairable.push((
                        id.to_string(),
                        format!("its user {user:?} is not one of hook_credentials"),
                    ));
                    continue;
                }
            }
        }
        ctx.put(&format!("_apis/hooks/subscriptions/{id}"), &body)
            .await?;
        tracing::warn!(org = %ctx.org, subscription = id, event_type = %sub["eventType"].as_str().unwrap_or_default(),
            previous = status, "web-hook subscription re-enabled");
        metrics::counter!("ado_ingest_subscriptions_reenabled_total", "org" => ctx.org.clone())
            .increment(1);
        out.reenabled.push(id.to_string());
    }
    for (id, why) in &out.unrepairable {
        tracing::warn!(org = %ctx.org, subscription = %id, reason = %why,
            "web-hook subscription on probation or disabled, not re-enabled");
    }
    Ok(out)
}

/// What `subscriptions sync` did (or, with `dry_run`, would do) for one event type and scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncLine {
    pub event_type: String,
    /// The project the subscription is scoped to (its name), `None` for organization-wide.
    pub project: Option<String>,
    pub subscription: Option<String>,
    pub action: SyncAction,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncAction {
    Created,
    /// What was put right (status, URL, resource version, user or password).
    Repaired(Vec<String>),
    Unchanged,
    /// Disabled by a user: a choice to respect, not a fault to repair.
    DisabledByUser,
    /// Not raised by this Azure DevOps Server (job events are Services-only).
    NotOnServer,
    /// Ours (posting to the hook URL) but no longer wanted — another scope, an event type
    /// ado-ingest no longer subscribes to, or a second one for the same type and scope — and
    /// deleted (`--prune`).
    Pruned,
    /// As `Pruned`, without `--prune`: left in place.
    Unwanted,
}

impl std::fmt::Display for SyncAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Created => f.write_str("created"),
            Self::Repaired(what) => write!(f, "repaired ({})", what.join(", ")),
            Self::Unchanged => f.write_str("ok"),
            Self::DisabledByUser => f.write_str("left disabled (by a user)"),
            Self::NotOnServer => f.write_str("not raised by Azure DevOps Server"),
            Self::Pruned => f.write_str("deleted (no longer wanted)"),
            Self::Unwanted => f.write_str("no longer wanted (--prune deletes it)"),
        }
    }
}

/// The consumer inputs of a subscription to `hook_url` with `credential` (full resources, no
/// messages: the receiver reads resources only).
fn consumer_inputs(hook_url: &str, credential: Option<&HookCredential>) -> serde_json::Value {
    let mut inputs = json!({
        "url": hook_url,
        "resourceDetailsToSend": "all",
        "messagesToSend": "none",
        "detailedMessagesToSend": "none",
    });
    if let Some(c) = credential {
        inputs["basicAuthUsername"] = json!(c.username);
        inputs["basicAuthPassword"] = json!(c.password.expose());
    }
    inputs
}

/// The web-hook subscriptions posting to exactly `hook_url`, by the filtered query
/// (`hooks/subscriptionsquery` with a consumer-input filter on `url`), so a large organization's
/// other subscriptions are never listed. A server without the query (404) is asked for its
/// web-hook subscriptions instead, filtered here. An error (a 429 or 5xx the client gave up on)
/// is returned: nothing may be created from an incomplete list.
pub async fn list_ours(
    client: &crate::ado::OrgClient,
    hook_url: &str,
) -> Result<Vec<serde_json::Value>, ReconcileError> {
    let query = json!({
        "consumerId": "webHooks",
        "consumerActionId": "httpRequest",
        "consumerInputFilters": [{
            "conditions": [{ "inputId": "url", "operator": "equals", "inputValue": hook_url }],
        }],
    });
    let same = |s: &serde_json::Value| {
        s["consumerInputs"]["url"].as_str().is_some_and(|u| {
            u.trim_end_matches('/')
                .eq_ignore_ascii_case(hook_url.trim_end_matches('/'))
        })
    };
    match client
        .post_json("_apis/hooks/subscriptionsquery", &query)
        .await
    {
        Ok(r) => Ok(r.body["results"]
            .as_array()
            .map(|l| l.iter().filter(|s| same(s)).cloned().collect())
            .unwrap_or_default()),
        Err(e) if e.is_not_found() => {
            let listed = client.get(WEB_HOOK_SUBSCRIPTIONS).await?;
            Ok(super::ctx::values(&listed)
                .iter()
                .filter(|s| same(s))
                .cloned()
                .collect())
        }
        Err(e) => Err(e.into()),
    }
}

/// Project id → name of every project, and the configured `projects` (names or ids) as ids.
async fn resolve_projects(
    client: &crate::ado::OrgClient,
    wanted: &[String],
) -> Result<(BTreeMap<String, String>, Vec<String>), ReconcileError> {
    let mut names = BTreeMap::new();
    let mut token: Option<String> = None;
    loop {
        let path = match &token {
            Some(t) => format!(
                "_apis/projects?$top=100&continuationToken={}",
                super::ctx::seg(t)
            ),
            None => "_apis/projects?$top=100".to_string(),
        };
        let resp = client.get(&path).await?;
        for p in super::ctx::values(&resp) {
            if let (Some(id), Some(name)) = (p["id"].as_str(), p["name"].as_str()) {
                names.insert(id.to_ascii_lowercase(), name.to_string());
            }
        }
        match resp.continuation_token {
            Some(t)
                if token.as_deref() != Some(t.as_str())
                    && !super::ctx::values(&resp).is_empty() =>
            {
                token = Some(t)
            }
            _ => break,
        }
    }
    let mut ids = Vec::new();
    for w in wanted {
        let w = w.trim();
        let id = names
            .iter()
            .find(|(id, name)| id.eq_ignore_ascii_case(w) || name.eq_ignore_ascii_case(w))
            .map(|(id, _)| id.clone())
            .ok_or_else(|| {
                ReconcileError::Config(format!(
                    "project {w:?} is not one the identity can read in {}",
                    client.name()
                ))
            })?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok((names, ids))
}

/// A subscription's project scope (`publisherInputs.projectId`), lowercase; `None`: all projects.
fn scope_of(sub: &serde_json::Value) -> Option<String> {
    sub["publisherInputs"]["projectId"]
        .as_str()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_ascii_lowercase)
}

/// What `sync` is asked to do.
#[derive(Debug, Clone, Copy)]
pub struct SyncOptions<'a> {
    pub hook_url: &'a str,
    pub credential: Option<&'a HookCredential>,
    /// The organization's `projects` (names or ids): one subscription per event type and
    /// project; empty: one per event type for the whole organization.
    pub projects: &'a [String],
    pub dry_run: bool,
    /// Delete ours that are no longer wanted.
    pub prune: bool,
}

/// Makes the organization's web-hook subscriptions to `hook_url` what ado-ingest needs: one per
/// event type of [`EVENT_KINDS`](crate::ado::events::EVENT_KINDS) (Server: those it raises) and
/// scope (the organization, or each configured project), at the pinned resource version,
/// enabled, posting with `credential`. Creates what is missing, repairs what drifted (one a user
/// disabled stays disabled) and, with `prune`, deletes ours that are not wanted; subscriptions
/// posting elsewhere are never touched. It lists first and creates only from a complete list; a
/// create is never retried blindly (a lost answer is found by the next run's list), so no run
/// makes a duplicate.
pub async fn sync(
    client: &crate::ado::OrgClient,
    opts: SyncOptions<'_>,
) -> Result<Vec<SyncLine>, ReconcileError> {
    let SyncOptions {
        hook_url,
        credential,
        projects,
        dry_run,
        prune,
    } = opts;
    let on_server = client
        .connect()
        .await?
        .deployment_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("onPremises"));
    let (names, scoped) = if projects.is_empty() {
        (BTreeMap::new(), Vec::new())
    } else {
        resolve_projects(client, projects).await?
    };
    let scopes: Vec<Option<String>> = if scoped.is_empty() {
        vec![None]
    } else {
        scoped.into_iter().map(Some).collect()
    };
    let name_of = |scope: &Option<String>| {
        scope
            .as_ref()
            .map(|id| names.get(id).cloned().unwrap_or_else(|| id.clone()))
    };
    let existing = list_ours(client, hook_url).await?;
    let mut kept: Vec<&str> = Vec::new();
    let mut lines = Vec::new();
    for kind in crate::ado::events::EVENT_KINDS {
        let pinned = kind.resource_versions[0];
        for scope in &scopes {
            let line = |subscription: Option<String>, action| SyncLine {
                event_type: kind.event_type.to_string(),
                project: name_of(scope),
                subscription,
                action,
            };
            if on_server && !kind.on_server {
                lines.push(line(None, SyncAction::NotOnServer));
                continue;
            }
            // Of several for one type and scope, the enabled one is kept.
            let mut candidates: Vec<&serde_json::Value> = existing
                .iter()
                .filter(|s| {
                    s["eventType"].as_str() == Some(kind.event_type) && scope_of(s) == *scope
                })
                .collect();
            candidates.sort_by_key(|s| s["status"].as_str() != Some("enabled"));
            let Some(sub) = candidates.first().copied() else {
                let mut publisher_inputs = json!({});
                if let Some(p) = scope {
                    publisher_inputs["projectId"] = json!(p);
                }
                let body = json!({
                    "publisherId": kind.publisher_id,
                    "eventType": kind.event_type,
                    "resourceVersion": pinned,
                    "consumerId": "webHooks",
                    "consumerActionId": "httpRequest",
                    "publisherInputs": publisher_inputs,
                    "consumerInputs": consumer_inputs(hook_url, credential),
                });
                let id = if dry_run {
                    None
                } else {
                    let created = client
                        .post_json_once("_apis/hooks/subscriptions", &body)
                        .await?;
                    created.body["id"].as_str().map(str::to_string)
                };
                lines.push(line(id, SyncAction::Created));
                continue;
            };
            let id = sub["id"].as_str().unwrap_or_default().to_string();
            kept.push(sub["id"].as_str().unwrap_or_default());
            let status = sub["status"].as_str().unwrap_or_default();
            if status.eq_ignore_ascii_case("disabledByUser") {
                lines.push(line(Some(id), SyncAction::DisabledByUser));
                continue;
            }
            let inputs = &sub["consumerInputs"];
            let mut drift = Vec::new();
            if status != "enabled" {
                drift.push(format!("status {status}"));
            }
            if inputs["url"].as_str() != Some(hook_url) {
                drift.push("url".to_string());
            }
            if sub["resourceVersion"].as_str().is_some_and(|v| v != pinned) {
                drift.push(format!("resource version {}", sub["resourceVersion"]));
            }
            let user = inputs["basicAuthUsername"].as_str().unwrap_or_default();
            if credential.is_some_and(|c| c.username != user) {
                drift.push("user".to_string());
            }
            if drift.is_empty() {
                lines.push(line(Some(id), SyncAction::Unchanged));
                continue;
            }
            if !dry_run {
                let mut body = sub.clone();
                body["status"] = json!("enabled");
                body["resourceVersion"] = json!(pinned);
                body["consumerInputs"] = {
                    let mut merged = inputs.clone();
                    if let (Some(m), Some(fresh)) = (
                        merged.as_object_mut(),
                        consumer_inputs(hook_url, credential).as_object().cloned(),
                    ) {
                        m.extend(fresh);
                    }
                    merged
                };
                client
                    .put_json(&format!("_apis/hooks/subscriptions/{id}"), &body)
                    .await?;
            }
            lines.push(line(Some(id), SyncAction::Repaired(drift)));
        }
    }
    for sub in &existing {
        let Some(id) = sub["id"].as_str() else {
            continue;
        };
        if kept.contains(&id) {
            continue;
        }
        if prune && !dry_run {
            client
                .delete(&format!("_apis/hooks/subscriptions/{id}"))
                .await?;
        }
        let scope = scope_of(sub);
        lines.push(SyncLine {
            event_type: sub["eventType"].as_str().unwrap_or_default().to_string(),
            project: name_of(&scope),
            subscription: Some(id.to_string()),
            action: if prune {
                SyncAction::Pruned
            } else {
                SyncAction::Unwanted
            },
        });
    }
    Ok(lines)
}

/// One of our subscriptions as `subscriptions list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedSubscription {
    pub id: String,
    pub event_type: String,
    /// Project name (or id when unreadable); `None`: the whole organization.
    pub project: Option<String>,
    pub status: String,
    pub probation_retries: u64,
    /// The newest failed delivery: time and what the receiver answered, if any.
    pub last_failure: Option<String>,
}

/// Our subscriptions with their health: the filtered list, plus one call per subscription that
/// has failed lately (probation retries or not enabled) for its newest failed notification.
pub async fn list(
    client: &crate::ado::OrgClient,
    hook_url: &str,
) -> Result<Vec<ListedSubscription>, ReconcileError> {
    let ours = list_ours(client, hook_url).await?;
    let (names, _) = resolve_projects(client, &[]).await?;
    let mut out = Vec::new();
    for sub in &ours {
        let id = sub["id"].as_str().unwrap_or_default().to_string();
        let status = sub["status"].as_str().unwrap_or_default().to_string();
        let probation_retries = sub["probationRetries"].as_u64().unwrap_or(0);
        let troubled = probation_retries > 0 || status != "enabled";
        let last_failure = if troubled {
            let path =
                format!("_apis/hooks/subscriptions/{id}/notifications?result=failed&maxResults=1");
            match client.get(&path).await {
                Ok(r) => super::ctx::values(&r).first().map(|n| {
                    let when = n["createdDate"].as_str().unwrap_or("?");
                    match n["details"]["response"]["statusCode"]
                        .as_u64()
                        .or_else(|| n["details"]["statusCode"].as_u64())
                    {
                        Some(code) => format!("{when} (HTTP {code})"),
                        None => when.to_string(),
                    }
                }),
                Err(_) => None,
            }
        } else {
            None
        };
        out.push(ListedSubscription {
            id,
            event_type: sub["eventType"].as_str().unwrap_or_default().to_string(),
            project: scope_of(sub).map(|p| names.get(&p).cloned().unwrap_or(p)),
            status,
            probation_retries,
            last_failure,
        });
    }
    out.sort_by(|a, b| (&a.event_type, &a.project).cmp(&(&b.event_type, &b.project)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::posts_to;

    #[test]
    fn subscriptions_below_the_hook_url_are_ours() {
        let base = "https://ingest.example.com/hooks";
        assert!(posts_to("https://ingest.example.com/hooks", base));
        assert!(posts_to("https://INGEST.example.com/hooks/contoso/", base));
        assert!(!posts_to("https://ingest.example.com/hooksmith", base));
        assert!(!posts_to("https://other.example.com/hooks", base));
    }
}
