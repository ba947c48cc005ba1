//! What a store shared by several replicas (PostgreSQL) guarantees on top of the common contract:
//! the same hook at two replicas is stored once, outbox claims are exclusive and pass to another
//! replica when their holder stops renewing them, and ownership (of an organization, a job) is held
//! by one replica at a time and freed when it goes.

use std::collections::HashSet;
use std::time::Duration;

use ado_ingest::store::{self, InsertOutcome};

use super::backend::{Backend, Place, claimed_ids, claimed_seqs, event, events};
use crate::support::wait_until;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_hooks_at_two_replicas_are_accepted_once() {
    let place = Place::new(Backend::Postgres).await;
    let (a, b) = (
        place.open_as(10_000, "a").await,
        place.open_as(10_000, "b").await,
    );
    let ids: Vec<String> = (0..200).map(|i| format!("h{i}")).collect();
    let mut tasks = tokio::task::JoinSet::new();
    for (n, id) in ids.iter().enumerate() {
        for store in [a.clone(), b.clone()] {
            let id = id.clone();
            // Some alone, most in batches that overlap the other replica's.
            let batch = if n % 3 == 0 {
                vec![event(&id)]
            } else {
                vec![event(&id), event(&format!("{id}-x"))]
            };
            tasks.spawn(async move { (id, store.insert(batch).await.unwrap()[0]) });
        }
    }
    let mut accepted: Vec<String> = Vec::new();
    while let Some(result) = tasks.join_next().await {
        let (id, outcome) = result.unwrap();
        if outcome == InsertOutcome::Accepted {
            accepted.push(id);
        }
    }
    accepted.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(
        accepted, expected,
        "every id accepted by exactly one replica"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_are_held_exclusive_and_pass_on_when_their_holder_dies() {
    let place = Place::new(Backend::Postgres).await;
    let (a, b) = (
        place.open_as(10_000, "a").await,
        place.open_as(10_000, "b").await,
    );
    let ids: Vec<String> = (0..100).map(|i| format!("o{i:03}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    a.insert(events(&refs)).await.unwrap();
    // Rows are held by the replica that stored them.
    assert!(b.claim_pending(100).await.unwrap().is_empty());
    let held = claimed_seqs(a.as_ref(), 100).await;
    assert_eq!(held.len(), 100);
    // Refused rows are released: then either replica may claim each, but only one does.
    a.mark_failed(&held, Duration::ZERO).await.unwrap();
    let (from_a, from_b) = tokio::join!(claimed_ids(a.as_ref(), 60), claimed_ids(b.as_ref(), 60));
    let (set_a, set_b): (HashSet<_>, HashSet<_>) = (
        from_a.iter().cloned().collect(),
        from_b.iter().cloned().collect(),
    );
    assert!(
        set_a.is_disjoint(&set_b),
        "a row is claimed by one replica at a time"
    );
    assert_eq!(set_a.len() + set_b.len(), 100);
    // While a lives (it renews its lease), b cannot take a's rows, even after the lease length.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        claimed_ids(b.as_ref(), 100)
            .await
            .iter()
            .all(|id| set_b.contains(id))
    );
    drop(a);
    let taken = wait_until("b takes a's claims", Duration::from_secs(5), || {
        let b = b.clone();
        async move {
            let ids = claimed_ids(b.as_ref(), 100).await;
            (ids.len() == 100).then_some(ids)
        }
    })
    .await;
    assert_eq!(
        taken.len(),
        100,
        "b took over a's claims once its lease ran out"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_replicas_unconfirmed_sends_go_to_one_other_replica() {
    let place = Place::new(Backend::Postgres).await;
    let (a, b) = (place.open_as(100, "a").await, place.open_as(100, "b").await);
    a.insert(events(&["s1", "s2"])).await.unwrap();
    let seqs = claimed_seqs(a.as_ref(), 10).await;
    a.mark_sending(&seqs, 99).await.unwrap();
    assert!(
        b.in_flight().await.unwrap().is_empty(),
        "a's sends are a's while it lives"
    );
    assert!(
        b.claim_pending(10).await.unwrap().is_empty(),
        "and are not published blindly"
    );
    drop(a);
    let c = place.open_as(100, "c").await;
    let rows = wait_until("b settles a's sends", Duration::from_secs(5), || {
        let b = b.clone();
        async move {
            let rows = b.in_flight().await.unwrap();
            (!rows.is_empty()).then_some(rows)
        }
    })
    .await;
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.send_id == 99));
    assert!(
        c.in_flight().await.unwrap().is_empty(),
        "settled by exactly one replica"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ownership_is_held_by_one_replica_and_freed_when_it_goes() {
    let place = Place::new(Backend::Postgres).await;
    let (a, b) = (place.open_as(100, "a").await, place.open_as(100, "b").await);
    assert!(a.is_shared());
    assert!(a.try_own("reconcile:contoso").await.unwrap());
    assert!(a.try_own("reconcile:contoso").await.unwrap(), "still ours");
    assert!(!b.try_own("reconcile:contoso").await.unwrap());
    assert!(
        b.try_own("reconcile:fabrikam").await.unwrap(),
        "locks are per name"
    );
    b.release("reconcile:fabrikam").await.unwrap();
    assert!(a.try_own("reconcile:fabrikam").await.unwrap());
    drop(a);
    wait_until("b owns contoso", Duration::from_secs(5), || {
        let b = b.clone();
        async move { b.try_own("reconcile:contoso").await.unwrap().then_some(()) }
    })
    .await;
    // SQLite: one process, which owns everything.
    let local = Place::new(Backend::Sqlite).await.open(10).await;
    assert!(!local.is_shared() && local.try_own("reconcile:contoso").await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_together_on_a_fresh_database_all_open_it() {
    for _ in 0..3 {
        let place = Place::new(Backend::Postgres).await;
        let options = ["a", "b", "c", "d"].map(|name| place.options(100, name));
        let opened = futures::future::join_all(options.iter().map(store::open_with)).await;
        for result in opened {
            if let Err(e) = result {
                panic!("a replica could not open the fresh database: {e}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_stopping_gracefully_hands_its_rows_over_at_once() {
    let place = Place::new(Backend::Postgres).await;
    let (a, b) = (place.open_as(100, "a").await, place.open_as(100, "b").await);
    a.insert(events(&["g1", "g2", "g3", "g4"])).await.unwrap();
    let held = claimed_seqs(a.as_ref(), 10).await;
    assert_eq!(held.len(), 4);
    // One send whose answer a never recorded, three rows not sent yet.
    a.mark_sending(&held[..1], 7).await.unwrap();
    assert!(
        b.claim_pending(10).await.unwrap().is_empty(),
        "a's while it runs"
    );
    assert_eq!(a.release_claims().await.unwrap(), 3);
    // No waiting for a's lease: b publishes the unsent rows and settles the send now.
    let adopted = claimed_ids(b.as_ref(), 10).await;
    assert_eq!(adopted.len(), 3);
    let in_flight = b.in_flight().await.unwrap();
    assert_eq!(in_flight.len(), 1);
    assert_eq!((in_flight[0].seq, in_flight[0].send_id), (held[0], 7));
    assert!(
        !adopted.contains(&in_flight[0].id),
        "the sent row is settled, not published blindly"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_started_through_one_replica_is_not_taken_by_another() {
    use ado_ingest::config::Stream;

    use crate::support::admin::{ListEngine, backfill_spec, fast_settings, start_runner};

    let place = Place::new(Backend::Postgres).await;
    let (a, b) = (place.open_as(100, "a").await, place.open_as(100, "b").await);
    let spec = backfill_spec("fabrikam", &[Stream::Git]);
    let engine = ListEngine::gated(10, 3);
    let (runner_a, stop_a) = start_runner(a, engine.clone(), fast_settings()).await;
    // The second waits, queued, for the first: one job per organization at a time.
    runner_a.submit(spec.clone()).await.unwrap();
    runner_a.submit(spec).await.unwrap();
    // A replica starting now takes over the unfinished jobs nobody holds: there must be none.
    let other = ListEngine::gated(10, 3);
    let (runner_b, stop_b) = start_runner(b, other.clone(), fast_settings()).await;
    assert_eq!(
        runner_b.active_counts(),
        (0, 0),
        "jobs submitted through a are a's from the moment they are stored"
    );
    stop_a.cancel();
    stop_b.cancel();
    engine.release(1_000);
    other.release(1_000);
    runner_a.stopped().await;
    runner_b.stopped().await;
}
