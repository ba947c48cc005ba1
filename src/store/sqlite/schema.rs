//! Opening an SQLite connection with the pragmas the store relies on, and the versioned schema.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

/// Bumped (with a migration step in [`migrate`]) whenever the tables change.
pub(super) const SCHEMA_VERSION: i64 = 4;

/// How long a connection waits for a lock held by the other connection before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub(super) const SCHEMA_V1: &str = "
CREATE TABLE IF NOT EXISTS seen (
    id TEXT PRIMARY KEY,
    first_seen INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_first_seen ON seen (first_seen);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    routing_key TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    body BLOB NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at_ms INTEGER NOT NULL
);
-- claim_pending walks this index: due rows in the order they became due, without a sort.
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (next_attempt_at_ms, seq);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
";

/// Version 2: a row remembers that it is being sent (when, and the send's id, which the publisher
/// also puts on the message) until the broker's answer is recorded. After a crash or a lost
/// connection such rows are ambiguous: the publisher asks the broker's ledger whether they were routed.
const SCHEMA_V2: &str = "
ALTER TABLE outbox ADD COLUMN sent_at_ms INTEGER;
ALTER TABLE outbox ADD COLUMN send_id INTEGER;
-- Partial: only rows in flight (at most about one batch) are in it, so it costs nearly nothing.
CREATE INDEX IF NOT EXISTS outbox_in_flight ON outbox (sent_at_ms) WHERE sent_at_ms IS NOT NULL;
";

/// Version 3: small durable state next to the events — reconciler watermarks and backfill jobs —
/// so a watermark is only ever written by the same writer after the events it covers are committed.
const SCHEMA_V3: &str = "
CREATE TABLE IF NOT EXISTS state (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (namespace, key)
) WITHOUT ROWID;
";

/// Version 4: message bodies in their own table. A row's small columns change several times on
/// its way out (sending marks, attempts); SQLite rewrites a whole record on update, so with the body
/// beside them every mark rewrote kilobytes. Old rows keep their inline body until published.
const SCHEMA_V4: &str = "
CREATE TABLE IF NOT EXISTS outbox_body (
    seq INTEGER PRIMARY KEY,
    body BLOB NOT NULL
);
";

/// Schema steps in order: step `i` brings a file from version `i` to `i + 1`.
const STEPS: [&str; 4] = [SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4];
const _: () = assert!(STEPS.len() as i64 == SCHEMA_VERSION);

/// Opens the writer connection: WAL so readers never block it, `synchronous = FULL` so a commit is
/// on disk (WAL fsynced) before any caller is told its event is durable.
pub(in crate::store) fn open_writer(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    // Per-request savepoints keep their sub-journals in memory rather than in temporary files.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // Outbox rows live briefly: with checkpoints further apart, pages inserted and deleted between
    // two checkpoints are copied into the database file once instead of several times.
    conn.pragma_update(None, "wal_autocheckpoint", 4000)?;
    conn.pragma_update(None, "cache_size", PAGE_CACHE_KIB)?;
    Ok(conn)
}

/// Page cache per connection, in KiB as a negative `cache_size` (SQLite's convention): enough to
/// keep the hot outbox and seen-id pages in memory instead of re-reading them from the file.
const PAGE_CACHE_KIB: i64 = -16 * 1024;

/// Opens a connection for queries only (claims, lookups); it can never write by mistake.
pub(super) fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "query_only", "ON")?;
    conn.pragma_update(None, "cache_size", PAGE_CACHE_KIB)?;
    Ok(conn)
}

/// Brings the schema to [`SCHEMA_VERSION`]; refuses a file written by a newer version.
pub(in crate::store) fn migrate(conn: &mut Connection) -> Result<(), String> {
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(|e| e.to_string())?;
    if version > SCHEMA_VERSION {
        return Err(format!(
            "the store was written by a newer ado-ingest (schema version {version}, this build knows {SCHEMA_VERSION})"
        ));
    }
    // Each step commits with its version, so an interrupted upgrade resumes where it stopped.
    for (from, step) in (0i64..)
        .zip(STEPS)
        .skip(usize::try_from(version.max(0)).unwrap_or(0))
    {
        let tx = conn.transaction().map_err(|e| e.to_string())?;
        tx.execute_batch(step)
            .map_err(|e| format!("upgrading the schema from version {from}: {e}"))?;
        tx.pragma_update(None, "user_version", from + 1)
            .map_err(|e| e.to_string())?;
        tx.commit().map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Number of rows in the outbox, the starting value of the in-memory depth counter.
pub(super) fn count_outbox(conn: &Connection) -> rusqlite::Result<u64> {
    let n: i64 = conn.query_row("SELECT COUNT(*) FROM outbox", [], |row| row.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}
