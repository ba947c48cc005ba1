//! Service-hook delivery as Azure DevOps does it (docs/contract.md#delivery-rules): every event
//! fans out to the
//! matching subscriptions as notifications; one sender task per subscription POSTs them in order
//! with the subscription's Basic credentials, retries transient failures (408/502/503/504,
//! timeouts) 8 times with backoff 1, 2, 4, 8, 16, 32, 60, 60 s, puts the subscription on probation
//! on any other failure (new events are then dropped; the failed notification is retried after
//! 20 min, 40 min … 15 h, then the subscription is disabled), and disables it on 410. Delays scale
//! with the simulator's time scale. Fault injection (drop, duplicate, reorder, delay) sits on top.

mod filters;
pub mod notification;
mod request;
pub(crate) mod sender;
pub mod subscription;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use self::notification::{Notification, NotificationResult, NotificationStatus};
use self::subscription::SubscriptionStatus;
use super::event::RaisedEvent;
use super::model::World;

/// Transient-failure retry delays in seconds (docs/contract.md#delivery-rules).
pub const TRANSIENT_BACKOFF_SECS: [u64; 8] = [1, 2, 4, 8, 16, 32, 60, 60];
/// Probation retry delays in seconds: 20 min, 40 min, 1h20, 2h40, 5h20, 10h40, 15 h.
pub const PROBATION_BACKOFF_SECS: [u64; 7] = [1200, 2400, 4800, 9600, 19200, 38400, 54000];

/// Delivery faults, each a probability per notification.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FaultRates {
    /// The notification is lost without a trace (no record, never sent).
    pub drop: f64,
    /// A delivered notification is POSTed once more (same notificationId and body).
    pub duplicate: f64,
    /// The notification is sent after the one queued behind it.
    pub reorder: f64,
    /// The notification waits up to `max_delay` (scaled by the time scale) before it is sent.
    pub delay: f64,
    #[serde(with = "humantime_serde")]
    pub max_delay: Duration,
}

impl Default for FaultRates {
    fn default() -> Self {
        Self {
            drop: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            delay: 0.0,
            max_delay: Duration::from_secs(30),
        }
    }
}

/// Counters over all deliveries so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryStats {
    pub notifications: u64,
    pub attempts: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub dropped_by_fault: u64,
    pub dropped_on_probation: u64,
    pub duplicates_sent: u64,
    pub reordered: u64,
    pub delayed: u64,
    /// Notifications not yet succeeded or finally failed.
    pub outstanding: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub notifications: AtomicU64,
    pub attempts: AtomicU64,
    pub succeeded: AtomicU64,
    pub failed: AtomicU64,
    pub dropped_by_fault: AtomicU64,
    pub dropped_on_probation: AtomicU64,
    pub duplicates_sent: AtomicU64,
    pub reordered: AtomicU64,
    pub delayed: AtomicU64,
    pub outstanding: AtomicU64,
    /// Woken whenever `outstanding` may have reached zero.
    pub settled: Notify,
}

impl Counters {
    pub fn bump(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// One notification reached a final state.
    pub fn resolve(&self, n: u64) {
        if n > 0 {
            self.outstanding.fetch_sub(n, Ordering::SeqCst);
            self.settled.notify_waiters();
        }
    }

    pub fn snapshot(&self) -> DeliveryStats {
        let g = |c: &AtomicU64| c.load(Ordering::SeqCst);
        DeliveryStats {
            notifications: g(&self.notifications),
            attempts: g(&self.attempts),
            succeeded: g(&self.succeeded),
            failed: g(&self.failed),
            dropped_by_fault: g(&self.dropped_by_fault),
            dropped_on_probation: g(&self.dropped_on_probation),
            duplicates_sent: g(&self.duplicates_sent),
            reordered: g(&self.reordered),
            delayed: g(&self.delayed),
            outstanding: g(&self.outstanding),
        }
    }
}

/// Fans a raised event out to the organization's matching subscriptions (called with the world
/// locked); returns the sender tasks to wake once the lock is released.
pub(crate) fn fan_out(
    world: &mut World,
    ev: &Arc<RaisedEvent>,
    faults: &FaultRates,
    counters: &Counters,
) -> Vec<Arc<Notify>> {
    let mut wake = Vec::new();
    let org = &mut world.orgs[ev.org];
    let tally = &mut world.truth.entries[ev.truth_index].delivery;
    for sub in org.subscriptions.iter_mut().filter(|s| s.matches(ev)) {
        tally.matched += 1;
        match sub.status {
            SubscriptionStatus::Enabled => {}
            SubscriptionStatus::OnProbation => {
                // "When a subscription is in probation, any new events are lost."
                tally.dropped_on_probation += 1;
                Counters::bump(&counters.dropped_on_probation);
                continue;
            }
            _ => {
                tally.skipped_disabled += 1;
                continue;
            }
        }
        if sub.rng.chance(faults.drop) {
            tally.dropped_by_fault += 1;
            Counters::bump(&counters.dropped_by_fault);
            continue;
        }
        let nid = sub.next_notification_id;
        sub.next_notification_id += 1;
        let body = ev.envelope(&sub.render_options(), Some((&sub.id, nid)));
        let body = Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
        sub.notifications
            .push(Notification::new(nid, ev.clone(), body));
        sub.queue.push_back(nid);
        Counters::bump(&counters.notifications);
        counters.outstanding.fetch_add(1, Ordering::SeqCst);
        wake.push(sub.wake.clone());
    }
    wake
}

/// Finishes one notification: its record, the change's tally and the counters.
pub(crate) fn finish_notification(
    world: &mut World,
    org: usize,
    sub_id: &str,
    nid: u64,
    ok: bool,
    counters: &Counters,
) {
    let Some(sub) = world.orgs[org]
        .subscriptions
        .iter_mut()
        .find(|s| s.id == sub_id)
    else {
        counters.resolve(1);
        return;
    };
    let Some(n) = sub.notification_mut(nid) else {
        counters.resolve(1);
        return;
    };
    let now = chrono::Utc::now();
    n.status = NotificationStatus::Completed;
    n.result = if ok {
        NotificationResult::Succeeded
    } else {
        NotificationResult::Failed
    };
    n.modified = now;
    n.completed = Some(now);
    let truth = n.event.truth_index;
    let tally = &mut world.truth.entries[truth].delivery;
    if ok {
        tally.delivered += 1;
        Counters::bump(&counters.succeeded);
    } else {
        tally.failed += 1;
        Counters::bump(&counters.failed);
    }
    counters.resolve(1);
}

/// Sets a subscription disabled (by the system or the user) and fails what was still queued.
pub(crate) fn disable(
    world: &mut World,
    org: usize,
    sub_id: &str,
    status: SubscriptionStatus,
    reason: &str,
    counters: &Counters,
) {
    let Some(sub) = world.orgs[org]
        .subscriptions
        .iter_mut()
        .find(|s| s.id == sub_id)
    else {
        return;
    };
    sub.status = status;
    sub.modified_date = chrono::Utc::now();
    let queued: Vec<u64> = sub.queue.drain(..).collect();
    for nid in &queued {
        if let Some(n) = sub.notification_mut(*nid) {
            n.error_message = Some(reason.to_string());
        }
    }
    for nid in queued {
        finish_notification(world, org, sub_id, nid, false, counters);
    }
}
