//! What every store does: durability across a reopen, deduplication, the outbox bound, retries,
//! purging seen ids, notification of new rows, schema versions and small durable state.

use std::time::Duration;

use ado_ingest::store::{InsertOutcome, StoreError};
use chrono::Utc;

use super::backend::{Backend, Place, claimed_seqs, event, events};
use super::on_both_backends;

on_both_backends!(
    inserted_events_survive_a_reopen,
    duplicates_within_a_call_and_across_calls_are_written_once,
    racing_inserts_of_one_id_accept_it_once,
    outbox_bound_refuses_new_events_but_not_duplicates,
    mark_failed_delays_a_row_and_counts_attempts,
    purge_forgets_old_ids_but_keeps_those_still_in_the_outbox,
    outbox_notify_is_not_lost_when_nobody_waits,
    a_store_written_by_a_newer_version_is_refused,
    state_is_durable_overwritable_and_namespaced,
);

async fn inserted_events_survive_a_reopen(backend: Backend) {
    let place = Place::new(backend).await;
    let store = place.open(100).await;
    let outcomes = store.insert(events(&["a", "b"])).await.unwrap();
    assert_eq!(outcomes, [InsertOutcome::Accepted, InsertOutcome::Accepted]);
    drop(store);

    let store = place.open(100).await;
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
        [InsertOutcome::Duplicate]
    );
}

async fn duplicates_within_a_call_and_across_calls_are_written_once(backend: Backend) {
    let place = Place::new(backend).await;
    let store = place.open(100).await;
    let outcomes = store.insert(events(&["x", "x", "y"])).await.unwrap();
    assert_eq!(
        outcomes,
        [
            InsertOutcome::Accepted,
            InsertOutcome::Duplicate,
            InsertOutcome::Accepted
        ]
    );
    let outcomes = store.insert(events(&["y", "z"])).await.unwrap();
    assert_eq!(
        outcomes,
        [InsertOutcome::Duplicate, InsertOutcome::Accepted]
    );
    assert_eq!(store.outbox_depth().await.unwrap(), 3);
    assert_eq!(store.claim_pending(10).await.unwrap().len(), 3);
}

async fn racing_inserts_of_one_id_accept_it_once(backend: Backend) {
    let place = Place::new(backend).await;
    let store = place.open(100_000).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..64 {
        let store = store.clone();
        tasks.spawn(async move { store.insert(vec![event(&format!("c{i}"))]).await });
    }
    while let Some(result) = tasks.join_next().await {
        assert_eq!(result.unwrap().unwrap(), [InsertOutcome::Accepted]);
    }
    // The same id from 8 racing callers: exactly one wins, even when they share a transaction.
    let mut racers = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let store = store.clone();
        racers.spawn(async move { store.insert(vec![event("race")]).await });
    }
    let mut accepted = 0;
    while let Some(result) = racers.join_next().await {
        if result.unwrap().unwrap() == [InsertOutcome::Accepted] {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 1);
    assert_eq!(store.outbox_depth().await.unwrap(), 65);
}

async fn outbox_bound_refuses_new_events_but_not_duplicates(backend: Backend) {
    let place = Place::new(backend).await;
    let store = place.open(3).await;
    store.insert(events(&["1", "2"])).await.unwrap();
    match store.insert(events(&["3", "4"])).await {
        Err(StoreError::OutboxFull { depth }) => assert_eq!(depth, 2),
        other => panic!("expected OutboxFull, got {other:?}"),
    }
    // Nothing of the refused request was written: "3" is still new.
    assert!(!store.is_seen("3").await.unwrap());
    assert_eq!(
        store.insert(vec![event("1")]).await.unwrap(),
        [InsertOutcome::Duplicate]
    );
    assert_eq!(
        store.insert(vec![event("3")]).await.unwrap(),
        [InsertOutcome::Accepted]
    );
    assert!(matches!(
        store.insert(vec![event("5")]).await,
        Err(StoreError::OutboxFull { depth: 3 })
    ));
    // Publishing frees room.
    let seqs = claimed_seqs(store.as_ref(), 1).await;
    store.mark_published(&seqs).await.unwrap();
    assert_eq!(store.outbox_depth().await.unwrap(), 2);
    assert_eq!(
        store.insert(vec![event("5")]).await.unwrap(),
        [InsertOutcome::Accepted]
    );
}

async fn mark_failed_delays_a_row_and_counts_attempts(backend: Backend) {
    let place = Place::new(backend).await;
    let store = place.open(100).await;
    store.insert(events(&["late", "soon"])).await.unwrap();
    let pending = store.claim_pending(10).await.unwrap();
    let (late, soon) = (pending[0].seq, pending[1].seq);
    store
        .mark_failed(&[late], Duration::from_secs(3600))
        .await
        .unwrap();
    store.mark_failed(&[soon], Duration::ZERO).await.unwrap();
    // Due "now" by the wall clock, which a loaded machine may step back by a few milliseconds
    // between two calls: give the row that long, never the delayed one.
    let mut pending = Vec::new();
    for _ in 0..50 {
        pending = store.claim_pending(10).await.unwrap();
        if !pending.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
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

async fn purge_forgets_old_ids_but_keeps_those_still_in_the_outbox(backend: Backend) {
    let place = Place::new(backend).await;
    let store = place.open(100).await;
    store
        .insert(events(&["published", "pending"]))
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

async fn outbox_notify_is_not_lost_when_nobody_waits(backend: Backend) {
    let place = Place::new(backend).await;
    let store = place.open(100).await;
    let notify = store.outbox_notify();
    store.insert(vec![event("n")]).await.unwrap();
    // The commit happened before anyone waited; the stored permit wakes the waiter at once.
    tokio::time::timeout(Duration::from_secs(1), notify.notified())
        .await
        .expect("notification kept for a late waiter");
}

async fn a_store_written_by_a_newer_version_is_refused(backend: Backend) {
    let place = Place::new(backend).await;
    drop(place.open(10).await);
    place.pretend_newer_schema().await;
    match ado_ingest::store::open_with(&place.options(10, "replica-a")).await {
        Err(StoreError::Backend(message)) => assert!(message.contains("newer"), "{message}"),
        Err(other) => panic!("unexpected error {other:?}"),
        Ok(_) => panic!("a newer schema must be refused"),
    }
}

async fn state_is_durable_overwritable_and_namespaced(backend: Backend) {
    let place = Place::new(backend).await;
    let store = place.open(100).await;
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
    let store = place.open(100).await;
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
        [
            ("contoso/tfvc".to_string(), "42".to_string()),
            ("contoso/workitems".to_string(), "813;350;1".to_string())
        ]
    );
}
