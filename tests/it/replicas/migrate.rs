//! `store migrate` from a used single-node SQLite store: a replica then serving from PostgreSQL
//! answers `duplicate` to hooks seen before, publishes what the single node had not delivered yet,
//! and its reconciler publishes nothing already published; a second migration copies nothing.

use std::collections::BTreeSet;
use std::time::Duration;

use ado_ingest::cli::store::{MigrateArgs, migrate};
use ado_ingest::normalize::NormalizedEvent;
use ado_ingest::store::{Store, sqlite::SqliteStore};
use ado_sim::{ActivitySpec, FaultRates};
use chrono::Utc;
use serde_json::Value;

use crate::support::TestDatabase;
use crate::support::reconcile::*;

/// Ids of the messages, failing on one published twice.
fn ids_once(messages: Vec<(String, Value)>) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for (_, body) in messages {
        let id = body["id"].as_str().expect("message id").to_string();
        assert!(ids.insert(id.clone()), "{id} published twice");
    }
    ids
}

/// Events accepted while the broker was unreachable: stored, not yet published.
fn undelivered(n: usize) -> Vec<NormalizedEvent> {
    (0..n)
        .map(|i| NormalizedEvent {
            id: format!("undelivered-{i}"),
            event_type: "workitem.updated".into(),
            routing_key: "contoso.fabrikam.workitem.updated".into(),
            time: Utc::now(),
            body: serde_json::to_vec(&serde_json::json!({"id": format!("undelivered-{i}")}))
                .unwrap(),
        })
        .collect()
}

fn unsubscribe_all(sim: &ado_sim::Simulator) {
    for sub in sim.subscriptions("contoso") {
        sim.delete_subscription("contoso", &sub.id).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_used_sqlite_store_moves_to_postgres_without_replaying_history() {
    let sim = start_sim(fast_sim(93)).await;
    let org = org_config(&sim, "contoso");
    let exchange = unique("ex");
    let _topology = Topology::guard(&exchange);
    let sqlite_dir = tempfile::tempdir().unwrap();
    let options = server_options(vec![org], 20).exchange(&exchange);

    // A single node on SQLite publishes the history: hooks (a third dropped) and a reconcile pass.
    let single = start_server(options.clone().store_dir(sqlite_dir.path())).await;
    // Bound once the exchange exists; the tap's queue outlives both servers.
    let mut tap = Tap::bind(&exchange).await;
    sim.subscribe_all("contoso", &single.hooks_url(), Some((USER, PASSWORD)))
        .unwrap();
    sim.set_faults(FaultRates {
        drop: 0.3,
        ..FaultRates::default()
    });
    sim.generate(&ActivitySpec::new(120)).unwrap();
    sim.settle(Duration::from_secs(60)).await.unwrap();
    let reconciler = single.reconcilers.find("contoso").unwrap().clone();
    for (stream, p) in reconciler.run_once().await.unwrap() {
        assert_eq!(p.errors, 0, "{stream}: {:?}", p.last_error);
    }
    drop(reconciler);
    single.stop().await.expect("stops").expect("clean stop");
    unsubscribe_all(&sim);
    let history = ids_once(
        tap.drain(Duration::from_secs(2), Duration::from_secs(60))
            .await,
    );
    assert!(history.len() > 100, "{} events published", history.len());

    // Accepted while the broker was away: in the outbox, not on the exchange.
    let sqlite_path = sqlite_dir.path().join("ado-ingest.sqlite");
    {
        let store = SqliteStore::open(sqlite_path.to_str().unwrap(), 10_000)
            .await
            .unwrap();
        store.insert(undelivered(5)).await.unwrap();
    }

    let db = TestDatabase::create().await;
    let args = || MigrateArgs {
        from: sqlite_path.display().to_string(),
        to: db.url.clone(),
        quiet: true,
    };
    let first = migrate(args()).await.unwrap();
    assert_eq!(first.outbox_copied, 5, "{first:?}");
    assert!(
        first.seen_copied + first.outbox_copied >= history.len() as u64 + 5,
        "{first:?}"
    );
    assert!(first.state_copied > 0, "watermarks and cursors: {first:?}");
    let again = migrate(args()).await.unwrap();
    assert_eq!(
        (again.outbox_copied, again.seen_copied, again.state_copied),
        (0, 0, 0),
        "a second run copies nothing: {again:?}"
    );
    assert_eq!(again.outbox_present, 5, "{again:?}");

    // A replica on PostgreSQL: its start-up pass and one more find every change already published.
    let replica = start_server(options.clone().with("ADO_INGEST_STORE", &db.url)).await;
    assert!(replica.store.is_shared());
    let delivered = ids_once(
        tap.drain(Duration::from_secs(3), Duration::from_secs(30))
            .await,
    );
    let reconciler = replica.reconcilers.find("contoso").unwrap().clone();
    for (stream, p) in reconciler.run_once().await.unwrap() {
        assert_eq!(p.errors, 0, "{stream}: {:?}", p.last_error);
        assert_eq!(p.events_published, 0, "{stream} republished history");
    }
    let mut delivered_after = delivered;
    delivered_after.extend(ids_once(
        tap.drain(Duration::from_secs(2), Duration::from_secs(30))
            .await,
    ));
    let expected_undelivered: BTreeSet<String> =
        (0..5).map(|i| format!("undelivered-{i}")).collect();
    assert_eq!(
        delivered_after, expected_undelivered,
        "only what the single node had not delivered is published"
    );

    // Hooks Azure DevOps retries late, now at the replica: duplicates.
    let seen_before: Vec<Expected> = expected(&sim.truth())
        .into_iter()
        .filter(|e| history.contains(&e.id))
        .take(20)
        .collect();
    assert_eq!(seen_before.len(), 20);
    for e in &seen_before {
        let (status, body) = replica.post_hook(&e.truth.canonical_payload()).await;
        assert_eq!(
            (status, &body["duplicate"]),
            (200, &Value::Bool(true)),
            "{}: {body}",
            e.truth.summary
        );
    }

    // New activity is published once, and none of it is history.
    sim.subscribe_all("contoso", &replica.hooks_url(), Some((USER, PASSWORD)))
        .unwrap();
    sim.generate(&ActivitySpec::new(30)).unwrap();
    sim.settle(Duration::from_secs(60)).await.unwrap();
    reconciler.run_once().await.unwrap();
    let new = ids_once(
        tap.drain(Duration::from_secs(2), Duration::from_secs(60))
            .await,
    );
    assert!(!new.is_empty());
    assert!(new.is_disjoint(&history), "history republished");
    assert!(new.is_disjoint(&expected_undelivered));
    drop(reconciler);
    replica.stop().await;
    sim.shutdown().await;
}
