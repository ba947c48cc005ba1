//! Service-hook routes: subscriptions (create, list with filters, get, replace, delete),
//! `subscriptionsquery` (filters on publisher and consumer inputs), a subscription's
//! notifications, and `notificationsquery` (failed deliveries with the original event in
//! `details.event`).

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use axum::response::IntoResponse;
use serde_json::json;

use super::paging::opt_u64;
use super::{ApiError, ApiResult, Req, list, ok};
use crate::clock::parse_query_time;
use crate::delivery::notification::NotificationsQuery;
use crate::delivery::subscription::SubscriptionRequest;
use crate::ops;
use crate::shared::Shared;

fn body<T: serde::de::DeserializeOwned>(req: &Req) -> Result<T, ApiError> {
    serde_json::from_slice(&req.body)
        .map_err(|e| ApiError::bad_request(format!("The request body is not valid: {e}")))
}

pub(super) fn route(shared: &Arc<Shared>, req: &Req, path: &[&str]) -> ApiResult {
    let org_name = shared.world().orgs[req.org].name.clone();
    match (&req.method, path) {
        (&Method::POST, ["subscriptions"]) => ok(ops::create_subscription(
            shared,
            &org_name,
            body::<SubscriptionRequest>(req)?,
        )?),
        (&Method::GET, ["subscriptions"]) => subscriptions(shared, req),
        (&Method::POST, ["subscriptionsquery"]) => {
            subscriptions_query(shared, req, body::<SubscriptionsQuery>(req)?)
        }
        (&Method::GET, ["subscriptions", id]) => {
            let world = shared.world();
            let org = &world.orgs[req.org];
            let sub = org
                .subscriptions
                .iter()
                .find(|s| s.id.eq_ignore_ascii_case(id))
                .ok_or_else(|| ApiError::not_found(format!("Subscription {id} does not exist.")))?;
            ok(sub.to_json(org))
        }
        (&Method::PUT, ["subscriptions", id]) => ok(ops::replace_subscription(
            shared,
            &org_name,
            id,
            body::<SubscriptionRequest>(req)?,
        )?),
        (&Method::DELETE, ["subscriptions", id]) => {
            ops::delete_subscription(shared, &org_name, id)?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        (&Method::GET, ["subscriptions", id, "notifications"]) => {
            notifications(shared, req, id, None)
        }
        (&Method::GET, ["subscriptions", id, "notifications", nid]) => {
            let n: u64 = nid
                .parse()
                .map_err(|_| ApiError::bad_request(format!("'{nid}' is not a notification id.")))?;
            notifications(shared, req, id, Some(n))
        }
        (&Method::POST, ["notificationsquery"]) => {
            query(shared, req, body::<NotificationsQuery>(req)?)
        }
        _ => Err(ApiError::not_found(
            "The requested hooks route is not simulated.",
        )),
    }
}

/// `publisherId`, `eventType`, `consumerId`, `consumerActionId` filters.
fn subscriptions(shared: &Arc<Shared>, req: &Req) -> ApiResult {
    let world = shared.world();
    let org = &world.orgs[req.org];
    let eq = |name: &str, v: &str| req.q(name).is_none_or(|w| w.eq_ignore_ascii_case(v));
    let values = org
        .subscriptions
        .iter()
        .filter(|s| {
            eq("publisherId", &s.request.publisher_id)
                && eq("eventType", &s.request.event_type)
                && eq("consumerId", &s.request.consumer_id)
                && eq("consumerActionId", &s.request.consumer_action_id)
        })
        .map(|s| s.to_json(org))
        .collect();
    ok(list(values))
}

/// Body of `POST _apis/hooks/subscriptionsquery` (SubscriptionsQuery).
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct SubscriptionsQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    publisher_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    event_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    consumer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    consumer_action_id: Option<String>,
    #[serde(default)]
    publisher_input_filters: Vec<InputFilter>,
    #[serde(default)]
    consumer_input_filters: Vec<InputFilter>,
}

/// An `InputFilter`: all its conditions hold. Several filters: any of them.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct InputFilter {
    #[serde(default)]
    conditions: Vec<InputCondition>,
}

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct InputCondition {
    input_id: String,
    /// `equals` or `notEquals`.
    #[serde(default)]
    operator: Option<String>,
    #[serde(default)]
    input_value: Option<String>,
    #[serde(default)]
    case_sensitive: Option<bool>,
}

fn filters_hold(
    filters: &[InputFilter],
    inputs: &std::collections::BTreeMap<String, String>,
) -> bool {
    filters.is_empty()
        || filters.iter().any(|f| {
            f.conditions.iter().all(|c| {
                let have = inputs.get(&c.input_id).map(String::as_str).unwrap_or("");
                let want = c.input_value.as_deref().unwrap_or("");
                let equal = if c.case_sensitive == Some(true) {
                    have == want
                } else {
                    have.eq_ignore_ascii_case(want)
                };
                match c.operator.as_deref() {
                    Some(op) if op.eq_ignore_ascii_case("notEquals") => !equal,
                    _ => equal,
                }
            })
        })
}

/// The query echoed with its `results`, as Azure DevOps answers it.
fn subscriptions_query(shared: &Arc<Shared>, req: &Req, q: SubscriptionsQuery) -> ApiResult {
    let world = shared.world();
    let org = &world.orgs[req.org];
    let eq =
        |want: &Option<String>, v: &str| want.as_deref().is_none_or(|w| w.eq_ignore_ascii_case(v));
    let results: Vec<serde_json::Value> = org
        .subscriptions
        .iter()
        .filter(|s| {
            eq(&q.publisher_id, &s.request.publisher_id)
                && eq(&q.event_type, &s.request.event_type)
                && eq(&q.consumer_id, &s.request.consumer_id)
                && eq(&q.consumer_action_id, &s.request.consumer_action_id)
                && filters_hold(&q.publisher_input_filters, &s.request.publisher_inputs)
                && filters_hold(&q.consumer_input_filters, &s.request.consumer_inputs)
        })
        .map(|s| s.to_json(org))
        .collect();
    let mut answer = serde_json::to_value(&q).unwrap_or_else(|_| json!({}));
    answer["results"] = json!(results);
    ok(answer)
}

fn notifications(shared: &Arc<Shared>, req: &Req, id: &str, one: Option<u64>) -> ApiResult {
    let world = shared.world();
    let org = &world.orgs[req.org];
    let sub = org
        .subscriptions
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(id))
        .ok_or_else(|| ApiError::not_found(format!("Subscription {id} does not exist.")))?;
    let sub_json = sub.to_json(org);
    if let Some(nid) = one {
        let n = sub
            .notifications
            .iter()
            .find(|n| n.id == nid)
            .ok_or_else(|| ApiError::not_found(format!("Notification {nid} does not exist.")))?;
        return ok(n.to_json(&sub.id, &sub.created_by.id, &sub_json, true));
    }
    let max = opt_u64(req, "maxResults")?
        .map(|m| m as usize)
        .unwrap_or(100);
    let status = req.q("status");
    let result = req.q("result");
    let values = sub
        .notifications
        .iter()
        .rev()
        .filter(|n| status.is_none_or(|s| n.status.as_str().eq_ignore_ascii_case(s)))
        .filter(|n| result.is_none_or(|r| n.result.as_str().eq_ignore_ascii_case(r)))
        .take(max)
        .map(|n| n.to_json(&sub.id, &sub.created_by.id, &sub_json, false))
        .collect();
    ok(list(values))
}

fn query(shared: &Arc<Shared>, req: &Req, q: NotificationsQuery) -> ApiResult {
    let min = q
        .min_created_date
        .as_deref()
        .map(|s| {
            parse_query_time(s).ok_or_else(|| ApiError::bad_request("Invalid minCreatedDate."))
        })
        .transpose()?;
    let max = q
        .max_created_date
        .as_deref()
        .map(|s| {
            parse_query_time(s).ok_or_else(|| ApiError::bad_request("Invalid maxCreatedDate."))
        })
        .transpose()?;
    if q.max_results_per_subscription.is_some() && q.subscription_ids.is_empty() {
        return Err(ApiError::bad_request(
            "maxResultsPerSubscription requires subscriptionIds.",
        ));
    }
    let world = shared.world();
    let org = &world.orgs[req.org];
    let mut results = Vec::new();
    let mut summary = Vec::new();
    let mut associated = Vec::new();
    for sub in &org.subscriptions {
        if !q.subscription_ids.is_empty()
            && !q
                .subscription_ids
                .iter()
                .any(|i| i.eq_ignore_ascii_case(&sub.id))
        {
            continue;
        }
        if q.publisher_id
            .as_deref()
            .is_some_and(|p| !p.eq_ignore_ascii_case(&sub.request.publisher_id))
        {
            continue;
        }
        let sub_json = sub.to_json(org);
        let matching: Vec<_> = sub
            .notifications
            .iter()
            .filter(|n| min.is_none_or(|m| n.created >= m) && max.is_none_or(|m| n.created <= m))
            .filter(|n| {
                q.result_type
                    .as_deref()
                    .is_none_or(|r| n.result.as_str().eq_ignore_ascii_case(r))
            })
            .filter(|n| {
                q.status
                    .as_deref()
                    .is_none_or(|s| n.status.as_str().eq_ignore_ascii_case(s))
            })
            .collect();
        if matching.is_empty() {
            continue;
        }
        let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
        for n in &matching {
            *counts.entry(n.result.as_str()).or_default() += 1;
        }
        summary.push(json!({
            "subscriptionId": sub.id,
            "results": counts.iter().map(|(r, c)| json!({"result": r, "notificationCount": c})).collect::<Vec<_>>(),
        }));
        let per_sub = q.max_results_per_subscription.unwrap_or(usize::MAX);
        results.extend(
            matching
                .iter()
                .take(per_sub)
                .map(|n| n.to_json(&sub.id, &sub.created_by.id, &sub_json, q.include_details)),
        );
        associated.push(sub_json);
    }
    results.truncate(q.max_results.unwrap_or(100));
    ok(json!({
        "subscriptionIds": q.subscription_ids,
        "publisherId": q.publisher_id,
        "minCreatedDate": q.min_created_date,
        "maxCreatedDate": q.max_created_date,
        "resultType": q.result_type,
        "status": q.status,
        "includeDetails": q.include_details,
        "maxResults": q.max_results,
        "maxResultsPerSubscription": q.max_results_per_subscription,
        "results": results,
        "summary": summary,
        "associatedSubscriptions": associated,
    }))
}
