//! Ownership across replicas: PostgreSQL session advisory locks, held on one dedicated connection
//! per process (not a pooled one, which would hand the lock to whoever borrows it next). A process
//! that dies closes its connection and so releases every lock it held; one whose connection broke
//! learns it at the next [`LockSession::try_lock`] and starts over without any.

use std::collections::HashSet;

use sha2::{Digest, Sha256};
use tokio::sync::Mutex;
use tokio_postgres::{Client, NoTls};

use super::backend;
use crate::store::StoreError;

pub(super) struct LockSession {
    config: tokio_postgres::Config,
    inner: Mutex<Session>,
}

#[derive(Default)]
struct Session {
    client: Option<Client>,
    held: HashSet<String>,
}

/// The 64-bit advisory-lock key of a name (the first 8 bytes of its SHA-256).
pub(super) fn lock_key(name: &str) -> i64 {
    let digest = Sha256::digest(format!("ado-ingest:{name}").as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

impl LockSession {
    pub(super) fn new(config: tokio_postgres::Config) -> Self {
        Self {
            config,
            inner: Mutex::new(Session::default()),
        }
    }

    /// Takes (or confirms it still holds) the lock `name`; `false` when another session holds it.
    pub(super) async fn try_lock(&self, name: &str) -> Result<bool, StoreError> {
        let mut session = self.inner.lock().await;
        let alive = match &session.client {
            Some(client) if !client.is_closed() => client.simple_query("SELECT 1").await.is_ok(),
            _ => false,
        };
        if !alive {
            if !session.held.is_empty() {
                tracing::warn!(
                    locks = session.held.len(),
                    "the lock connection to PostgreSQL was lost; ownership must be taken again"
                );
            }
            session.held.clear();
            session.client = None;
            let (client, connection) = self.config.connect(NoTls).await.map_err(|e| {
                StoreError::Unavailable(format!("cannot open the lock connection: {e}"))
            })?;
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::debug!(%error, "lock connection closed");
                }
            });
            session.client = Some(client);
        }
        if session.held.contains(name) {
            return Ok(true);
        }
        let Some(client) = session.client.as_ref() else {
            return Ok(false);
        };
        let got: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&lock_key(name)])
            .await
            .map_err(backend)?
            .get(0);
        if got {
            session.held.insert(name.to_string());
        }
        Ok(got)
    }

    /// Gives a lock up (a finished backfill job).
    pub(super) async fn unlock(&self, name: &str) -> Result<(), StoreError> {
        let mut session = self.inner.lock().await;
        if !session.held.remove(name) {
            return Ok(());
        }
        if let Some(client) = session.client.as_ref() {
            client
                .query_one("SELECT pg_advisory_unlock($1)", &[&lock_key(name)])
                .await
                .map_err(backend)?;
        }
        Ok(())
    }
}
