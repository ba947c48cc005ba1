//! Ground truth: every change the simulator made, with the normalized type and identity the
//! receiver should publish it as, its canonical hook payload, and what happened to its deliveries.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use super::event::RaisedEvent;

/// What happened to the deliveries of one change (one count per matching subscription).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryTally {
    /// Subscriptions whose filters the event matched (whatever their status).
    pub matched: u32,
    /// Notifications answered 2xx (at least once).
    pub delivered: u32,
    /// Notifications that finally failed (recorded: visible through `notificationsquery`).
    pub failed: u32,
    /// Lost by fault injection (no notification record, like an event that never left).
    pub dropped_by_fault: u32,
    /// Dropped because the subscription was on probation (no notification record).
    pub dropped_on_probation: u32,
    /// Not raised to a matching but disabled subscription.
    pub skipped_disabled: u32,
}

/// One change.
#[derive(Debug, Clone)]
pub struct TruthEntry {
    /// Position in the ground truth (0-based, in the order changes were made).
    pub seq: usize,
    pub org: String,
    pub collection_id: String,
    pub project_id: Option<String>,
    /// Azure DevOps event type, e.g. `git.pullrequest.merged`.
    pub event_type: &'static str,
    /// Normalized type, e.g. `git.pullrequest.merge_attempted`.
    pub normalized_type: &'static str,
    /// The identity of the change (docs/contract.md#identities), by name, e.g.
    /// `{repositoryId, pushId}`.
    pub identity: Map<String, Value>,
    /// Azure DevOps event id of its hook event.
    pub ado_event_id: String,
    /// When the change happened.
    pub time: DateTime<Utc>,
    /// Human description, e.g. `push 7 to Fabrikam/main (2 commits)`.
    pub summary: String,
    pub delivery: DeliveryTally,
    pub(crate) event: Arc<RaisedEvent>,
}

impl TruthEntry {
    /// The hook payload Azure DevOps would send for this change with default subscription
    /// options (no subscription/notification ids), whether or not any delivery happened.
    pub fn canonical_payload(&self) -> Value {
        self.event.canonical()
    }
}

/// Per normalized type: how many changes and how their deliveries went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TypeSummary {
    pub changes: u64,
    /// Changes with at least one successful delivery.
    pub delivered: u64,
    /// Changes that matched a subscription but reached none of them.
    pub undelivered: u64,
}

#[derive(Debug, Default)]
pub struct Truth {
    pub entries: Vec<TruthEntry>,
}

impl Truth {
    /// Counts per normalized type, sorted by type.
    pub fn summary(&self) -> BTreeMap<&'static str, TypeSummary> {
        let mut out: BTreeMap<&'static str, TypeSummary> = BTreeMap::new();
        for e in &self.entries {
            let s = out.entry(e.normalized_type).or_default();
            s.changes += 1;
            if e.delivery.delivered > 0 {
                s.delivered += 1;
            } else if e.delivery.matched > 0 {
                s.undelivered += 1;
            }
        }
        out
    }
}
