//! Versioned migrations of the PostgreSQL store: numbered SQL files applied in order at start, each
//! in its own transaction with its version, under an advisory lock so replicas starting together
//! apply each file once. A database written by a newer build is refused.

use tokio_postgres::Client;

/// The migration files, in order: file `i` brings a database from version `i` to `i + 1`.
const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init.sql", include_str!("migrations/0001_init.sql")),
    (
        "0002_replica_leases.sql",
        include_str!("migrations/0002_replica_leases.sql"),
    ),
    (
        "0003_outbox_tally.sql",
        include_str!("migrations/0003_outbox_tally.sql"),
    ),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Advisory lock key held (per transaction) while migrating: any constant unlikely to collide.
const MIGRATION_LOCK: i64 = 0x0ad0_1a6e_5700_0001;

/// Brings the database to [`SCHEMA_VERSION`]; refuses one whose version is newer.
pub async fn migrate(client: &mut Client) -> Result<(), String> {
    // Under the lock too: two `CREATE TABLE IF NOT EXISTS` racing can both pass the check and one
    // then fails on the catalog's unique index (replicas starting at the same moment).
    let tx = client.transaction().await.map_err(|e| db_text(&e))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(|e| format!("cannot take the migration lock: {}", db_text(&e)))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS ado_ingest_schema (
             version BIGINT NOT NULL,
             file TEXT NOT NULL,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )
    .await
    .map_err(|e| format!("cannot create the schema version table: {}", db_text(&e)))?;
    tx.commit()
        .await
        .map_err(|e| format!("cannot create the schema version table: {}", db_text(&e)))?;
    loop {
        let tx = client.transaction().await.map_err(|e| e.to_string())?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(|e| format!("cannot take the migration lock: {e}"))?;
        let version: i64 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM ado_ingest_schema",
                &[],
            )
            .await
            .map_err(|e| e.to_string())?
            .get(0);
        if version > SCHEMA_VERSION {
            return Err(format!(
                "the database was written by a newer ado-ingest (schema version {version}, this build knows {SCHEMA_VERSION}); upgrade ado-ingest or use another database"
            ));
        }
        let Some((file, sql)) = usize::try_from(version)
            .ok()
            .and_then(|v| MIGRATIONS.get(v))
        else {
            return Ok(());
        };
        tx.batch_execute(sql).await.map_err(|e| {
            format!(
                "applying migration {file} (version {version} → {}): {}",
                version + 1,
                db_text(&e)
            )
        })?;
        tx.execute(
            "INSERT INTO ado_ingest_schema (version, file) VALUES ($1, $2)",
            &[&(version + 1), file],
        )
        .await
        .map_err(|e| e.to_string())?;
        tx.commit()
            .await
            .map_err(|e| format!("committing migration {file}: {e}"))?;
        tracing::info!(file, version = version + 1, "store schema migrated");
    }
}

/// The server's message of a database error (tokio-postgres' `Display` says only "db error").
fn db_text(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{e}: {}", db.message()),
        None => e.to_string(),
    }
}
