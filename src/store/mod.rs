//! Durable state: the outbox of events waiting for the broker and the seen ids that make ingestion
//! idempotent. The HTTP handler and the reconciler write here; only the publisher reads the outbox.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use crate::normalize::NormalizedEvent;

pub mod migrate;
pub mod postgres;
pub mod sqlite;

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

/// An outbox row marked as being sent ([`Store::mark_sending`]) whose broker answer was never
/// recorded: after a crash or a lost connection nobody knows whether the broker routed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InFlightMessage {
    pub seq: i64,
    pub id: String,
    /// The id of the send, as given to [`Store::mark_sending`] (and carried by the message).
    pub send_id: i64,
    /// When the send was recorded (this host's clock).
    pub sent_at: DateTime<Utc>,
}

#[derive(Debug, Clone, thiserror::Error)]
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

    /// Removes rows the broker acked (or that the broker is known to have routed).
    async fn mark_published(&self, seqs: &[i64]) -> Result<(), StoreError>;

    /// Records durably, before they are published, that these rows are being sent in the send
    /// `send_id` (now): until [`Store::mark_published`], [`Store::mark_failed`] or
    /// [`Store::clear_sending`] they are listed by [`Store::in_flight`].
    async fn mark_sending(&self, seqs: &[i64], send_id: i64) -> Result<(), StoreError>;

    /// Rows marked as being sent whose outcome was never recorded, oldest send first.
    async fn in_flight(&self) -> Result<Vec<InFlightMessage>, StoreError>;

    /// Forgets that rows are being sent (the broker did not route them): they are published again
    /// normally when due.
    async fn clear_sending(&self, seqs: &[i64]) -> Result<(), StoreError>;

    /// The broker refused rows (nack, return): keeps them for a later attempt, not before
    /// `retry_after` from now, and no longer in flight.
    async fn mark_failed(&self, seqs: &[i64], retry_after: Duration) -> Result<(), StoreError>;

    /// The broker's answer for rows never came (timeout, lost connection): like
    /// [`Store::mark_failed`], but they stay in flight, since the broker may have routed them.
    async fn mark_unconfirmed(&self, seqs: &[i64], retry_after: Duration)
    -> Result<(), StoreError>;

    /// Number of events waiting in the outbox.
    async fn outbox_depth(&self) -> Result<u64, StoreError>;

    /// Forgets seen ids older than `cutoff` whose events have left the outbox; returns how many.
    async fn purge_seen_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Proves the store is writable (for `/readyz`).
    async fn check_writable(&self) -> Result<(), StoreError>;

    /// Durably sets a small piece of state (a reconciler watermark, a backfill job) under
    /// `namespace`/`key`. Written by the same writer as events, after any events a caller inserted
    /// before it, so a watermark never runs ahead of the events it covers.
    async fn put_state(&self, namespace: &str, key: &str, value: &str) -> Result<(), StoreError>;

    /// Reads one piece of state.
    async fn get_state(&self, namespace: &str, key: &str) -> Result<Option<String>, StoreError>;

    /// Every key and value in a namespace, ordered by key.
    async fn list_state(&self, namespace: &str) -> Result<Vec<(String, String)>, StoreError>;

    /// Notified after every commit that added outbox rows, so the publisher need not poll.
    fn outbox_notify(&self) -> Arc<Notify>;

    /// Tries to become, or confirms that this process still is, the one owner of `name` among the
    /// replicas sharing the store (an organization's reconciler, a backfill job). Ownership ends
    /// with [`Store::release`] or when the process dies. A store one process has to itself owns
    /// everything.
    async fn try_own(&self, _name: &str) -> Result<bool, StoreError> {
        Ok(true)
    }

    /// Gives up ownership of `name` (see [`Store::try_own`]).
    async fn release(&self, _name: &str) -> Result<(), StoreError> {
        Ok(())
    }

    /// At a graceful stop, after the publisher has finished: hands what this replica still holds
    /// to the other replicas at once instead of after its lease (rows not yet sent are released;
    /// rows sent without a recorded answer are settled by whichever replica sweeps them next). The
    /// process must not use the store afterwards. A store one process has to itself keeps them.
    async fn release_claims(&self) -> Result<u64, StoreError> {
        Ok(0)
    }

    /// This process's name among the replicas (`replica_id`).
    fn replica_id(&self) -> &str {
        "local"
    }

    /// Whether other processes may share this store (then ownership matters).
    fn is_shared(&self) -> bool {
        false
    }
}

/// How to open a store (from the configuration).
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// An SQLite file path, `sqlite://path` or `postgres://…`.
    pub location: String,
    pub outbox_max: u64,
    /// This process's name among replicas (outbox claims, ownership in status).
    pub replica_id: String,
    /// PostgreSQL: connections in the pool.
    pub pool_size: usize,
    /// PostgreSQL: `statement_timeout` of every connection (zero: none).
    pub statement_timeout: Duration,
    /// PostgreSQL: how long an outbox claim outlives a replica that stopped renewing it.
    pub claim_lease: Duration,
}

impl StoreOptions {
    /// Defaults for everything but the location and the outbox bound.
    pub fn new(location: impl Into<String>, outbox_max: u64) -> Self {
        Self {
            location: location.into(),
            outbox_max,
            replica_id: default_replica_id(),
            pool_size: 16,
            statement_timeout: Duration::from_secs(30),
            claim_lease: Duration::from_secs(15),
        }
    }

    pub fn is_postgres(&self) -> bool {
        is_postgres_url(&self.location)
    }
}

/// Whether a `store` setting names a PostgreSQL database.
pub fn is_postgres_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// `hostname-pid`: unique per process on a machine and readable in status.
pub fn default_replica_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "ado-ingest".into());
    format!("{host}-{}", std::process::id())
}

/// Opens the store named by the `store` setting: an SQLite file path or `sqlite://path`.
pub async fn open(location: &str, outbox_max: u64) -> Result<Arc<dyn Store>, StoreError> {
    open_with(&StoreOptions::new(location, outbox_max)).await
}

/// Opens the store `options` name: PostgreSQL for a `postgres://` URL, else an SQLite file.
pub async fn open_with(options: &StoreOptions) -> Result<Arc<dyn Store>, StoreError> {
    if options.is_postgres() {
        return Ok(Arc::new(postgres::PostgresStore::open(options).await?));
    }
    let path = options
        .location
        .strip_prefix("sqlite://")
        .unwrap_or(&options.location);
    Ok(Arc::new(
        sqlite::SqliteStore::open(path, options.outbox_max).await?,
    ))
}
