//! SqliteStore: the schema upgrade of files written before rows could be marked as being sent.

use super::{SqliteStore, schema};
use crate::store::Store;

#[tokio::test]
async fn a_version_1_file_is_upgraded_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.sqlite");
    {
        // What the previous release wrote: the version 1 schema with a waiting row.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(schema::SCHEMA_V1).unwrap();
        conn.execute(
            "INSERT INTO outbox (id, event_type, routing_key, time_ms, body, attempts, next_attempt_at_ms)
             VALUES ('old', 'git.push', 'a.b.git.push', 0, x'7b7d', 2, 0)",
            [],
        )
        .unwrap();
        conn.execute("INSERT INTO seen (id, first_seen) VALUES ('old', 0)", [])
            .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
    }
    let path = path.display().to_string();
    let store = SqliteStore::open(&path, 100).await.unwrap();
    let pending = store.claim_pending(10).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!((pending[0].id.as_str(), pending[0].attempts), ("old", 2));
    assert_eq!(pending[0].body, b"{}");
    assert!(
        store.in_flight().await.unwrap().is_empty(),
        "old rows are not in flight"
    );
    store.mark_sending(&[pending[0].seq], 1).await.unwrap();
    assert_eq!(store.in_flight().await.unwrap().len(), 1);
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, schema::SCHEMA_VERSION);
}
