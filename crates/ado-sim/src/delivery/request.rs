//! One delivery attempt: picking the next notification (with the reorder/delay/duplicate faults),
//! building the request the way Azure DevOps does (Basic credentials, custom headers,
//! `X-VSS-SubscriptionId`, `X-VSS-ActivityId`), sending it and classifying the outcome.

use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use sha2::{Digest, Sha256};

use super::Counters;
use super::notification::NotificationStatus;
use super::subscription::SubscriptionStatus;
use crate::shared::Shared;

/// How Azure DevOps classifies a delivery attempt (docs/contract.md#delivery-rules).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Outcome {
    Success,
    /// 408, 502, 503, 504 or a timeout: retried quickly.
    Transient,
    /// 410: the subscription is disabled at once.
    Gone,
    /// Anything else (500, 404, 401, connection refused …): probation.
    Enduring,
}

pub(super) struct Job {
    pub nid: u64,
    pub url: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub delay: Option<Duration>,
    pub duplicate: bool,
}

pub(super) enum Next {
    Job(Box<Job>),
    Idle,
    Exit,
}

fn header_value(s: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(s).ok()
}

pub(super) fn next_job(shared: &Shared, org: usize, sub_id: &str) -> Next {
    let mut world = shared.world();
    // Read under the world lock: a fault change made before the notification existed applies.
    let faults = shared.controls().faults;
    let Some(sub) = world.orgs[org]
        .subscriptions
        .iter_mut()
        .find(|s| s.id == sub_id)
    else {
        return Next::Exit;
    };
    if sub.status != SubscriptionStatus::Enabled || sub.queue.is_empty() {
        return Next::Idle;
    }
    let reorder = sub.queue.len() >= 2 && sub.rng.chance(faults.reorder);
    let nid = if reorder {
        sub.queue.remove(1)
    } else {
        sub.queue.pop_front()
    };
    let Some(nid) = nid else { return Next::Idle };
    let delay = sub.rng.chance(faults.delay).then(|| {
        faults
            .max_delay
            .mul_f64(sub.rng.between(0, 1000) as f64 / 1000.0)
    });
    let duplicate = sub.rng.chance(faults.duplicate);
    let (url, headers) = target(sub_id, &sub.request.consumer_inputs);
    let Some(n) = sub.notification_mut(nid) else {
        return Next::Idle;
    };
    n.status = NotificationStatus::Processing;
    n.dequeued = Some(chrono::Utc::now());
    let body = n.body.clone();
    if reorder {
        Counters::bump(&shared.counters.reordered);
    }
    if delay.is_some() {
        Counters::bump(&shared.counters.delayed);
    }
    Next::Job(Box::new(Job {
        nid,
        url,
        headers,
        body,
        delay: delay.map(|d| shared.scaled(d.as_secs_f64())),
        duplicate,
    }))
}

/// Where and how a notification is POSTed, from the subscription's consumer inputs as they are
/// now (a retry after the user fixed the URL or password uses the fixed ones).
fn target(
    sub_id: &str,
    inputs: &std::collections::BTreeMap<String, String>,
) -> (String, HeaderMap) {
    let mut headers = HeaderMap::new();
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert(
        "user-agent",
        HeaderValue::from_static("VSServices/19.0 (ado-ingest simulator)"),
    );
    if let Some(v) = header_value(sub_id) {
        headers.insert("x-vss-subscriptionid", v);
    }
    let user = inputs
        .get("basicAuthUsername")
        .map(|s| s.trim())
        .unwrap_or("");
    let pass = inputs
        .get("basicAuthPassword")
        .map(|s| s.trim())
        .unwrap_or("");
    if !user.is_empty() || !pass.is_empty() {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        if let Some(v) = header_value(&format!("Basic {token}")) {
            headers.insert("authorization", v);
        }
    }
    // Custom headers: one per line, "Name:Value", replacing a header of the same name.
    for line in inputs
        .get("httpHeaders")
        .map(String::as_str)
        .unwrap_or("")
        .split(['\r', '\n', '\x0c'])
    {
        if let Some((name, value)) = line.split_once(':')
            && let (Ok(n), Some(v)) = (
                HeaderName::from_bytes(name.trim().as_bytes()),
                header_value(value.trim()),
            )
        {
            headers.insert(n, v);
        }
    }
    let url = inputs.get("url").cloned().unwrap_or_default();
    (url, headers)
}

fn activity_id(sub_id: &str, nid: u64, attempt: u32) -> String {
    let d = Sha256::digest(format!("{sub_id}/{nid}/{attempt}").as_bytes());
    let h = hex::encode(&d[..16]);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// One POST; records the attempt on the notification.
pub(super) async fn attempt(shared: &Shared, org: usize, sub_id: &str, job: &Job) -> Outcome {
    let (attempt_no, url, mut headers) = {
        let mut world = shared.world();
        let sub = world.orgs[org]
            .subscriptions
            .iter_mut()
            .find(|s| s.id == sub_id);
        match sub {
            Some(sub) => {
                let (url, headers) = target(sub_id, &sub.request.consumer_inputs);
                let attempt_no = match sub.notification_mut(job.nid) {
                    Some(n) => {
                        n.request_attempts += 1;
                        n.status = NotificationStatus::RequestInProgress;
                        n.request_attempts
                    }
                    None => 1,
                };
                (attempt_no, url, headers)
            }
            None => (1, job.url.clone(), job.headers.clone()),
        }
    };
    let timeout = shared.controls().request_timeout;
    if let Some(v) = header_value(&activity_id(sub_id, job.nid, attempt_no)) {
        headers.insert("x-vss-activityid", v);
    }
    Counters::bump(&shared.counters.attempts);
    let started = Instant::now();
    let send = shared
        .http
        .post(&url)
        .headers(headers)
        .body(job.body.clone())
        .timeout(timeout)
        .send();
    // On shutdown an attempt in flight counts as transient; the retry wait then ends the task.
    let result = tokio::select! {
        r = send => r,
        _ = shared.shutdown.cancelled() => return Outcome::Transient,
    };
    let (outcome, response, error) = match result {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let outcome = match status {
                200..=299 => Outcome::Success,
                408 | 502 | 503 | 504 => Outcome::Transient,
                410 => Outcome::Gone,
                _ => Outcome::Enduring,
            };
            let text = resp.text().await.unwrap_or_default();
            let snippet: String = text.chars().take(1024).collect();
            let error = (outcome != Outcome::Success).then(|| format!("HTTP {status}"));
            (outcome, Some(format!("HTTP {status}\n\n{snippet}")), error)
        }
        Err(e) if e.is_timeout() => (
            Outcome::Transient,
            None,
            Some(format!("request timed out: {e}")),
        ),
        Err(e) => (
            Outcome::Enduring,
            None,
            Some(format!("request failed: {e}")),
        ),
    };
    let mut world = shared.world();
    if let Some(n) = world.orgs[org]
        .subscriptions
        .iter_mut()
        .find(|s| s.id == sub_id)
        .and_then(|s| s.notification_mut(job.nid))
    {
        n.request_duration += started.elapsed().as_secs_f64();
        n.last_request = Some(format!("POST {url}"));
        n.last_response = response;
        n.error_message = error;
        n.modified = chrono::Utc::now();
        n.status = NotificationStatus::Processing;
    }
    outcome
}
