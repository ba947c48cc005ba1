//! SqliteStore specifics the shared store suite (tests/it/store) does not cover: group commit
//! counted in commits, and throughput with concurrent callers.

use std::sync::Arc;
use std::time::Instant;

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
