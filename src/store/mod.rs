//! Durable state: the outbox of events waiting for the broker and the seen ids that make ingestion
//! idempotent. The HTTP handler and the reconciler write here; only the publisher reads the outbox.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use crate::normalize::NormalizedEvent;

/// What happened to one event handed to [`Store::insert`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertOutcome {
    /// New id: committed to the outbox and the seen ids.
    Accepted,
    /// The id was already seen (within the retention); nothing was written.
    Duplicate,
}

/// An outbox row claimed by the publisher.
#[derive(Debug, Clone)]
pub struct PendingMessage {
    /// Outbox sequence number, the handle for [`Store::mark_published`] / [`Store::mark_failed`].
    pub seq: i64,
    pub id: String,
    pub event_type: String,
    pub routing_key: String,
    pub time: DateTime<Utc>,
    pub body: Vec<u8>,
    /// Publish attempts so far (for backoff).
    pub attempts: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The outbox holds `depth` events, at its configured bound: refuse new ones (HTTP 503).
    #[error("outbox is full ({depth} events waiting for the broker)")]
    OutboxFull { depth: u64 },
    /// The store is shutting down or its writer is gone.
    #[error("store is unavailable: {0}")]
    Unavailable(String),
    #[error("store error: {0}")]
    Backend(String),
}

/// The storage contract. SQLite is the default backend; PostgreSQL can implement the same trait
/// without the handler, the reconciler or the publisher changing.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Commits every new event (outbox row + seen id) durably before returning, in one transaction
    /// per call at least; concurrent calls may share a commit (group commit). Events whose id was
    /// already seen are reported [`InsertOutcome::Duplicate`] and not written. Fails with
    /// [`StoreError::OutboxFull`] when accepting the new events would exceed the outbox bound.
    async fn insert(&self, events: Vec<NormalizedEvent>) -> Result<Vec<InsertOutcome>, StoreError>;

    /// Whether an id has been seen (within the retention).
    async fn is_seen(&self, id: &str) -> Result<bool, StoreError>;

    /// Up to `limit` outbox rows that are due (their retry time has come), oldest first.
    async fn claim_pending(&self, limit: usize) -> Result<Vec<PendingMessage>, StoreError>;

    /// Removes rows the broker acked.
    async fn mark_published(&self, seqs: &[i64]) -> Result<(), StoreError>;

    /// Keeps rows for a later attempt, not before `retry_after` from now.
    async fn mark_failed(&self, seqs: &[i64], retry_after: Duration) -> Result<(), StoreError>;

    /// Number of events waiting in the outbox.
    async fn outbox_depth(&self) -> Result<u64, StoreError>;

    /// Forgets seen ids older than `cutoff` whose events have left the outbox; returns how many.
    async fn purge_seen_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Proves the store is writable (for `/readyz`).
    async fn check_writable(&self) -> Result<(), StoreError>;

    /// Notified after every commit that added outbox rows, so the publisher need not poll.
    fn outbox_notify(&self) -> Arc<Notify>;
}
