//! SqliteStore behaviour: durability, dedup, group commit, the outbox bound, retries and purging.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};

use super::SqliteStore;
use crate::normalize::NormalizedEvent;
use crate::store::{InsertOutcome, Store, StoreError};

fn event(id: &str) -> NormalizedEvent {
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

fn db_path(dir: &tempfile::TempDir) -> String {
    dir.path()
        .join("nested/dir/store.sqlite")
        .display()
        .to_string()
}

#[tokio::test]
async fn inserted_events_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&db_path(&dir), 100).await.unwrap();
    let outcomes = store.insert(vec![event("a"), event("b")]).await.unwrap();
    assert_eq!(
        outcomes,
        vec![InsertOutcome::Accepted, InsertOutcome::Accepted]
    );
    drop(store);

    let store = SqliteStore::open(&db_path(&dir), 100).await.unwrap();
    assert_eq!(
        store.outbox_depth().await.unwrap(),
        2,
        "depth is recounted at open"
    );
    let pending = store.claim_pending(10).await.unwrap();
    let ids: Vec<&str> = pending.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["a", "b"], "oldest first");
    let first = &pending[0];
    assert_eq!(first.event_type, "workitem.updated");
    assert_eq!(first.routing_key, "contoso.fabrikam.workitem.updated");
    assert_eq!(first.time, event("a").time);
    assert_eq!(first.body, event("a").body);
    assert_eq!(first.attempts, 0);
    assert!(store.is_seen("a").await.unwrap());
    assert!(!store.is_seen("zzz").await.unwrap());
    // A duplicate of an event from before the restart is still recognized.
    assert_eq!(
        store.insert(vec![event("a")]).await.unwrap(),
        vec![InsertOutcome::Duplicate]
    );
}

#[tokio::test]
async fn duplicates_within_a_call_and_across_calls_are_written_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&db_path(&dir), 100).await.unwrap();
    let outcomes = store
        .insert(vec![event("x"), event("x"), event("y")])
        .await
        .unwrap();
    assert_eq!(
        outcomes,
        vec![
            InsertOutcome::Accepted,
            InsertOutcome::Duplicate,
            InsertOutcome::Accepted
        ]
    );
    let outcomes = store.insert(vec![event("y"), event("z")]).await.unwrap();
    assert_eq!(
        outcomes,
        vec![InsertOutcome::Duplicate, InsertOutcome::Accepted]
    );
    assert_eq!(store.outbox_depth().await.unwrap(), 3);
    assert_eq!(store.claim_pending(10).await.unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_inserts_share_commits() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&db_path(&dir), 100_000).await.unwrap());
    let commits_before = store.commit_count();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..64 {
        let store = store.clone();
        tasks.spawn(async move { store.insert(vec![event(&format!("c{i}"))]).await });
    }
    while let Some(result) = tasks.join_next().await {
        assert_eq!(result.unwrap().unwrap(), vec![InsertOutcome::Accepted]);
    }
    // The same id from 8 racing callers: exactly one wins, even when they share a transaction.
    let mut racers = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let store = store.clone();
        racers.spawn(async move { store.insert(vec![event("race")]).await });
    }
    let mut accepted = 0;
    while let Some(result) = racers.join_next().await {
        if result.unwrap().unwrap() == vec![InsertOutcome::Accepted] {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 1);
    let commits = store.commit_count() - commits_before;
    assert_eq!(store.outbox_depth().await.unwrap(), 65);
    assert!(
        commits < 72,
        "72 inserts took {commits} commits: no group commit"
    );
    println!("72 concurrent inserts in {commits} commits");
}

/// Throughput with 32 concurrent callers inserting one event each (printed, not asserted: it
/// depends on the disk). Run with `--nocapture` to see it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throughput_with_32_concurrent_callers() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&db_path(&dir), 1_000_000).await.unwrap());
    let per_caller = 150;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for caller in 0..32 {
        let store = store.clone();
        tasks.spawn(async move {
            for i in 0..per_caller {
                let mut e = event(&format!("t{caller}-{i}"));
                e.body = vec![b'x'; 2048];
                store.insert(vec![e]).await.map(|_| ())?;
            }
            Ok::<_, StoreError>(())
        });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
    }
    let elapsed = started.elapsed();
    let total = 32 * per_caller;
    assert_eq!(store.outbox_depth().await.unwrap(), total as u64);
    println!(
        "sqlite store: {total} inserts (2 KiB bodies) from 32 callers in {elapsed:?} = {:.0} inserts/s, {} commits",
        total as f64 / elapsed.as_secs_f64(),
        store.commit_count()
    );
}

#[tokio::test]
async fn outbox_bound_refuses_new_events_but_not_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&db_path(&dir), 3).await.unwrap();
    store.insert(vec![event("1"), event("2")]).await.unwrap();
    match store.insert(vec![event("3"), event("4")]).await {
        Err(StoreError::OutboxFull { depth }) => assert_eq!(depth, 2),
        other => panic!("expected OutboxFull, got {other:?}"),
    }
    // Nothing of the refused request was written: "3" is still new.
    assert!(!store.is_seen("3").await.unwrap());
    assert_eq!(
        store.insert(vec![event("1")]).await.unwrap(),
        vec![InsertOutcome::Duplicate]
    );
    assert_eq!(
        store.insert(vec![event("3")]).await.unwrap(),
        vec![InsertOutcome::Accepted]
    );
    assert!(matches!(
        store.insert(vec![event("5")]).await,
        Err(StoreError::OutboxFull { depth: 3 })
    ));
    // Publishing frees room.
    let seqs: Vec<i64> = store
        .claim_pending(1)
        .await
        .unwrap()
        .iter()
        .map(|p| p.seq)
        .collect();
    store.mark_published(&seqs).await.unwrap();
    assert_eq!(store.outbox_depth().await.unwrap(), 2);
    assert_eq!(
        store.insert(vec![event("5")]).await.unwrap(),
        vec![InsertOutcome::Accepted]
    );
}

#[tokio::test]
async fn mark_failed_delays_a_row_and_counts_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&db_path(&dir), 100).await.unwrap();
    store
        .insert(vec![event("late"), event("soon")])
        .await
        .unwrap();
    let pending = store.claim_pending(10).await.unwrap();
    let (late, soon) = (pending[0].seq, pending[1].seq);
    store
        .mark_failed(&[late], Duration::from_secs(3600))
        .await
        .unwrap();
    store.mark_failed(&[soon], Duration::ZERO).await.unwrap();
    let pending = store.claim_pending(10).await.unwrap();
    assert_eq!(pending.len(), 1, "the delayed row is not due");
    assert_eq!(pending[0].id, "soon");
    assert_eq!(pending[0].attempts, 1);
    assert_eq!(
        store.outbox_depth().await.unwrap(),
        2,
        "a failed row stays in the outbox"
    );
    store.mark_published(&[soon]).await.unwrap();
    assert!(store.claim_pending(10).await.unwrap().is_empty());
    assert_eq!(store.outbox_depth().await.unwrap(), 1);
}

#[tokio::test]
async fn purge_forgets_old_ids_but_keeps_those_still_in_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&db_path(&dir), 100).await.unwrap();
    store
        .insert(vec![event("published"), event("pending")])
        .await
        .unwrap();
    let published = store.claim_pending(1).await.unwrap();
    assert_eq!(published[0].id, "published");
    store.mark_published(&[published[0].seq]).await.unwrap();

    let before_inserts = Utc::now() - chrono::Duration::hours(1);
    assert_eq!(
        store.purge_seen_before(before_inserts).await.unwrap(),
        0,
        "nothing is that old"
    );
    let after_inserts = Utc::now() + chrono::Duration::seconds(1);
    assert_eq!(store.purge_seen_before(after_inserts).await.unwrap(), 1);
    assert!(!store.is_seen("published").await.unwrap());
    assert!(
        store.is_seen("pending").await.unwrap(),
        "still waiting for the broker"
    );
    store.check_writable().await.unwrap();
}

#[tokio::test]
async fn outbox_notify_is_not_lost_when_nobody_waits() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&db_path(&dir), 100).await.unwrap();
    let notify = store.outbox_notify();
    store.insert(vec![event("n")]).await.unwrap();
    // The commit happened before anyone waited; the stored permit wakes the waiter at once.
    tokio::time::timeout(Duration::from_secs(1), notify.notified())
        .await
        .expect("notification kept for a late waiter");
}

#[tokio::test]
async fn store_written_by_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    drop(SqliteStore::open(&path, 10).await.unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    match SqliteStore::open(&path, 10).await {
        Err(StoreError::Backend(message)) => assert!(message.contains("newer"), "{message}"),
        Err(other) => panic!("unexpected error {other:?}"),
        Ok(_) => panic!("a newer schema must be refused"),
    }
}

#[tokio::test]
async fn state_is_durable_overwritable_and_namespaced() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&db_path(&dir), 100).await.unwrap();
    assert_eq!(
        store
            .get_state("watermarks", "contoso/workitems")
            .await
            .unwrap(),
        None
    );
    store
        .put_state("watermarks", "contoso/workitems", "813;350;1")
        .await
        .unwrap();
    store
        .put_state("watermarks", "contoso/tfvc", "41")
        .await
        .unwrap();
    store
        .put_state("watermarks", "contoso/tfvc", "42")
        .await
        .unwrap();
    store
        .put_state("jobs", "contoso/tfvc", "other namespace")
        .await
        .unwrap();
    drop(store);
    let store = SqliteStore::open(&db_path(&dir), 100).await.unwrap();
    assert_eq!(
        store
            .get_state("watermarks", "contoso/workitems")
            .await
            .unwrap()
            .as_deref(),
        Some("813;350;1")
    );
    assert_eq!(
        store.list_state("watermarks").await.unwrap(),
        vec![
            ("contoso/tfvc".to_string(), "42".to_string()),
            ("contoso/workitems".to_string(), "813;350;1".to_string())
        ]
    );
}
