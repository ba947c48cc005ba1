//! SqliteStore: rows marked as being sent (the publisher's crash recovery) and the schema upgrade
//! of files written before that existed.

use std::time::Duration;

use chrono::Utc;

use super::{SqliteStore, schema};
use crate::normalize::NormalizedEvent;
use crate::store::Store;

fn event(id: &str) -> NormalizedEvent {
    NormalizedEvent {
        id: id.to_string(),
        event_type: "git.push".into(),
        routing_key: "contoso.fabrikam.git.push".into(),
        time: Utc::now(),
        body: format!("{{\"id\":\"{id}\"}}").into_bytes(),
    }
}

async fn seqs_of(store: &SqliteStore) -> Vec<i64> {
    let pending = store.claim_pending(100).await.unwrap();
    pending.iter().map(|p| p.seq).collect()
}

#[tokio::test]
async fn rows_being_sent_are_listed_until_their_outcome_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite").display().to_string();
    let store = SqliteStore::open(&path, 100).await.unwrap();
    let ids = ["a", "b", "c", "d", "e"];
    store
        .insert(ids.iter().map(|i| event(i)).collect())
        .await
        .unwrap();
    let seqs = seqs_of(&store).await;
    assert!(store.in_flight().await.unwrap().is_empty());

    let before = Utc::now() - chrono::Duration::milliseconds(5);
    store.mark_sending(&seqs, 42).await.unwrap();
    let after = Utc::now() + chrono::Duration::milliseconds(5);
    drop(store);
    // Durable: a crash right after the publish leaves them listed on the next start.
    let store = SqliteStore::open(&path, 100).await.unwrap();
    let in_flight = store.in_flight().await.unwrap();
    assert_eq!(
        in_flight.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ids
    );
    assert!(in_flight.iter().all(|r| r.send_id == 42));
    assert!(
        in_flight
            .iter()
            .all(|r| r.sent_at >= before && r.sent_at <= after)
    );
    assert_eq!(
        store.claim_pending(10).await.unwrap().len(),
        5,
        "still claimable"
    );

    // Each way of recording an outcome.
    let [a, b, c, d, e] = seqs[..] else {
        panic!("five rows")
    };
    store.mark_published(&[a]).await.unwrap();
    store.clear_sending(&[b]).await.unwrap();
    store
        .mark_failed(&[c], Duration::from_secs(3600))
        .await
        .unwrap();
    store
        .mark_unconfirmed(&[d], Duration::from_secs(3600))
        .await
        .unwrap();
    let left: Vec<_> = store
        .in_flight()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(
        left,
        ["d", "e"],
        "refused and cleared rows are no longer in flight; unconfirmed ones are"
    );
    let due: Vec<_> = store
        .claim_pending(10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.id, r.attempts))
        .collect();
    assert_eq!(
        due,
        [("b".to_string(), 0), ("e".to_string(), 0)],
        "failed and unconfirmed rows wait for their retry"
    );

    // A new send replaces the previous one's id.
    store.mark_sending(&[e], 7).await.unwrap();
    let e_row = store.in_flight().await.unwrap().pop().unwrap();
    assert_eq!((e_row.id.as_str(), e_row.send_id), ("e", 7));
    assert_eq!(store.outbox_depth().await.unwrap(), 4);
}

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
