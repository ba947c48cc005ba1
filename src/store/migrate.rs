//! Moving a single-node SQLite store onto PostgreSQL (`ado-ingest store migrate`): seen ids, the
//! undelivered outbox with its bodies, and the small durable state (watermarks, cursors, backfill
//! jobs), so the replicas that take over neither replay history nor lose what was not yet sent.
//!
//! Idempotent: an outbox row is copied in the same transaction as its seen id and only when that id
//! was new to the database, so a second run (or one after the replicas published and deleted the row)
//! copies nothing twice; state is only overwritten by a newer value.

use std::path::{Path, PathBuf};

use rusqlite::Connection;
use tokio::sync::mpsc;
use tokio_postgres::NoTls;

use super::StoreError;
use super::postgres::schema as pg_schema;
use super::sqlite::schema as sqlite_schema;

/// Rows read from SQLite and written to PostgreSQL per transaction.
const CHUNK: usize = 2_000;

/// What a migration copied, and what the target already had.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    pub outbox_copied: u64,
    pub outbox_present: u64,
    pub seen_copied: u64,
    pub seen_present: u64,
    pub state_copied: u64,
    pub state_kept: u64,
}

/// The part of a migration a progress report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Outbox,
    Seen,
    State,
}

impl Phase {
    pub fn label(self) -> &'static str {
        match self {
            Phase::Outbox => "undelivered events",
            Phase::Seen => "seen ids",
            Phase::State => "watermarks, cursors and jobs",
        }
    }
}

/// Rows of each kind in the source, known before copying starts (for progress bars).
#[derive(Debug, Default, Clone, Copy)]
pub struct SourceCounts {
    pub outbox: u64,
    pub seen: u64,
    pub state: u64,
}

struct OutboxRow {
    id: String,
    first_seen: i64,
    event_type: String,
    routing_key: String,
    time_ms: i64,
    body: Vec<u8>,
    attempts: i32,
    next_attempt_at_ms: i64,
    sent_at_ms: Option<i64>,
    send_id: Option<i64>,
}

struct StateRow {
    namespace: String,
    key: String,
    value: String,
    updated_ms: i64,
}

enum Chunk {
    Outbox(Vec<OutboxRow>),
    Seen(Vec<(String, i64)>),
    State(Vec<StateRow>),
}

/// Copies the SQLite store at `from` into the PostgreSQL database `to` (migrated to this build's
/// schema first). `skip_namespaces` are state namespaces that describe the old process only.
/// `on_start` gets the source's row counts, `on_progress` each chunk's phase and size.
pub async fn sqlite_to_postgres(
    from: &Path,
    to: &str,
    skip_namespaces: &[&str],
    on_start: impl FnOnce(SourceCounts),
    mut on_progress: impl FnMut(Phase, u64),
) -> Result<MigrationReport, StoreError> {
    if !from.is_file() {
        return Err(StoreError::Backend(format!(
            "no SQLite store at {}",
            from.display()
        )));
    }
    let config: tokio_postgres::Config = to
        .parse()
        .map_err(|e| StoreError::Backend(format!("the PostgreSQL URL cannot be read: {e}")))?;
    let (mut client, connection) = config
        .connect(NoTls)
        .await
        .map_err(|e| StoreError::Unavailable(format!("cannot connect to PostgreSQL: {e}")))?;
    let connection = tokio::spawn(connection);
    pg_schema::migrate(&mut client)
        .await
        .map_err(StoreError::Backend)?;

    let source = open_source(from.to_path_buf(), skip_namespaces).await?;
    on_start(source.counts);
    let (chunks, mut received) = mpsc::channel::<Result<Chunk, String>>(4);
    let reader = tokio::task::spawn_blocking(move || source.read_all(&chunks));

    let mut report = MigrationReport::default();
    while let Some(chunk) = received.recv().await {
        let chunk = chunk.map_err(StoreError::Backend)?;
        let (phase, n) = write_chunk(&mut client, chunk, &mut report).await?;
        on_progress(phase, n);
    }
    reader
        .await
        .map_err(|e| StoreError::Backend(format!("the SQLite reader stopped: {e}")))?;
    drop(client);
    let _ = connection.await;
    Ok(report)
}

struct Source {
    conn: Connection,
    counts: SourceCounts,
    skip: Vec<String>,
}

async fn open_source(path: PathBuf, skip_namespaces: &[&str]) -> Result<Source, StoreError> {
    let skip: Vec<String> = skip_namespaces.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || -> Result<Source, String> {
        let mut conn = sqlite_schema::open_writer(&path).map_err(|e| e.to_string())?;
        // An older file is brought to the current schema first, as `serve` would on start.
        sqlite_schema::migrate(&mut conn)?;
        let count = |sql: &str| -> Result<u64, String> {
            conn.query_row(sql, [], |row| row.get::<_, i64>(0))
                .map(|n| u64::try_from(n).unwrap_or(0))
                .map_err(|e| e.to_string())
        };
        let outbox = count("SELECT COUNT(*) FROM outbox")?;
        let seen = count("SELECT COUNT(*) FROM seen")?;
        let state = count("SELECT COUNT(*) FROM state")?;
        Ok(Source {
            counts: SourceCounts {
                outbox,
                seen,
                state,
            },
            conn,
            skip,
        })
    })
    .await
    .map_err(|e| StoreError::Backend(e.to_string()))?
    .map_err(|e| StoreError::Backend(format!("reading the SQLite store: {e}")))
}

impl Source {
    /// Sends the outbox, then seen ids, then state, in chunks; stops at the first error.
    fn read_all(self, out: &mpsc::Sender<Result<Chunk, String>>) {
        if let Err(e) = self.read_outbox(out) {
            let _ = out.blocking_send(Err(format!("reading the SQLite outbox: {e}")));
            return;
        }
        if let Err(e) = self.read_seen(out) {
            let _ = out.blocking_send(Err(format!("reading the SQLite seen ids: {e}")));
            return;
        }
        if let Err(e) = self.read_state(out) {
            let _ = out.blocking_send(Err(format!("reading the SQLite state: {e}")));
        }
    }

    fn read_outbox(&self, out: &mpsc::Sender<Result<Chunk, String>>) -> rusqlite::Result<()> {
        // Bodies live in outbox_body since schema version 4; older rows keep theirs inline.
        let mut statement = self.conn.prepare(
            "SELECT o.seq, o.id, COALESCE(s.first_seen, o.time_ms), o.event_type, o.routing_key,
                    o.time_ms, COALESCE(b.body, o.body), o.attempts, o.next_attempt_at_ms,
                    o.sent_at_ms, o.send_id
             FROM outbox o
             LEFT JOIN outbox_body b ON b.seq = o.seq
             LEFT JOIN seen s ON s.id = o.id
             WHERE o.seq > ?1 ORDER BY o.seq LIMIT ?2",
        )?;
        let mut after = 0i64;
        loop {
            let mut last = after;
            let rows = statement
                .query_map(rusqlite::params![after, CHUNK as i64], |row| {
                    last = row.get(0)?;
                    Ok(OutboxRow {
                        id: row.get(1)?,
                        first_seen: row.get(2)?,
                        event_type: row.get(3)?,
                        routing_key: row.get(4)?,
                        time_ms: row.get(5)?,
                        body: row.get(6)?,
                        attempts: row.get(7)?,
                        next_attempt_at_ms: row.get(8)?,
                        sent_at_ms: row.get(9)?,
                        send_id: row.get(10)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            if rows.is_empty() || out.blocking_send(Ok(Chunk::Outbox(rows))).is_err() {
                return Ok(());
            }
            after = last;
        }
    }

    fn read_seen(&self, out: &mpsc::Sender<Result<Chunk, String>>) -> rusqlite::Result<()> {
        let mut statement = self
            .conn
            .prepare("SELECT id, first_seen FROM seen WHERE id > ?1 ORDER BY id LIMIT ?2")?;
        let mut after = String::new();
        loop {
            let rows = statement
                .query_map(rusqlite::params![after, CHUNK as i64], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let Some((last, _)) = rows.last() else {
                return Ok(());
            };
            after = last.clone();
            if out.blocking_send(Ok(Chunk::Seen(rows))).is_err() {
                return Ok(());
            }
        }
    }

    fn read_state(&self, out: &mpsc::Sender<Result<Chunk, String>>) -> rusqlite::Result<()> {
        let mut statement = self.conn.prepare(
            "SELECT namespace, key, value, updated_ms FROM state ORDER BY namespace, key",
        )?;
        let rows = statement
            .query_map([], |row| {
                Ok(StateRow {
                    namespace: row.get(0)?,
                    key: row.get(1)?,
                    value: row.get(2)?,
                    updated_ms: row.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut kept = rows
            .into_iter()
            .filter(|r| !self.skip.contains(&r.namespace))
            .peekable();
        while kept.peek().is_some() {
            let chunk: Vec<StateRow> = kept.by_ref().take(CHUNK).collect();
            if out.blocking_send(Ok(Chunk::State(chunk))).is_err() {
                break;
            }
        }
        Ok(())
    }
}

async fn write_chunk(
    client: &mut tokio_postgres::Client,
    chunk: Chunk,
    report: &mut MigrationReport,
) -> Result<(Phase, u64), StoreError> {
    let pg = |e: tokio_postgres::Error| StoreError::Backend(format!("writing to PostgreSQL: {e}"));
    let tx = client.transaction().await.map_err(pg)?;
    let result = match chunk {
        Chunk::Outbox(rows) => {
            let n = rows.len() as u64;
            let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
            let first_seen: Vec<i64> = rows.iter().map(|r| r.first_seen).collect();
            let types: Vec<&str> = rows.iter().map(|r| r.event_type.as_str()).collect();
            let keys: Vec<&str> = rows.iter().map(|r| r.routing_key.as_str()).collect();
            let times: Vec<i64> = rows.iter().map(|r| r.time_ms).collect();
            let bodies: Vec<&[u8]> = rows.iter().map(|r| r.body.as_slice()).collect();
            let attempts: Vec<i32> = rows.iter().map(|r| r.attempts).collect();
            let due: Vec<i64> = rows.iter().map(|r| r.next_attempt_at_ms).collect();
            let sent_at: Vec<Option<i64>> = rows.iter().map(|r| r.sent_at_ms).collect();
            let send_ids: Vec<Option<i64>> = rows.iter().map(|r| r.send_id).collect();
            // Only ids new to `seen` get their row: one already there was either copied by an
            // earlier run or received by the replicas, and published (or queued) by them.
            let copied = tx
                .execute(
                    "WITH new_seen AS (
                         INSERT INTO seen (id, first_seen)
                         SELECT * FROM unnest($1::text[], $2::bigint[])
                         ON CONFLICT DO NOTHING
                         RETURNING id
                     )
                     INSERT INTO outbox (id, event_type, routing_key, time_ms, body, attempts,
                                         next_attempt_at_ms, sent_at_ms, send_id)
                     SELECT r.id, r.event_type, r.routing_key, r.time_ms, r.body, r.attempts,
                            r.due, r.sent_at, r.send_id
                     FROM unnest($1::text[], $3::text[], $4::text[], $5::bigint[], $6::bytea[],
                                 $7::int[], $8::bigint[], $9::bigint[], $10::bigint[])
                          AS r(id, event_type, routing_key, time_ms, body, attempts, due, sent_at, send_id)
                     JOIN new_seen USING (id)
                     ON CONFLICT (id) DO NOTHING",
                    &[
                        &ids,
                        &first_seen,
                        &types,
                        &keys,
                        &times,
                        &bodies,
                        &attempts,
                        &due,
                        &sent_at,
                        &send_ids,
                    ],
                )
                .await
                .map_err(pg)?;
            // Counted in the same transaction, under the key of rows no live replica added.
            if copied > 0 {
                tx.execute(super::postgres::TALLY_ADD, &[&"", &(copied as i64)])
                    .await
                    .map_err(pg)?;
            }
            report.outbox_copied += copied;
            report.outbox_present += n - copied.min(n);
            (Phase::Outbox, n)
        }
        Chunk::Seen(rows) => {
            let n = rows.len() as u64;
            let ids: Vec<&str> = rows.iter().map(|(id, _)| id.as_str()).collect();
            let first_seen: Vec<i64> = rows.iter().map(|(_, t)| *t).collect();
            let copied = tx
                .execute(
                    "INSERT INTO seen (id, first_seen)
                     SELECT * FROM unnest($1::text[], $2::bigint[])
                     ON CONFLICT DO NOTHING",
                    &[&ids, &first_seen],
                )
                .await
                .map_err(pg)?;
            report.seen_copied += copied;
            report.seen_present += n - copied.min(n);
            (Phase::Seen, n)
        }
        Chunk::State(rows) => {
            let n = rows.len() as u64;
            let namespaces: Vec<&str> = rows.iter().map(|r| r.namespace.as_str()).collect();
            let keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
            let values: Vec<&str> = rows.iter().map(|r| r.value.as_str()).collect();
            let updated: Vec<i64> = rows.iter().map(|r| r.updated_ms).collect();
            // A value the replicas wrote since (a watermark moved on) is newer: it stays.
            let copied = tx
                .execute(
                    "INSERT INTO state (namespace, key, value, updated_ms)
                     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])
                     ON CONFLICT (namespace, key) DO UPDATE
                         SET value = excluded.value, updated_ms = excluded.updated_ms
                         WHERE state.updated_ms < excluded.updated_ms",
                    &[&namespaces, &keys, &values, &updated],
                )
                .await
                .map_err(pg)?;
            report.state_copied += copied;
            report.state_kept += n - copied.min(n);
            (Phase::State, n)
        }
    };
    tx.commit().await.map_err(pg)?;
    Ok(result)
}
