//! The store's single writer thread. SQLite allows one writer at a time and every commit costs an
//! fsync, so instead of each caller committing on its own, every write request queued while the
//! previous commit was on disk is applied in ONE transaction (group commit): N concurrent hooks cost
//! about one fsync. Each request runs in its own savepoint so one failing request (outbox full, a
//! constraint error) does not take the others of its batch down.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, Transaction, TransactionBehavior, params};
use tokio::sync::{Notify, mpsc, oneshot};

use crate::normalize::NormalizedEvent;
use crate::store::{InsertOutcome, StoreError};

/// Upper bound of the work (events, rows) applied in one transaction, so a flood of requests
/// still commits regularly and the callers at the front of the queue are not held back for long.
pub(super) const MAX_BATCH_WEIGHT: usize = 1024;

/// What a write request produced.
#[derive(Debug)]
pub(super) enum Answer {
    Outcomes(Vec<InsertOutcome>),
    Count(u64),
    Done,
}

/// The writes the store performs; everything that modifies the file goes through here.
pub(super) enum Op {
    Insert(Vec<NormalizedEvent>),
    MarkPublished(Vec<i64>),
    MarkSending {
        seqs: Vec<i64>,
        send_id: i64,
    },
    ClearSending(Vec<i64>),
    MarkFailed {
        seqs: Vec<i64>,
        retry_after: Duration,
        /// Whether the rows stay in flight (no answer came) or not (the broker refused them).
        keep_in_flight: bool,
    },
    /// Forgets at most `limit` seen ids older than the cutoff (one chunk of a purge).
    PurgeSeenBefore {
        cutoff_ms: i64,
        limit: u64,
    },
    Heartbeat,
    PutState {
        namespace: String,
        key: String,
        value: String,
    },
}

impl Op {
    fn weight(&self) -> usize {
        match self {
            Op::Insert(events) => events.len().max(1),
            Op::MarkPublished(seqs)
            | Op::MarkSending { seqs, .. }
            | Op::ClearSending(seqs)
            | Op::MarkFailed { seqs, .. } => seqs.len().max(1),
            Op::PurgeSeenBefore { .. } | Op::Heartbeat | Op::PutState { .. } => 1,
        }
    }
}

pub(super) struct Request {
    pub op: Op,
    pub reply: oneshot::Sender<Result<Answer, StoreError>>,
}

/// State the writer thread publishes to the store handle.
pub(super) struct Shared {
    /// Rows in the outbox as of the last commit. Exact, since only the writer changes the outbox.
    pub depth: AtomicU64,
    /// Transactions committed so far (each one fsync).
    pub commits: AtomicU64,
    pub notify: Arc<Notify>,
    pub outbox_max: u64,
}

/// Serves requests until every sender is dropped (the store was dropped).
pub(super) fn run(mut conn: Connection, mut rx: mpsc::Receiver<Request>, shared: Arc<Shared>) {
    while let Some(first) = rx.blocking_recv() {
        let mut weight = first.op.weight();
        let mut batch = vec![first];
        while weight < MAX_BATCH_WEIGHT {
            match rx.try_recv() {
                Ok(request) => {
                    weight += request.op.weight();
                    batch.push(request);
                }
                Err(_) => break,
            }
        }
        commit_batch(&mut conn, batch, &shared);
    }
}

fn commit_batch(conn: &mut Connection, batch: Vec<Request>, shared: &Shared) {
    let now = now_ms();
    // IMMEDIATE takes the write lock up front, so the commit cannot fail with SQLITE_BUSY halfway.
    let mut tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            let message = format!("cannot begin a transaction: {e}");
            for request in batch {
                let _ = request
                    .reply
                    .send(Err(StoreError::Backend(message.clone())));
            }
            return;
        }
    };
    let before = shared.depth.load(Ordering::SeqCst);
    let mut depth = before;
    let mut added = false;
    let mut results = Vec::with_capacity(batch.len());
    for request in batch {
        let result = apply_in_savepoint(&mut tx, &request.op, now, &mut depth, shared.outbox_max);
        if let (Op::Insert(_), Ok(Answer::Outcomes(outcomes))) = (&request.op, &result) {
            added |= outcomes.contains(&InsertOutcome::Accepted);
        }
        results.push((request.reply, result));
    }
    match tx.commit() {
        Ok(()) => {
            shared.depth.store(depth, Ordering::SeqCst);
            shared.commits.fetch_add(1, Ordering::SeqCst);
            metrics::counter!("ado_ingest_store_commits_total").increment(1);
            // Answer first: the callers are waiting for durability, the publisher is not in a hurry.
            for (reply, result) in results {
                let _ = reply.send(result);
            }
            if added {
                // notify_one stores a permit when the publisher is not waiting yet: never lost.
                shared.notify.notify_one();
            }
        }
        Err(e) => {
            let message = format!("commit failed: {e}");
            for (reply, result) in results {
                let _ = reply.send(result.and(Err(StoreError::Backend(message.clone()))));
            }
        }
    }
}

/// Applies one request; on error its savepoint is rolled back and nothing of it remains.
fn apply_in_savepoint(
    tx: &mut Transaction<'_>,
    op: &Op,
    now: i64,
    depth: &mut u64,
    outbox_max: u64,
) -> Result<Answer, StoreError> {
    let sp = tx.savepoint().map_err(backend)?;
    let mut new_depth = *depth;
    let answer = apply(&sp, op, now, &mut new_depth, outbox_max)?;
    sp.commit().map_err(backend)?;
    *depth = new_depth;
    Ok(answer)
}

fn apply(
    conn: &Connection,
    op: &Op,
    now: i64,
    depth: &mut u64,
    outbox_max: u64,
) -> Result<Answer, StoreError> {
    match op {
        Op::Insert(events) => insert(conn, events, now, depth, outbox_max).map(Answer::Outcomes),
        Op::MarkPublished(seqs) => {
            let mut delete = conn
                .prepare_cached("DELETE FROM outbox WHERE seq = ?1")
                .map_err(backend)?;
            let mut delete_body = conn
                .prepare_cached("DELETE FROM outbox_body WHERE seq = ?1")
                .map_err(backend)?;
            let mut deleted = 0u64;
            for seq in seqs {
                deleted += delete.execute([seq]).map_err(backend)? as u64;
                delete_body.execute([seq]).map_err(backend)?;
            }
            *depth = depth.saturating_sub(deleted);
            Ok(Answer::Count(deleted))
        }
        Op::MarkSending { seqs, send_id } => {
            let mut update = conn
                .prepare_cached("UPDATE outbox SET sent_at_ms = ?2, send_id = ?3 WHERE seq = ?1")
                .map_err(backend)?;
            for seq in seqs {
                update
                    .execute(params![seq, now, send_id])
                    .map_err(backend)?;
            }
            Ok(Answer::Done)
        }
        Op::ClearSending(seqs) => {
            let mut update = conn
                .prepare_cached(
                    "UPDATE outbox SET sent_at_ms = NULL, send_id = NULL WHERE seq = ?1",
                )
                .map_err(backend)?;
            for seq in seqs {
                update.execute([seq]).map_err(backend)?;
            }
            Ok(Answer::Done)
        }
        Op::MarkFailed {
            seqs,
            retry_after,
            keep_in_flight,
        } => {
            let retry_ms = i64::try_from(retry_after.as_millis()).unwrap_or(i64::MAX);
            let next = now.saturating_add(retry_ms);
            let sql = if *keep_in_flight {
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at_ms = ?2 WHERE seq = ?1"
            } else {
                // A refused send must not be mistaken later for a routed one: forget it.
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at_ms = ?2,
                 sent_at_ms = NULL, send_id = NULL WHERE seq = ?1"
            };
            let mut update = conn.prepare_cached(sql).map_err(backend)?;
            for seq in seqs {
                update.execute(params![seq, next]).map_err(backend)?;
            }
            Ok(Answer::Done)
        }
        Op::PurgeSeenBefore { cutoff_ms, limit } => {
            // The oldest ids first, through the first_seen index; NOT IN materializes the outbox
            // ids once per chunk (the outbox is small unless the broker has been away).
            let purged = conn
                .prepare_cached(
                    "DELETE FROM seen WHERE id IN (
                         SELECT id FROM seen WHERE first_seen < ?1
                            AND id NOT IN (SELECT id FROM outbox)
                          ORDER BY first_seen LIMIT ?2)",
                )
                .map_err(backend)?
                .execute(params![cutoff_ms, *limit as i64])
                .map_err(backend)?;
            Ok(Answer::Count(purged as u64))
        }
        Op::PutState {
            namespace,
            key,
            value,
        } => {
            conn.prepare_cached(
                "INSERT INTO state (namespace, key, value, updated_ms) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, updated_ms = excluded.updated_ms",
            )
            .and_then(|mut stmt| stmt.execute(params![namespace, key, value, now]))
            .map_err(backend)?;
            Ok(Answer::Done)
        }
        Op::Heartbeat => {
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('heartbeat', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [now],
            )
            .map_err(backend)?;
            Ok(Answer::Done)
        }
    }
}

fn insert(
    conn: &Connection,
    events: &[NormalizedEvent],
    now: i64,
    depth: &mut u64,
    outbox_max: u64,
) -> Result<Vec<InsertOutcome>, StoreError> {
    let mut is_seen = conn
        .prepare_cached("SELECT 1 FROM seen WHERE id = ?1")
        .map_err(backend)?;
    // Ids accepted earlier in this request are not in the table yet: track them here.
    let mut in_request: HashSet<&str> = HashSet::with_capacity(events.len());
    let mut outcomes = Vec::with_capacity(events.len());
    for event in events {
        let duplicate = !in_request.insert(event.id.as_str())
            || is_seen.exists([&event.id]).map_err(backend)?;
        outcomes.push(if duplicate {
            InsertOutcome::Duplicate
        } else {
            InsertOutcome::Accepted
        });
    }
    let accepted = outcomes
        .iter()
        .filter(|o| **o == InsertOutcome::Accepted)
        .count() as u64;
    if accepted == 0 {
        return Ok(outcomes);
    }
    if depth.saturating_add(accepted) > outbox_max {
        return Err(StoreError::OutboxFull { depth: *depth });
    }
    let mut put_seen = conn
        .prepare_cached("INSERT INTO seen (id, first_seen) VALUES (?1, ?2)")
        .map_err(backend)?;
    let mut put_outbox = conn
        .prepare_cached(
            "INSERT INTO outbox (id, event_type, routing_key, time_ms, body, attempts, next_attempt_at_ms)
             VALUES (?1, ?2, ?3, ?4, x'', 0, ?5)",
        )
        .map_err(backend)?;
    let mut put_body = conn
        .prepare_cached("INSERT INTO outbox_body (seq, body) VALUES (?1, ?2)")
        .map_err(backend)?;
    for (event, outcome) in events.iter().zip(&outcomes) {
        if *outcome == InsertOutcome::Accepted {
            put_seen.execute(params![event.id, now]).map_err(backend)?;
            put_outbox
                .execute(params![
                    event.id,
                    event.event_type,
                    event.routing_key,
                    event.time.timestamp_millis(),
                    now
                ])
                .map_err(backend)?;
            put_body
                .execute(params![conn.last_insert_rowid(), event.body])
                .map_err(backend)?;
        }
    }
    *depth += accepted;
    Ok(outcomes)
}

pub(super) fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Milliseconds since the Unix epoch (the unit of every timestamp column).
pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
