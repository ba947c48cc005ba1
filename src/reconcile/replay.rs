//! Failed deliveries: `POST _apis/hooks/notificationsquery` lists the notifications Azure DevOps
//! gave up on, each with the original event it tried to send (`details.event`). That event goes
//! through the hook path (`normalize_hook`, `adoorigin = replay`), so it gets the id its hook would
//! have had — no other REST call is needed for it.
//!
//! The position is a `minCreatedDate`: the oldest notification still pending at the last look (it
//! may fail later), else the time of that look minus the overlap.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::ReconcileError;
use super::ctx::{Ctx, refused_status};
use super::walk::Walk;
use crate::normalize::time::{format_time, parse_time};
use crate::normalize::{NormalizeOptions, Origin, normalize_hook, parse_envelope};

/// Largest page asked for per subscription.
const MAX_RESULTS: u64 = 10_000;

#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Cursor {
    #[serde(default)]
    since: Option<DateTime<Utc>>,
}

/// Replays every failed notification created since the position.
pub(crate) async fn walk(w: &mut Walk<'_>) -> Result<(), ReconcileError> {
    let mut cursor: Cursor = w.load_cursor().await?;
    let started = Utc::now();
    let overlap = chrono::Duration::from_std(w.ctx.config.overlap).unwrap_or_default();
    // Notifications still pending may fail later: the next look starts at the oldest of them.
    let pending = match query(w.ctx, None, "pending", cursor.since, false).await {
        Ok(pending) => pending,
        // The notification history needs a permission a Reader does not have: without it the
        // failed deliveries are not replayed, and the other streams are not concerned.
        Err(e) => match refused_status(&e) {
            Some(status) => {
                w.ctx.note_gap(
                    w.stream,
                    "hooks/notificationsquery",
                    status,
                    "failed hook deliveries are not replayed",
                );
                super::streams::report_gaps(w);
                return Ok(());
            }
            None => return Err(e),
        },
    };
    let oldest_pending = pending
        .iter()
        .filter_map(|n| parse_time(n.get("createdDate").and_then(Value::as_str)))
        .min();
    let summary = query_summary(w.ctx, cursor.since).await?;
    let opts = NormalizeOptions {
        include_raw: w.ctx.opts.include_raw,
        origin: Origin::Replay,
        org_override: Some(w.ctx.org.clone()),
    };
    for (subscription, count) in summary {
        if w.cancel.is_cancelled() {
            return Err(ReconcileError::Cancelled);
        }
        let failed = query(
            w.ctx,
            Some((&subscription, count)),
            "failed",
            cursor.since,
            true,
        )
        .await?;
        let mut events = Vec::with_capacity(failed.len());
        for n in &failed {
            let Some(event) = n.pointer("/details/event").filter(|e| e.is_object()) else {
                continue;
            };
            let Ok(bytes) = serde_json::to_vec(event) else {
                continue;
            };
            match parse_envelope(&bytes) {
                Ok(env) if !env.is_test_notification() => events.push(normalize_hook(&env, &opts)),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(org = %w.ctx.org, %subscription, error = %e,
                        "failed notification without a usable event; skipped")
                }
            }
        }
        w.commit(events, failed.len() as u64, &cursor).await?;
    }
    cursor.since = Some(
        oldest_pending
            .unwrap_or(started - overlap)
            .min(started - overlap),
    );
    w.commit(Vec::new(), 0, &cursor).await
}

/// `(subscription id, failed count)` of the subscriptions with failed notifications.
async fn query_summary(
    ctx: &Ctx,
    since: Option<DateTime<Utc>>,
) -> Result<Vec<(String, u64)>, ReconcileError> {
    let mut body = json!({"resultType": "failed", "includeDetails": false, "maxResults": 1});
    if let Some(s) = since {
        body["minCreatedDate"] = json!(format_time(&s));
    }
    let resp = ctx.post("_apis/hooks/notificationsquery", &body).await?;
    let mut out = Vec::new();
    for s in resp
        .body
        .get("summary")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(id) = s.get("subscriptionId").and_then(Value::as_str) else {
            continue;
        };
        let failed: u64 = s
            .get("results")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|r| r.get("result").and_then(Value::as_str) == Some("failed"))
            .filter_map(|r| r.get("notificationCount").and_then(Value::as_u64))
            .sum();
        if failed > 0 {
            out.push((id.to_string(), failed));
        }
    }
    Ok(out)
}

/// The notifications of one result (optionally of one subscription, sized to its count).
async fn query(
    ctx: &Ctx,
    subscription: Option<(&str, u64)>,
    result: &str,
    since: Option<DateTime<Utc>>,
    details: bool,
) -> Result<Vec<Value>, ReconcileError> {
    let mut body = json!({
        "resultType": result,
        "includeDetails": details,
        "maxResults": MAX_RESULTS,
    });
    if let Some((id, count)) = subscription {
        body["subscriptionIds"] = json!([id]);
        body["maxResults"] = json!(count.clamp(1, MAX_RESULTS));
        body["maxResultsPerSubscription"] = json!(count.clamp(1, MAX_RESULTS));
    }
    if let Some(s) = since {
        body["minCreatedDate"] = json!(format_time(&s));
    }
    let resp = ctx.post("_apis/hooks/notificationsquery", &body).await?;
    Ok(resp
        .body
        .get("results")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default())
}
