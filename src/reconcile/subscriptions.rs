//! Keeps the web-hook subscriptions that deliver to ado-ingest switched on. Azure DevOps puts a
//! subscription on probation after a failed delivery (new events are then dropped without a
//! trace) and disables it when probation retries run out; the reconciler finds what was lost
//! meanwhile, but every event REST cannot reveal is gone for good. So each pass lists the
//! organization's web-hook subscriptions, and those posting to `reconcile.hook_url` (or below it)
//! that are `onProbation` or `disabledBySystem` are put back to `enabled`, with the password of
//! their user from `hook_credentials` (Azure DevOps returns it masked). Subscriptions a user
//! disabled are left alone.

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

/// What `subscriptions sync` did (or, with `dry_run`, would do) for one event type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncLine {
    pub event_type: &'static str,
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
}

impl std::fmt::Display for SyncAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Created => f.write_str("created"),
            Self::Repaired(what) => write!(f, "repaired ({})", what.join(", ")),
            Self::Unchanged => f.write_str("ok"),
            Self::DisabledByUser => f.write_str("left disabled (by a user)"),
            Self::NotOnServer => f.write_str("not raised by Azure DevOps Server"),
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

/// Makes the organization's web-hook subscriptions to `hook_url` what ado-ingest needs: one per
/// event type of [`EVENT_KINDS`](crate::ado::events::EVENT_KINDS) (Server: those it raises),
/// organization-wide, at the pinned resource version, enabled, posting with `credential`. Creates
/// what is missing and repairs what drifted (a subscription a user disabled stays disabled).
pub async fn sync(
    client: &crate::ado::OrgClient,
    hook_url: &str,
    credential: Option<&HookCredential>,
    dry_run: bool,
) -> Result<Vec<SyncLine>, ReconcileError> {
    let on_server = client
        .connect()
        .await?
        .deployment_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("onPremises"));
    let listed = client.get(WEB_HOOK_SUBSCRIPTIONS).await?;
    let existing: Vec<&serde_json::Value> = ours(&listed, hook_url).collect();
    let mut lines = Vec::new();
    for kind in crate::ado::events::EVENT_KINDS {
        let pinned = kind.resource_versions[0];
        if on_server && !kind.on_server {
            lines.push(SyncLine {
                event_type: kind.event_type,
                subscription: None,
                action: SyncAction::NotOnServer,
            });
            continue;
        }
        let Some(sub) = existing
            .iter()
            .find(|s| s["eventType"].as_str() == Some(kind.event_type))
        else {
            let body = json!({
                "publisherId": kind.publisher_id,
                "eventType": kind.event_type,
                "resourceVersion": pinned,
                "consumerId": "webHooks",
                "consumerActionId": "httpRequest",
                "publisherInputs": {},
                "consumerInputs": consumer_inputs(hook_url, credential),
            });
            let id = if dry_run {
                None
            } else {
                let created = client.post_json("_apis/hooks/subscriptions", &body).await?;
                created.body["id"].as_str().map(str::to_string)
            };
            lines.push(SyncLine {
                event_type: kind.event_type,
                subscription: id,
                action: SyncAction::Created,
            });
            continue;
        };
        let id = sub["id"].as_str().unwrap_or_default().to_string();
        let status = sub["status"].as_str().unwrap_or_default();
        if status.eq_ignore_ascii_case("disabledByUser") {
            lines.push(SyncLine {
                event_type: kind.event_type,
                subscription: Some(id),
                action: SyncAction::DisabledByUser,
            });
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
            lines.push(SyncLine {
                event_type: kind.event_type,
                subscription: Some(id),
                action: SyncAction::Unchanged,
            });
            continue;
        }
        if !dry_run {
            let mut body = (*sub).clone();
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
        lines.push(SyncLine {
            event_type: kind.event_type,
            subscription: Some(id),
            action: SyncAction::Repaired(drift),
        });
    }
    Ok(lines)
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
