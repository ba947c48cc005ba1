//! The default store: one SQLite file in WAL mode. Writes go through a single writer thread that
//! group-commits everything queued (see [`writer`]); reads (claims, lookups) use a separate
//! connection, which WAL lets run alongside the writer.

pub(in crate::store) mod schema;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_in_flight;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use tokio::sync::{Notify, mpsc, oneshot};

use super::{InFlightMessage, InsertOutcome, PendingMessage, Store, StoreError};
use crate::normalize::NormalizedEvent;
use writer::{Answer, Op, Request, Shared, backend, now_ms};

/// Seen ids one purge step forgets: small enough that a hook commit waiting behind it waits a few
/// milliseconds, large enough that purging millions of ids takes seconds, not minutes.
pub const PURGE_CHUNK: u64 = 2_000;

/// Pause between two purge chunks: leaves the disk and the two cores to hook commits (an hourly
/// purge of 3.6 million ids then takes about a minute instead of twenty seconds).
pub const PURGE_PAUSE: std::time::Duration = std::time::Duration::from_millis(10);

/// Write requests that may wait for the writer; beyond it callers wait (backpressure).
const QUEUE_CAPACITY: usize = 4096;

/// [`Store`] on an SQLite file.
pub struct SqliteStore {
    /// `None` only while dropping, so the writer thread sees its queue closed and exits.
    requests: Option<mpsc::Sender<Request>>,
    reader: Arc<Mutex<Connection>>,
    shared: Arc<Shared>,
    writer_thread: Option<JoinHandle<()>>,
}

impl SqliteStore {
    /// Opens (creating the file, its parent directory and the schema if needed) the store at `path`,
    /// accepting at most `outbox_max` events waiting for the broker.
    pub async fn open(path: &str, outbox_max: u64) -> Result<SqliteStore, StoreError> {
        let path = PathBuf::from(path);
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                StoreError::Backend(format!(
                    "cannot create the store directory {}: {e}",
                    parent.display()
                ))
            })?;
        }
        let shared = Arc::new(Shared {
            depth: Default::default(),
            commits: Default::default(),
            notify: Arc::new(Notify::new()),
            outbox_max,
        });
        let (requests, queue) = mpsc::channel(QUEUE_CAPACITY);
        let (ready_tx, ready_rx) = oneshot::channel();
        let thread_shared = shared.clone();
        let thread_path = path.clone();
        let writer_thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || match prepare_writer(&thread_path) {
                Ok((conn, depth)) => {
                    thread_shared.depth.store(depth, Ordering::SeqCst);
                    let _ = ready_tx.send(Ok(()));
                    writer::run(conn, queue, thread_shared);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            })
            .map_err(|e| {
                StoreError::Backend(format!("cannot start the store writer thread: {e}"))
            })?;
        ready_rx.await.map_err(|_| {
            StoreError::Unavailable("the store writer thread died while opening".into())
        })??;
        let reader_path = path.clone();
        let reader = tokio::task::spawn_blocking(move || schema::open_reader(&reader_path))
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?
            .map_err(|e| {
                StoreError::Backend(format!("cannot open {} for reading: {e}", path.display()))
            })?;
        Ok(SqliteStore {
            requests: Some(requests),
            reader: Arc::new(Mutex::new(reader)),
            shared,
            writer_thread: Some(writer_thread),
        })
    }

    /// Transactions committed since open. With group commit this grows slower than the number of
    /// writes under concurrency; exported as `ado_ingest_store_commits_total` too.
    pub fn commit_count(&self) -> u64 {
        self.shared.commits.load(Ordering::SeqCst)
    }

    async fn write(&self, op: Op) -> Result<Answer, StoreError> {
        let requests = self
            .requests
            .as_ref()
            .ok_or_else(|| StoreError::Unavailable("the store is closing".into()))?;
        let (reply, answer) = oneshot::channel();
        requests
            .send(Request { op, reply })
            .await
            .map_err(|_| StoreError::Unavailable("the store writer has stopped".into()))?;
        answer.await.map_err(|_| {
            StoreError::Unavailable("the store writer stopped before answering".into())
        })?
    }

    async fn fail(
        &self,
        seqs: &[i64],
        retry_after: Duration,
        keep_in_flight: bool,
    ) -> Result<(), StoreError> {
        if seqs.is_empty() {
            return Ok(());
        }
        let op = Op::MarkFailed {
            seqs: seqs.to_vec(),
            retry_after,
            keep_in_flight,
        };
        self.write(op).await.map(drop)
    }

    /// Runs a query on the read connection off the async threads.
    async fn read<T, F>(&self, query: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let reader = self.reader.clone();
        tokio::task::spawn_blocking(move || {
            let conn = reader
                .lock()
                .map_err(|_| StoreError::Unavailable("the store reader lock is poisoned".into()))?;
            query(&conn).map_err(backend)
        })
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?
    }
}

/// Opens the writer connection, applies the schema and counts the outbox.
fn prepare_writer(path: &Path) -> Result<(Connection, u64), StoreError> {
    let context =
        |e: String| StoreError::Backend(format!("cannot open the store {}: {e}", path.display()));
    let mut conn = schema::open_writer(path).map_err(|e| context(e.to_string()))?;
    schema::migrate(&mut conn).map_err(context)?;
    let depth = schema::count_outbox(&conn).map_err(|e| context(e.to_string()))?;
    Ok((conn, depth))
}

fn unexpected(answer: Answer) -> StoreError {
    StoreError::Backend(format!(
        "the store writer gave an unexpected answer: {answer:?}"
    ))
}

#[async_trait]
impl Store for SqliteStore {
    async fn insert(&self, events: Vec<NormalizedEvent>) -> Result<Vec<InsertOutcome>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        match self.write(Op::Insert(events)).await? {
            Answer::Outcomes(outcomes) => Ok(outcomes),
            other => Err(unexpected(other)),
        }
    }

    async fn is_seen(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_string();
        self.read(move |conn| {
            conn.prepare_cached("SELECT 1 FROM seen WHERE id = ?1")?
                .exists([id])
        })
        .await
    }

    async fn claim_pending(&self, limit: usize) -> Result<Vec<PendingMessage>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT o.seq, o.id, o.event_type, o.routing_key, o.time_ms, COALESCE(b.body, o.body), o.attempts
                 FROM outbox o LEFT JOIN outbox_body b ON b.seq = o.seq
                 WHERE o.next_attempt_at_ms <= ?1 ORDER BY o.next_attempt_at_ms, o.seq LIMIT ?2",
            )?;
            let rows = stmt.query_map([now_ms(), limit], |row| {
                Ok(PendingMessage {
                    seq: row.get(0)?,
                    id: row.get(1)?,
                    event_type: row.get(2)?,
                    routing_key: row.get(3)?,
                    time: DateTime::<Utc>::from_timestamp_millis(row.get(4)?).unwrap_or_default(),
                    body: row.get(5)?,
                    attempts: u32::try_from(row.get::<_, i64>(6)?).unwrap_or(u32::MAX),
                })
            })?;
            rows.collect()
        })
        .await
    }

    async fn mark_published(&self, seqs: &[i64]) -> Result<(), StoreError> {
        if seqs.is_empty() {
            return Ok(());
        }
        self.write(Op::MarkPublished(seqs.to_vec())).await.map(drop)
    }

    async fn mark_sending(&self, seqs: &[i64], send_id: i64) -> Result<(), StoreError> {
        if seqs.is_empty() {
            return Ok(());
        }
        let op = Op::MarkSending {
            seqs: seqs.to_vec(),
            send_id,
        };
        self.write(op).await.map(drop)
    }

    async fn in_flight(&self) -> Result<Vec<InFlightMessage>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, id, send_id, sent_at_ms FROM outbox
                 WHERE sent_at_ms IS NOT NULL ORDER BY sent_at_ms, seq",
            )?;
            let rows = stmt.query_map([], |row| {
                Ok(InFlightMessage {
                    seq: row.get(0)?,
                    id: row.get(1)?,
                    send_id: row.get::<_, Option<i64>>(2)?.unwrap_or_default(),
                    sent_at: DateTime::<Utc>::from_timestamp_millis(row.get(3)?)
                        .unwrap_or_default(),
                })
            })?;
            rows.collect()
        })
        .await
    }

    async fn clear_sending(&self, seqs: &[i64]) -> Result<(), StoreError> {
        if seqs.is_empty() {
            return Ok(());
        }
        self.write(Op::ClearSending(seqs.to_vec())).await.map(drop)
    }

    async fn mark_failed(&self, seqs: &[i64], retry_after: Duration) -> Result<(), StoreError> {
        self.fail(seqs, retry_after, false).await
    }

    async fn mark_unconfirmed(
        &self,
        seqs: &[i64],
        retry_after: Duration,
    ) -> Result<(), StoreError> {
        self.fail(seqs, retry_after, true).await
    }

    async fn outbox_depth(&self) -> Result<u64, StoreError> {
        Ok(self.shared.depth.load(Ordering::SeqCst))
    }

    async fn purge_seen_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        // In chunks, each its own writer request: hook commits queued meanwhile go in between
        // instead of waiting behind one transaction over millions of rows.
        let mut purged = 0;
        loop {
            let op = Op::PurgeSeenBefore {
                cutoff_ms: cutoff.timestamp_millis(),
                limit: PURGE_CHUNK,
            };
            match self.write(op).await? {
                Answer::Count(n) => {
                    purged += n;
                    if n < PURGE_CHUNK {
                        return Ok(purged);
                    }
                }
                other => return Err(unexpected(other)),
            }
            tokio::time::sleep(PURGE_PAUSE).await;
        }
    }

    async fn check_writable(&self) -> Result<(), StoreError> {
        self.write(Op::Heartbeat).await.map(drop)
    }

    async fn put_state(&self, namespace: &str, key: &str, value: &str) -> Result<(), StoreError> {
        self.write(Op::PutState {
            namespace: namespace.to_string(),
            key: key.to_string(),
            value: value.to_string(),
        })
        .await
        .map(drop)
    }

    async fn get_state(&self, namespace: &str, key: &str) -> Result<Option<String>, StoreError> {
        let (namespace, key) = (namespace.to_string(), key.to_string());
        self.read(move |conn| {
            use rusqlite::OptionalExtension;
            conn.prepare_cached("SELECT value FROM state WHERE namespace = ?1 AND key = ?2")?
                .query_row([namespace, key], |row| row.get(0))
                .optional()
        })
        .await
    }

    async fn list_state(&self, namespace: &str) -> Result<Vec<(String, String)>, StoreError> {
        let namespace = namespace.to_string();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT key, value FROM state WHERE namespace = ?1 ORDER BY key")?;
            let rows = stmt.query_map([namespace], |row| Ok((row.get(0)?, row.get(1)?)))?;
            rows.collect()
        })
        .await
    }

    fn outbox_notify(&self) -> Arc<Notify> {
        self.shared.notify.clone()
    }
}

impl Drop for SqliteStore {
    /// Closes the queue and waits for the writer to finish what it was given, so the file is closed
    /// cleanly (and can be reopened at once) when the store is gone.
    fn drop(&mut self) {
        self.requests.take();
        if let Some(thread) = self.writer_thread.take() {
            let _ = thread.join();
        }
    }
}
