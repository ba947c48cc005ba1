//! The per-subscription sender task and its retry / probation / disable state machine.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use super::request::{Job, Next, Outcome, attempt, next_job};
use super::subscription::SubscriptionStatus;
use super::{
    Counters, PROBATION_BACKOFF_SECS, TRANSIENT_BACKOFF_SECS, disable, finish_notification,
};
use crate::shared::Shared;

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
        let timeout = shared.controls().request_timeout;
        let send = shared
            .http
            .post(&job.url)
            .headers(job.headers.clone())
            .body(job.body.clone())
            .timeout(timeout)
            .send();
        tokio::select! {
            _ = send => {}
            _ = shared.shutdown.cancelled() => return false,
        }
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
