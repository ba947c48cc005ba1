//! The per-subscription sender task and its retry / probation / disable state machine.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use super::notification::NotificationStatus;
use super::subscription::SubscriptionStatus;
use super::{
    Counters, PROBATION_BACKOFF_SECS, TRANSIENT_BACKOFF_SECS, disable, finish_notification,
};
use crate::sim::shared::Shared;

/// How Azure DevOps classifies a delivery attempt (reference §3.1).
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Success,
    /// 408, 502, 503, 504 or a timeout: retried quickly.
    Transient,
    /// 410: the subscription is disabled at once.
    Gone,
    /// Anything else (500, 404, 401, connection refused …): probation.
    Enduring,
}

struct Job {
    nid: u64,
    url: String,
    headers: HeaderMap,
    body: Bytes,
    delay: Option<Duration>,
    duplicate: bool,
}

enum Next {
    Job(Box<Job>),
    Idle,
    Exit,
}

/// Runs until the subscription is deleted or the simulator shuts down.
pub(crate) async fn run(shared: Arc<Shared>, org: usize, sub_id: String, wake: Arc<Notify>) {
    loop {
        match next_job(&shared, org, &sub_id) {
            Next::Exit => return,
            Next::Idle => {
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = shared.shutdown.cancelled() => return,
                }
            }
            Next::Job(job) => {
                if let Some(d) = job.delay
                    && !sleep(&shared, d).await
                {
                    return;
                }
                if !deliver(&shared, org, &sub_id, &wake, &job).await {
                    return;
                }
            }
        }
    }
}

async fn sleep(shared: &Shared, d: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => true,
        _ = shared.shutdown.cancelled() => false,
    }
}

fn header_value(s: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(s).ok()
}

fn next_job(shared: &Shared, org: usize, sub_id: &str) -> Next {
    let faults = shared.controls().faults;
    let mut world = shared.world();
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
    let inputs = &sub.request.consumer_inputs;
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
async fn attempt(shared: &Shared, org: usize, sub_id: &str, job: &Job) -> Outcome {
    let attempt_no = {
        let mut world = shared.world();
        let sub = world.orgs[org]
            .subscriptions
            .iter_mut()
            .find(|s| s.id == sub_id);
        match sub.and_then(|s| s.notification_mut(job.nid)) {
            Some(n) => {
                n.request_attempts += 1;
                n.status = NotificationStatus::RequestInProgress;
                n.request_attempts
            }
            None => 1,
        }
    };
    let timeout = shared.controls().request_timeout;
    let mut headers = job.headers.clone();
    if let Some(v) = header_value(&activity_id(sub_id, job.nid, attempt_no)) {
        headers.insert("x-vss-activityid", v);
    }
    Counters::bump(&shared.counters.attempts);
    let started = Instant::now();
    let result = shared
        .http
        .post(&job.url)
        .headers(headers)
        .body(job.body.clone())
        .timeout(timeout)
        .send()
        .await;
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
        n.last_request = Some(format!("POST {}", job.url));
        n.last_response = response;
        n.error_message = error;
        n.modified = chrono::Utc::now();
        n.status = NotificationStatus::Processing;
    }
    outcome
}

fn status_of(shared: &Shared, org: usize, sub_id: &str) -> Option<SubscriptionStatus> {
    shared.world().orgs[org]
        .subscriptions
        .iter()
        .find(|s| s.id == sub_id)
        .map(|s| s.status)
}

/// Delivers one notification through the whole state machine. Returns false on shutdown.
async fn deliver(shared: &Shared, org: usize, sub_id: &str, wake: &Notify, job: &Job) -> bool {
    let mut transient_retries = 0;
    loop {
        match attempt(shared, org, sub_id, job).await {
            Outcome::Success => return succeeded(shared, org, sub_id, job).await,
            Outcome::Gone => {
                gone(shared, org, sub_id, job.nid);
                return true;
            }
            Outcome::Transient if transient_retries < TRANSIENT_BACKOFF_SECS.len() => {
                let d = shared.scaled(TRANSIENT_BACKOFF_SECS[transient_retries] as f64);
                transient_retries += 1;
                if !sleep(shared, d).await {
                    return false;
                }
            }
            // Enduring failure, or transient retries exhausted ("treated as an enduring failure").
            _ => break,
        }
    }
    probation(shared, org, sub_id, wake, job).await
}

async fn succeeded(shared: &Shared, org: usize, sub_id: &str, job: &Job) -> bool {
    if job.duplicate {
        // A second POST of the same notification, as after a lost acknowledgement.
        let _ = shared
            .http
            .post(&job.url)
            .headers(job.headers.clone())
            .body(job.body.clone())
            .send()
            .await;
        Counters::bump(&shared.counters.duplicates_sent);
    }
    let mut world = shared.world();
    if let Some(sub) = world.orgs[org]
        .subscriptions
        .iter_mut()
        .find(|s| s.id == sub_id)
        && sub.status == SubscriptionStatus::OnProbation
    {
        // "Once a retry is successful, the subscription is enabled."
        sub.status = SubscriptionStatus::Enabled;
        sub.modified_date = chrono::Utc::now();
    }
    finish_notification(&mut world, org, sub_id, job.nid, true, &shared.counters);
    true
}

fn gone(shared: &Shared, org: usize, sub_id: &str, nid: u64) {
    let mut world = shared.world();
    finish_notification(&mut world, org, sub_id, nid, false, &shared.counters);
    disable(
        &mut world,
        org,
        sub_id,
        SubscriptionStatus::DisabledBySystem,
        "410 Gone: subscription disabled",
        &shared.counters,
    );
}

/// Puts the subscription on probation and retries the failed notification on the probation
/// schedule; a user re-enabling the subscription triggers the retry at once.
async fn probation(shared: &Shared, org: usize, sub_id: &str, wake: &Notify, job: &Job) -> bool {
    {
        let mut world = shared.world();
        let Some(sub) = world.orgs[org]
            .subscriptions
            .iter_mut()
            .find(|s| s.id == sub_id)
        else {
            shared.counters.resolve(1);
            return true;
        };
        if sub.status == SubscriptionStatus::Enabled {
            sub.status = SubscriptionStatus::OnProbation;
            sub.modified_date = chrono::Utc::now();
        }
        if let Some(n) = sub.notification_mut(job.nid) {
            n.result = super::notification::NotificationResult::Failed;
        }
    }
    for delay in PROBATION_BACKOFF_SECS {
        let deadline = tokio::time::Instant::now() + shared.scaled(delay as f64);
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => break,
                _ = wake.notified() => {
                    match status_of(shared, org, sub_id) {
                        Some(SubscriptionStatus::Enabled) => break,
                        Some(SubscriptionStatus::OnProbation) => continue,
                        _ => {
                            let mut world = shared.world();
                            finish_notification(&mut world, org, sub_id, job.nid, false, &shared.counters);
                            return true;
                        }
                    }
                }
                _ = shared.shutdown.cancelled() => return false,
            }
        }
        {
            let mut world = shared.world();
            let Some(sub) = world.orgs[org]
                .subscriptions
                .iter_mut()
                .find(|s| s.id == sub_id)
            else {
                shared.counters.resolve(1);
                return true;
            };
            if sub.status.is_disabled() {
                finish_notification(&mut world, org, sub_id, job.nid, false, &shared.counters);
                return true;
            }
            sub.probation_retries += 1;
            sub.last_probation_retry_date = Some(chrono::Utc::now());
        }
        match attempt(shared, org, sub_id, job).await {
            Outcome::Success => return succeeded(shared, org, sub_id, job).await,
            Outcome::Gone => {
                gone(shared, org, sub_id, job.nid);
                return true;
            }
            _ => {
                let mut world = shared.world();
                if let Some(sub) = world.orgs[org]
                    .subscriptions
                    .iter_mut()
                    .find(|s| s.id == sub_id)
                    && sub.status == SubscriptionStatus::Enabled
                {
                    sub.status = SubscriptionStatus::OnProbation;
                }
            }
        }
    }
    // "After seven retries, the subscription status gets set to DisabledBySystem."
    let mut world = shared.world();
    finish_notification(&mut world, org, sub_id, job.nid, false, &shared.counters);
    disable(
        &mut world,
        org,
        sub_id,
        SubscriptionStatus::DisabledBySystem,
        "probation retries exhausted",
        &shared.counters,
    );
    true
}
