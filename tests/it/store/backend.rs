//! Where a store test's data lives: a temporary SQLite file or a fresh PostgreSQL database, and the
//! events the tests insert.

use std::sync::Arc;
use std::time::Duration;

use ado_ingest::normalize::NormalizedEvent;
use ado_ingest::store::{self, Store, StoreOptions};
use chrono::{TimeZone, Utc};

use crate::support::TestDatabase;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// One test's store location; removed when dropped.
pub struct Place {
    pub backend: Backend,
    pub location: String,
    _dir: Option<tempfile::TempDir>,
    _db: Option<TestDatabase>,
}

impl Place {
    pub async fn new(backend: Backend) -> Place {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let location = dir.path().join("nested/store.sqlite").display().to_string();
                Place {
                    backend,
                    location,
                    _dir: Some(dir),
                    _db: None,
                }
            }
            Backend::Postgres => {
                let db = TestDatabase::create().await;
                Place {
                    backend,
                    location: db.url.clone(),
                    _dir: None,
                    _db: Some(db),
                }
            }
        }
    }

    pub fn options(&self, outbox_max: u64, replica: &str) -> StoreOptions {
        StoreOptions {
            replica_id: replica.to_string(),
            claim_lease: Duration::from_secs(1),
            pool_size: 4,
            ..StoreOptions::new(self.location.clone(), outbox_max)
        }
    }

    pub async fn open(&self, outbox_max: u64) -> Arc<dyn Store> {
        self.open_as(outbox_max, "replica-a").await
    }

    pub async fn open_as(&self, outbox_max: u64, replica: &str) -> Arc<dyn Store> {
        store::open_with(&self.options(outbox_max, replica))
            .await
            .unwrap_or_else(|e| panic!("open {:?} store: {e}", self.backend))
    }

    /// Makes the stored schema look as if a newer build had written it.
    pub async fn pretend_newer_schema(&self) {
        match self.backend {
            Backend::Sqlite => {
                let conn = rusqlite::Connection::open(&self.location).unwrap();
                conn.pragma_update(None, "user_version", 99).unwrap();
            }
            Backend::Postgres => {
                let (client, connection) =
                    tokio_postgres::connect(&self.location, tokio_postgres::NoTls)
                        .await
                        .unwrap();
                tokio::spawn(connection);
                client
                    .batch_execute(
                        "INSERT INTO ado_ingest_schema (version, file) VALUES (99, 'future.sql')",
                    )
                    .await
                    .unwrap();
            }
        }
    }
}

pub fn event(id: &str) -> NormalizedEvent {
    NormalizedEvent {
        id: id.to_string(),
        event_type: "workitem.updated".into(),
        routing_key: "contoso.fabrikam.workitem.updated".into(),
        time: Utc
            .with_ymd_and_hms(2024, 5, 1, 12, 0, 0)
            .single()
            .expect("valid time"),
        body: format!("{{\"id\":\"{id}\"}}").into_bytes(),
    }
}

pub fn events(ids: &[&str]) -> Vec<NormalizedEvent> {
    ids.iter().map(|id| event(id)).collect()
}

/// The seqs of what `claim_pending(limit)` returns.
pub async fn claimed_seqs(store: &dyn Store, limit: usize) -> Vec<i64> {
    claimed(store, limit)
        .await
        .into_iter()
        .map(|p| p.seq)
        .collect()
}

/// The event ids of what `claim_pending(limit)` returns.
pub async fn claimed_ids(store: &dyn Store, limit: usize) -> Vec<String> {
    claimed(store, limit)
        .await
        .into_iter()
        .map(|p| p.id)
        .collect()
}

async fn claimed(store: &dyn Store, limit: usize) -> Vec<store::PendingMessage> {
    store.claim_pending(limit).await.unwrap()
}
