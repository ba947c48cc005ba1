//! The PostgreSQL store, for several replicas sharing one database: hooks are group-committed by
//! one writer task per process (see [`writer`]), duplicates are settled by `seen`'s primary key,
//! publishers claim outbox rows with `FOR UPDATE SKIP LOCKED` under a lease renewed while the process
//! lives, and ownership of an organization or a backfill job is a session advisory lock ([`locks`]).

mod locks;
pub mod schema;
mod writer;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio_postgres::NoTls;
use tokio_util::sync::CancellationToken;

use super::{InFlightMessage, InsertOutcome, PendingMessage, Store, StoreError, StoreOptions};
use crate::normalize::NormalizedEvent;

/// Insert requests that may wait for the writer; beyond it callers wait (backpressure).
const QUEUE_CAPACITY: usize = 4096;
/// How old the shared outbox count may be before [`Store::outbox_depth`] reads it again (a sum
/// over a few tally rows, so it may be read often).
const DEPTH_REFRESH: Duration = Duration::from_millis(100);
/// How often a publisher with rows of its own still looks for rows nobody holds (failed ones,
/// migrated ones, a dead replica's).
const ADOPT_EVERY: Duration = Duration::from_secs(1);

/// Adds `$2` outbox rows to tally key `$1`.
pub(crate) const TALLY_ADD: &str = "INSERT INTO outbox_tally (key, n) VALUES ($1, $2)
     ON CONFLICT (key) DO UPDATE SET n = outbox_tally.n + EXCLUDED.n";

/// The tally key under which `replica` adds (`'+'`) or subtracts (`'-'`) outbox rows: the writer and
/// the publisher each have their own row, so neither waits on the other's row lock.
fn tally_key(replica: &str, sign: char) -> String {
    format!("{replica}{sign}")
}

/// State shared by the store handle and its writer task.
pub(super) struct Shared {
    /// Outbox rows, all replicas together: counted at most every [`DEPTH_REFRESH`], adjusted by
    /// this process's own inserts and deletes in between.
    pub depth: AtomicU64,
    pub commits: AtomicU64,
    pub notify: Arc<Notify>,
    pub outbox_max: u64,
    /// This replica: it holds the rows it stores.
    pub replica: String,
    /// The tally key this replica's writer adds to.
    pub tally_added: String,
}

/// [`Store`] on a PostgreSQL database.
pub struct PostgresStore {
    pool: Pool,
    inserts: mpsc::Sender<writer::InsertRequest>,
    shared: Arc<Shared>,
    locks: locks::LockSession,
    replica: String,
    /// The tally key this replica's publisher subtracts from.
    tally_published: String,
    lease: Duration,
    depth_counted: tokio::sync::Mutex<Option<Instant>>,
    /// When the publisher last looked for rows nobody holds, and whether it found any.
    adopted: std::sync::Mutex<Option<(Instant, bool)>>,
    /// Stops the lease renewal when the store is dropped.
    stop: CancellationToken,
}

impl PostgresStore {
    /// Connects, applies the migrations and starts the writer and the lease renewal.
    pub async fn open(options: &StoreOptions) -> Result<PostgresStore, StoreError> {
        let mut config: tokio_postgres::Config = options
            .location
            .parse()
            .map_err(|e| StoreError::Backend(format!("the PostgreSQL URL cannot be read: {e}")))?;
        // No JIT: it costs milliseconds per statement compiling plans for the small batches here.
        let mut server_options = String::from("-c jit=off");
        let timeout_ms = options.statement_timeout.as_millis();
        if timeout_ms > 0 {
            server_options.push_str(&format!(" -c statement_timeout={timeout_ms}"));
        }
        config.options(server_options);
        config.application_name(format!("ado-ingest {}", options.replica_id));
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(2))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Backend(format!("cannot build the connection pool: {e}")))?;
        {
            let mut client = pool.get().await.map_err(|e| {
                StoreError::Unavailable(format!("cannot connect to PostgreSQL: {e}"))
            })?;
            schema::migrate(&mut client)
                .await
                .map_err(StoreError::Backend)?;
        }
        let shared = Arc::new(Shared {
            depth: AtomicU64::new(0),
            commits: AtomicU64::new(0),
            notify: Arc::new(Notify::new()),
            outbox_max: options.outbox_max,
            replica: options.replica_id.clone(),
            tally_added: tally_key(&options.replica_id, '+'),
        });
        let lease = options.claim_lease.max(Duration::from_secs(1));
        {
            // Held before the first row is stored: the rows this replica stores are its claims,
            // and without a live lease they would look abandoned to the others.
            let client = pool.get().await.map_err(|e| {
                StoreError::Unavailable(format!("cannot connect to PostgreSQL: {e}"))
            })?;
            renew_lease(&client, &options.replica_id, lease)
                .await
                .map_err(backend)?;
            fold_tally(&client).await.map_err(backend)?;
        }
        let (inserts, queue) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(writer::run(pool.clone(), queue, shared.clone()));
        let store = PostgresStore {
            pool: pool.clone(),
            inserts,
            shared,
            locks: locks::LockSession::new(config),
            replica: options.replica_id.clone(),
            tally_published: tally_key(&options.replica_id, '-'),
            lease,
            depth_counted: tokio::sync::Mutex::new(None),
            adopted: std::sync::Mutex::new(None),
            stop: CancellationToken::new(),
        };
        store.count_depth().await?;
        tokio::spawn(renew_leases(
            pool,
            store.replica.clone(),
            store.lease,
            store.stop.clone(),
        ));
        Ok(store)
    }

    /// Transactions that committed hooks since open.
    pub fn commit_count(&self) -> u64 {
        self.shared.commits.load(Ordering::SeqCst)
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|e| StoreError::Unavailable(format!("no database connection: {e}")))
    }

    async fn execute(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await.map_err(backend)?;
        client.execute(&statement, params).await.map_err(backend)
    }

    /// One prepared (and cached) query on a pooled connection.
    async fn query(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, StoreError> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await.map_err(backend)?;
        client.query(&statement, params).await.map_err(backend)
    }

    async fn count_depth(&self) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let n: i64 = client
            .query_one("SELECT COALESCE(SUM(n), 0)::BIGINT FROM outbox_tally", &[])
            .await
            .map_err(backend)?
            .get(0);
        let n = u64::try_from(n).unwrap_or(0);
        self.shared.depth.store(n, Ordering::SeqCst);
        *self.depth_counted.lock().await = Some(Instant::now());
        Ok(n)
    }

    /// Due rows this replica holds (it stored them or adopted them); nobody else touches them
    /// while its lease lives, so no lock is taken. `claimed_by` leads the ORDER BY (it is one
    /// value here, so the order is the same) so that the plan reads `outbox_held` in order and
    /// stops at the limit, whatever a generic plan guesses of how many rows each replica holds.
    async fn held_due(&self, now: i64, limit: i64) -> Result<Vec<PendingMessage>, StoreError> {
        let rows = self
            .query(
                "SELECT seq, id, event_type, routing_key, time_ms, body, attempts
                 FROM outbox
                 WHERE claimed_by = $1 AND next_attempt_at_ms <= $2
                 ORDER BY claimed_by, next_attempt_at_ms, seq LIMIT $3",
                &[&self.replica, &now, &limit],
            )
            .await?;
        Ok(rows.iter().map(pending).collect())
    }

    /// Claims due rows nobody holds (refused ones, migrated ones) or whose holder's lease ran
    /// out; rows a dead replica has in flight are settled through `in_flight`, not published
    /// blindly. Each kind is read through `outbox_held` in due order (per dead replica), never by
    /// walking every due row.
    async fn adopt_due(&self, now: i64, limit: i64) -> Result<Vec<PendingMessage>, StoreError> {
        let rows = self
            .query(
                "UPDATE outbox SET claimed_by = $1
                 WHERE seq = ANY(ARRAY(
                     SELECT seq FROM (
                         SELECT seq, next_attempt_at_ms FROM (
                             SELECT seq, next_attempt_at_ms FROM outbox
                             WHERE claimed_by IS NULL AND next_attempt_at_ms <= $2
                               AND sent_at_ms IS NULL
                             ORDER BY claimed_by, next_attempt_at_ms, seq LIMIT $3
                             FOR UPDATE SKIP LOCKED) unheld
                         UNION ALL
                         SELECT a.seq, a.next_attempt_at_ms
                         FROM replica_leases l CROSS JOIN LATERAL (
                             SELECT seq, next_attempt_at_ms FROM outbox
                             WHERE claimed_by = l.replica AND next_attempt_at_ms <= $2
                               AND sent_at_ms IS NULL
                             ORDER BY claimed_by, next_attempt_at_ms, seq LIMIT $3
                             FOR UPDATE SKIP LOCKED) a
                         WHERE l.lease_until_ms < $2 AND l.replica <> $1
                     ) candidates
                     ORDER BY next_attempt_at_ms, seq LIMIT $3))
                 RETURNING seq, id, event_type, routing_key, time_ms, body, attempts,
                           next_attempt_at_ms",
                &[&self.replica, &now, &limit],
            )
            .await?;
        let mut adopted: Vec<(i64, PendingMessage)> = rows
            .iter()
            .map(|row| (row.get::<_, i64>(7), pending(row)))
            .collect();
        // RETURNING has no order: put the batch back in the order the rows became due.
        adopted.sort_by_key(|(due, m)| (*due, m.seq));
        Ok(adopted.into_iter().map(|(_, m)| m).collect())
    }

    /// Whether a claim that found rows of its own also looks for rows nobody holds: at once after
    /// a look that found some, otherwise every [`ADOPT_EVERY`], so the look is not paid on every
    /// batch. (A claim without rows of its own always looks.)
    fn adoption_due(&self) -> bool {
        let adopted = self.adopted.lock().unwrap_or_else(|e| e.into_inner());
        match *adopted {
            None => true,
            Some((at, found)) => found || at.elapsed() >= ADOPT_EVERY,
        }
    }
}

/// An outbox row as the publisher gets it (columns seq, id, event_type, routing_key, time_ms,
/// body, attempts).
fn pending(row: &tokio_postgres::Row) -> PendingMessage {
    PendingMessage {
        seq: row.get(0),
        id: row.get(1),
        event_type: row.get(2),
        routing_key: row.get(3),
        time: DateTime::<Utc>::from_timestamp_millis(row.get(4)).unwrap_or_default(),
        body: row.get(5),
        attempts: u32::try_from(row.get::<_, i32>(6)).unwrap_or(0),
    }
}

/// Folds the tally rows of replicas without a live lease into key `''`, so the tally does not
/// grow by two rows per replica ever started. A replica that is alive after all simply starts
/// its rows again; the sum stays exact either way.
async fn fold_tally(client: &tokio_postgres::Client) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "WITH gone AS (
                 DELETE FROM outbox_tally t
                 WHERE t.key <> '' AND NOT EXISTS (
                     SELECT 1 FROM replica_leases l
                     WHERE l.lease_until_ms >= $1
                       AND t.key IN (l.replica || '+', l.replica || '-'))
                 RETURNING n)
             INSERT INTO outbox_tally (key, n) SELECT '', COALESCE(SUM(n), 0) FROM gone
             ON CONFLICT (key) DO UPDATE SET n = outbox_tally.n + EXCLUDED.n",
            &[&now_ms()],
        )
        .await
        .map(drop)
}

/// Keeps this replica's claims alive: a replica that stops renewing (it died) loses them after
/// one lease, and the others' publishers take its rows. One row per replica, so renewing never
/// locks outbox rows a claim is looking at.
async fn renew_leases(pool: Pool, replica: String, lease: Duration, stop: CancellationToken) {
    let mut tick = tokio::time::interval(lease / 3);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let Ok(client) = pool.get().await else {
            continue;
        };
        if let Err(error) = renew_lease(&client, &replica, lease).await {
            tracing::warn!(%error, "cannot renew the outbox claims; other replicas may take them over");
        }
    }
}

async fn renew_lease(
    client: &tokio_postgres::Client,
    replica: &str,
    lease: Duration,
) -> Result<(), tokio_postgres::Error> {
    let until = now_ms().saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
    client
        .execute(
            "INSERT INTO replica_leases (replica, lease_until_ms) VALUES ($1, $2)
             ON CONFLICT (replica) DO UPDATE SET lease_until_ms = EXCLUDED.lease_until_ms",
            &[&replica, &until],
        )
        .await
        .map(drop)
}

#[async_trait]
impl Store for PostgresStore {
    async fn insert(&self, events: Vec<NormalizedEvent>) -> Result<Vec<InsertOutcome>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = oneshot::channel();
        self.inserts
            .send(writer::InsertRequest { events, reply })
            .await
            .map_err(|_| StoreError::Unavailable("the store writer has stopped".into()))?;
        answer.await.map_err(|_| {
            StoreError::Unavailable("the store writer stopped before answering".into())
        })?
    }

    async fn is_seen(&self, id: &str) -> Result<bool, StoreError> {
        Ok(!self
            .query("SELECT 1 FROM seen WHERE id = $1", &[&id])
            .await?
            .is_empty())
    }

    async fn claim_pending(&self, limit: usize) -> Result<Vec<PendingMessage>, StoreError> {
        let now = now_ms();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut rows = self.held_due(now, limit).await?;
        let room = limit - rows.len() as i64;
        if room > 0 && (rows.is_empty() || self.adoption_due()) {
            let adopted = self.adopt_due(now, room).await?;
            *self.adopted.lock().unwrap_or_else(|e| e.into_inner()) =
                Some((Instant::now(), !adopted.is_empty()));
            rows.extend(adopted);
        }
        Ok(rows)
    }

    async fn mark_published(&self, seqs: &[i64]) -> Result<(), StoreError> {
        if seqs.is_empty() {
            return Ok(());
        }
        // The delete and the tally in one statement, so the count cannot drift from the rows.
        let rows = self
            .query(
                "WITH gone AS (DELETE FROM outbox WHERE seq = ANY($1) RETURNING 1),
                 tallied AS (
                     INSERT INTO outbox_tally (key, n)
                     SELECT $2, -COUNT(*) FROM gone HAVING COUNT(*) > 0
                     ON CONFLICT (key) DO UPDATE SET n = outbox_tally.n + EXCLUDED.n)
                 SELECT COUNT(*) FROM gone",
                &[&seqs, &self.tally_published],
            )
            .await?;
        let deleted = rows.first().map_or(0, |row| row.get::<_, i64>(0));
        let deleted = u64::try_from(deleted).unwrap_or(0);
        let _ = self
            .shared
            .depth
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |d| {
                Some(d.saturating_sub(deleted))
            });
        Ok(())
    }

    async fn mark_sending(&self, seqs: &[i64], send_id: i64) -> Result<(), StoreError> {
        if seqs.is_empty() {
            return Ok(());
        }
        self.execute(
            "UPDATE outbox SET sent_at_ms = $2, send_id = $3 WHERE seq = ANY($1)",
            &[&seqs, &now_ms(), &send_id],
        )
        .await
        .map(drop)
    }

    async fn in_flight(&self) -> Result<Vec<InFlightMessage>, StoreError> {
        let now = now_ms();
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        // The partial index on sent rows, always: statistics of a table that churns this fast are
        // stale, and a full scan here runs every sweep on every replica.
        tx.batch_execute("SET LOCAL enable_seqscan = off")
            .await
            .map_err(backend)?;
        // Ours, and those of replicas whose lease ran out (they died mid-send): claimed here, so
        // exactly one replica settles each.
        let statement = tx
            .prepare_cached(
                "UPDATE outbox SET claimed_by = $1
                 WHERE seq = ANY(ARRAY(
                     SELECT seq FROM outbox
                     WHERE sent_at_ms IS NOT NULL
                       AND (claimed_by IS NULL OR claimed_by = $1 OR claimed_by = ANY(ARRAY(
                             SELECT replica FROM replica_leases
                             WHERE lease_until_ms < $2 AND replica <> $1)))
                     FOR UPDATE SKIP LOCKED))
                 RETURNING seq, id, send_id, sent_at_ms",
            )
            .await
            .map_err(backend)?;
        let rows = tx
            .query(&statement, &[&self.replica, &now])
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        let mut found: Vec<InFlightMessage> = rows
            .into_iter()
            .map(|row| InFlightMessage {
                seq: row.get(0),
                id: row.get(1),
                send_id: row.get::<_, Option<i64>>(2).unwrap_or_default(),
                sent_at: DateTime::<Utc>::from_timestamp_millis(row.get(3)).unwrap_or_default(),
            })
            .collect();
        found.sort_by_key(|m| (m.sent_at, m.seq));
        Ok(found)
    }

    async fn clear_sending(&self, seqs: &[i64]) -> Result<(), StoreError> {
        if seqs.is_empty() {
            return Ok(());
        }
        self.execute(
            "UPDATE outbox SET sent_at_ms = NULL, send_id = NULL WHERE seq = ANY($1)",
            &[&seqs],
        )
        .await
        .map(drop)
    }

    async fn mark_failed(&self, seqs: &[i64], retry_after: Duration) -> Result<(), StoreError> {
        if seqs.is_empty() {
            return Ok(());
        }
        // Refused: forgotten as a send and released, so any replica may retry it.
        self.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at_ms = $2,
                 sent_at_ms = NULL, send_id = NULL, claimed_by = NULL
             WHERE seq = ANY($1)",
            &[&seqs, &retry_at(retry_after)],
        )
        .await
        .map(drop)
    }

    async fn mark_unconfirmed(
        &self,
        seqs: &[i64],
        retry_after: Duration,
    ) -> Result<(), StoreError> {
        if seqs.is_empty() {
            return Ok(());
        }
        // Kept in flight and kept claimed: only this replica, or one that outlives its lease,
        // settles the send.
        self.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at_ms = $2 WHERE seq = ANY($1)",
            &[&seqs, &retry_at(retry_after)],
        )
        .await
        .map(drop)
    }

    async fn outbox_depth(&self) -> Result<u64, StoreError> {
        let fresh = self
            .depth_counted
            .lock()
            .await
            .is_some_and(|at| at.elapsed() < DEPTH_REFRESH);
        if fresh {
            return Ok(self.shared.depth.load(Ordering::SeqCst));
        }
        self.count_depth().await
    }

    async fn purge_seen_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        // In chunks, each its own short transaction, so no hook insert waits on a long one.
        let chunk = crate::store::sqlite::PURGE_CHUNK as i64;
        let mut purged = 0;
        loop {
            let n = self
                .execute(
                    "DELETE FROM seen WHERE id IN (
                         SELECT s.id FROM seen s WHERE s.first_seen < $1
                            AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.id = s.id)
                          ORDER BY s.first_seen LIMIT $2)",
                    &[&cutoff.timestamp_millis(), &chunk],
                )
                .await?;
            purged += n;
            if n < chunk as u64 {
                return Ok(purged);
            }
            tokio::time::sleep(crate::store::sqlite::PURGE_PAUSE).await;
        }
    }

    async fn check_writable(&self) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO meta (key, value) VALUES ('heartbeat', $1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&now_ms()],
        )
        .await
        .map(drop)
    }

    async fn put_state(&self, namespace: &str, key: &str, value: &str) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO state (namespace, key, value, updated_ms) VALUES ($1, $2, $3, $4)
             ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, updated_ms = excluded.updated_ms",
            &[&namespace, &key, &value, &now_ms()],
        )
        .await
        .map(drop)
    }

    async fn get_state(&self, namespace: &str, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .query(
                "SELECT value FROM state WHERE namespace = $1 AND key = $2",
                &[&namespace, &key],
            )
            .await?
            .first()
            .map(|row| row.get(0)))
    }

    async fn list_state(&self, namespace: &str) -> Result<Vec<(String, String)>, StoreError> {
        Ok(self
            .query(
                "SELECT key, value FROM state WHERE namespace = $1 ORDER BY key",
                &[&namespace],
            )
            .await?
            .into_iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect())
    }

    fn outbox_notify(&self) -> Arc<Notify> {
        self.shared.notify.clone()
    }

    async fn try_own(&self, name: &str) -> Result<bool, StoreError> {
        self.locks.try_lock(name).await
    }

    async fn release(&self, name: &str) -> Result<(), StoreError> {
        self.locks.unlock(name).await
    }

    async fn release_claims(&self) -> Result<u64, StoreError> {
        // The lease ends now, so its in-flight sends count as a dead replica's; its other rows are
        // unheld, which any publisher adopts at once. One statement: either both or neither.
        let rows = self
            .query(
                "WITH ended AS (
                     UPDATE replica_leases SET lease_until_ms = 0 WHERE replica = $1)
                 UPDATE outbox SET claimed_by = NULL
                 WHERE claimed_by = $1 AND sent_at_ms IS NULL
                 RETURNING 1",
                &[&self.replica],
            )
            .await?;
        self.stop.cancel();
        Ok(rows.len() as u64)
    }

    fn replica_id(&self) -> &str {
        &self.replica
    }

    fn is_shared(&self) -> bool {
        true
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

pub(super) fn backend(e: tokio_postgres::Error) -> StoreError {
    // The server's own message (constraint, timeout) is more useful than the client's summary.
    match e.as_db_error() {
        Some(db) => StoreError::Backend(format!("{}: {}", db.code().code(), db.message())),
        None => StoreError::Backend(e.to_string()),
    }
}

pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn retry_at(retry_after: Duration) -> i64 {
    now_ms().saturating_add(i64::try_from(retry_after.as_millis()).unwrap_or(i64::MAX))
}
