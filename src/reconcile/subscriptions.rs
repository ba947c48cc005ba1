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

pub(super) async fn repair(
    ctx: &Ctx,
    hook_url: &str,
    credentials: &[HookCredential],
) -> Result<Repair, ReconcileError> {
    let resp = ctx
        .get("_apis/hooks/subscriptions?consumerId=webHooks")
        .await?;
    let mut out = Repair::default();
    for sub in super::ctx::values(&resp) {
        let inputs = &sub["consumerInputs"];
        if !inputs["url"]
            .as_str()
            .is_some_and(|u| posts_to(u, hook_url))
        {
            continue;
        }
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
