//! The tenant check: with `hooks.require_known_collection` on, a hook is stored only if its
//! `resourceContainers.collection.id` is the collection id of a configured organization, so valid
//! hook credentials alone cannot inject events for another tenant.
//!
//! Collection ids come from each organization's `connectionData` (the reconciler's first call).
//! The status codes follow Azure DevOps' retry rules (docs/contract.md#delivery-rules): an unknown
//! collection is a `403` — an enduring failure, so a stray subscription of another organization
//! goes on probation and stops costing work, while ours never see it; while some organization's
//! id is not known yet (its REST API unreachable since the start), a hook that matches none of
//! the known ones gets `503` + `Retry-After`, which Azure DevOps retries, so one of ours is never
//! refused for good because its organization's API was down.

use std::time::Duration;

use crate::ado::OrgClient;
use crate::reconcile::Reconcilers;

/// How long a hook may wait for the `connectionData` of organizations not yet connected.
const CONNECT_WAIT: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Known,
    Unknown,
    /// Not among the known ones, but some organization's id is not known yet.
    NotYetKnown,
}

/// The organizations whose collections may send hooks (configured and discovered ones); the
/// check is off when not `enabled`.
#[derive(Clone, Default)]
pub struct KnownCollections {
    organizations: Reconcilers,
    enabled: bool,
}

impl KnownCollections {
    pub fn new(organizations: Reconcilers, enabled: bool) -> Self {
        Self {
            organizations,
            enabled,
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Whether a hook of `collection_id` belongs to a configured organization.
    pub async fn check(&self, collection_id: Option<&str>) -> Verdict {
        let Some(id) = collection_id.map(str::trim).filter(|s| !s.is_empty()) else {
            return Verdict::Unknown;
        };
        let clients: Vec<OrgClient> = self
            .organizations
            .all()
            .iter()
            .map(|r| r.client().clone())
            .collect();
        let matches = |c: &OrgClient| {
            c.known_collection_id()
                .is_some_and(|k| k.eq_ignore_ascii_case(id))
        };
        if clients.iter().any(matches) {
            return Verdict::Known;
        }
        // Organizations not connected yet: try now (once; the result is kept by each client).
        let pending: Vec<&OrgClient> = clients
            .iter()
            .filter(|c| c.known_collection_id().is_none())
            .collect();
        if pending.is_empty() {
            return Verdict::Unknown;
        }
        let _ = tokio::time::timeout(
            CONNECT_WAIT,
            futures::future::join_all(pending.iter().map(|c| c.connect())),
        )
        .await;
        if clients.iter().any(matches) {
            Verdict::Known
        } else if clients.iter().any(|c| c.known_collection_id().is_none()) {
            Verdict::NotYetKnown
        } else {
            Verdict::Unknown
        }
    }
}
