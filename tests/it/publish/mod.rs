//! Publisher tests against the real RabbitMQ (see `support` for the broker, proxy and store helpers).

mod ledger;
mod refusals;
mod signing;
mod support;
mod tail;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lapin::options::ExchangeDeleteOptions;
use lapin::types::{FieldTable, ShortString};
use tokio_util::sync::CancellationToken;

use ado_ingest::health::Health;
use ado_ingest::publish::{
    APP_ID, CONTENT_TYPE, PublisherSettings, declare_topology, run, unrouted_name,
};
use ado_ingest::store::{Store, sqlite::SqliteStore};
use support::*;

const WAIT: Duration = Duration::from_secs(20);

/// A running publisher and what stops it.
struct Running {
    health: Arc<Health>,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

fn start(url: &str, exchange: &str, store: Arc<SqliteStore>, drain_grace: Duration) -> Running {
    start_with(settings(url, exchange), store, drain_grace)
}

fn start_with(
    settings: PublisherSettings,
    store: Arc<SqliteStore>,
    drain_grace: Duration,
) -> Running {
    let health = Arc::new(Health::new());
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(run(
        settings,
        store,
        health.clone(),
        shutdown.clone(),
        drain_grace,
    ));
    Running {
        health,
        shutdown,
        task,
    }
}

impl Running {
    async fn stop(self) -> Arc<Health> {
        self.shutdown.cancel();
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("publisher stops")
            .expect("publisher task");
        self.health
    }
}

async fn depth_is(store: &SqliteStore, expected: u64) -> bool {
    store.outbox_depth().await.unwrap() == expected
}

#[tokio::test]
async fn every_event_is_published_once_with_its_properties() {
    let Some((exchange, mut broker)) = broker_with_topology("props").await else {
        return;
    };
    let queue = broker
        .bind_queue("contoso", "contoso.#", FieldTable::default())
        .await;
    let (_dir, store) = temp_store().await;
    let total = 1000;
    let events: Vec<_> = (0..total)
        .map(|i| {
            let kind = ["workitem.updated", "git.push", "build.completed"][i % 3];
            event(
                &format!("ev-{i}"),
                &format!("contoso.proj-{}.{kind}", i % 4),
            )
        })
        .collect();
    store.insert(events.clone()).await.unwrap();

    let publisher = start(
        &broker_url(),
        &exchange,
        store.clone(),
        Duration::from_secs(5),
    );
    assert!(
        eventually(WAIT, || depth_is(&store, 0)).await,
        "outbox ends empty"
    );
    let got = broker.take(&queue, total, WAIT).await;
    assert_eq!(got.len(), total, "every event arrives");
    assert!(publisher.health.broker_connected());

    let order: Vec<String> = got
        .iter()
        .filter_map(|d| d.properties.message_id().clone())
        .map(String::from)
        .collect();
    let expected: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
    assert_eq!(order, expected, "published in outbox order");
    let mut ids = HashSet::new();
    for delivery in &got {
        let props = &delivery.properties;
        let id = props.message_id().as_ref().expect("message_id").to_string();
        let original = events.iter().find(|e| e.id == id).expect("a known id");
        assert!(ids.insert(id.clone()), "{id} delivered twice");
        assert_eq!(delivery.routing_key.as_str(), original.routing_key);
        assert_eq!(delivery.data, original.body);
        assert_eq!(*props.delivery_mode(), Some(2), "persistent");
        assert_eq!(
            props.content_type().as_ref().map(ShortString::as_str),
            Some(CONTENT_TYPE)
        );
        assert_eq!(
            props.kind().as_ref().map(ShortString::as_str),
            Some(original.event_type.as_str())
        );
        assert_eq!(*props.timestamp(), Some(original.time.timestamp() as u64));
        assert_eq!(
            props.app_id().as_ref().map(ShortString::as_str),
            Some(APP_ID)
        );
    }
    // A second wave inserted while the publisher idles is picked up without a restart (timed).
    let wave = 3000;
    let late: Vec<_> = (0..wave)
        .map(|i| event(&format!("late-{i}"), "contoso.proj-0.git.push"))
        .collect();
    let started = Instant::now();
    store.insert(late).await.unwrap();
    assert!(eventually(WAIT, || async { store.outbox_depth().await.unwrap() == 0 }).await);
    let elapsed = started.elapsed();
    println!(
        "publisher: {wave} events (batches of 64) acked and removed from the outbox in {elapsed:?} = {:.0} events/s",
        wave as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(broker.take(&queue, wave, WAIT).await.len(), wave);
    let health = publisher.stop().await;
    assert!(
        !health.broker_connected(),
        "a stopped publisher is not ready"
    );
    assert!(
        broker.get(&queue).await.is_none(),
        "nothing was published twice"
    );
    broker.cleanup().await;
}

#[tokio::test]
async fn unroutable_events_land_in_the_unrouted_queue() {
    let exchange = ado_testkit::unique("unrouted");
    let Some(broker) = broker_session(&exchange).await else {
        return;
    };
    let (_dir, store) = temp_store().await;
    store
        .insert(vec![event("lonely", "nobody.listens.here")])
        .await
        .unwrap();
    // The publisher declares the topology itself; no consumer queue is bound.
    let publisher = start(
        &broker_url(),
        &exchange,
        store.clone(),
        Duration::from_secs(5),
    );
    assert!(
        eventually(WAIT, || depth_is(&store, 0)).await,
        "acked (by way of the alternate exchange)"
    );
    let got = broker.take(&unrouted_name(&exchange), 1, WAIT).await;
    assert_eq!(got.len(), 1, "the event waits in {exchange}.unrouted");
    assert_eq!(
        got[0]
            .properties
            .message_id()
            .as_ref()
            .map(ShortString::as_str),
        Some("lonely")
    );
    assert_eq!(got[0].routing_key.as_str(), "nobody.listens.here");
    publisher.stop().await;
    broker.cleanup().await;
}

#[tokio::test]
async fn broker_down_then_up_delivers_everything_once() {
    let Some((exchange, mut broker)) = broker_with_topology("outage").await else {
        return;
    };
    let queue = broker.bind_queue("all", "#", FieldTable::default()).await;
    let (_dir, store) = temp_store().await;
    let first: Vec<_> = (0..20)
        .map(|i| event(&format!("a-{i}"), "contoso.p.git.push"))
        .collect();
    store.insert(first).await.unwrap();

    // Nothing listens on the port yet: connections are refused.
    let port = refused_port();
    let url = ado_testkit::broker::amqp_url_via(([127, 0, 0, 1], port).into());
    let publisher = start(&url, &exchange, store.clone(), Duration::from_secs(5));
    let health = publisher.health.clone();
    assert!(eventually(WAIT, || async { health.broker_error().is_some() }).await);
    let reason = health.broker_error().unwrap();
    assert!(reason.contains("unreachable"), "{reason}");
    assert!(reason.contains(&format!("127.0.0.1:{port}")), "{reason}");
    assert!(!reason.contains(":guest@"), "the password leaked: {reason}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!health.broker_connected());
    assert_eq!(
        store.outbox_depth().await.unwrap(),
        20,
        "events wait in the outbox"
    );

    // The broker becomes reachable: everything arrives.
    let proxy = Proxy::to_broker_on(port).await;
    let mut got = broker.take(&queue, 20, WAIT).await;
    assert_eq!(got.len(), 20);
    assert!(eventually(WAIT, || depth_is(&store, 0)).await);
    assert!(health.broker_connected());

    // Cut the connection under the publisher; events inserted meanwhile wait, then arrive.
    proxy.stop().await;
    assert!(
        eventually(WAIT, || async { !health.broker_connected() }).await,
        "loss detected"
    );
    let second: Vec<_> = (0..20)
        .map(|i| event(&format!("b-{i}"), "contoso.p.git.push"))
        .collect();
    store.insert(second).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(store.outbox_depth().await.unwrap(), 20);
    let proxy = Proxy::to_broker_on(port).await;
    got.extend(broker.take(&queue, 20, WAIT).await);
    assert!(eventually(WAIT, || depth_is(&store, 0)).await);
    assert!(health.broker_connected());

    let ids: HashSet<_> = got
        .iter()
        .filter_map(|d| d.properties.message_id().clone())
        .collect();
    assert_eq!(got.len(), 40);
    assert_eq!(ids.len(), 40, "each event exactly once");
    publisher.stop().await;
    proxy.stop().await;
    assert!(broker.get(&queue).await.is_none(), "no duplicates");
    broker.cleanup().await;
}

#[tokio::test]
async fn shutdown_drains_what_is_pending() {
    let Some((exchange, mut broker)) = broker_with_topology("drain").await else {
        return;
    };
    let queue = broker.bind_queue("all", "#", FieldTable::default()).await;
    let (_dir, store) = temp_store().await;
    let events: Vec<_> = (0..150)
        .map(|i| event(&format!("d-{i}"), "contoso.p.build.completed"))
        .collect();
    store.insert(events).await.unwrap();

    // Shutdown was requested before the publisher even started: it still drains, then returns.
    let publisher = start(
        &broker_url(),
        &exchange,
        store.clone(),
        Duration::from_secs(10),
    );
    let health = publisher.stop().await;
    assert_eq!(store.outbox_depth().await.unwrap(), 0);
    assert_eq!(broker.take(&queue, 150, WAIT).await.len(), 150);
    assert!(!health.broker_connected());
    broker.cleanup().await;
}

#[tokio::test]
async fn shutdown_without_a_broker_keeps_the_events() {
    let (_dir, store) = temp_store().await;
    store
        .insert(vec![event("kept-1", "a.b.c"), event("kept-2", "a.b.c")])
        .await
        .unwrap();
    let url = ado_testkit::broker::amqp_url_via(([127, 0, 0, 1], refused_port()).into());
    let publisher = start(
        &url,
        &ado_testkit::unique("nobroker"),
        store.clone(),
        Duration::from_secs(1),
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stopping = Instant::now();
    let health = publisher.stop().await;
    let took = stopping.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert!(health.broker_error().is_some());
    assert_eq!(
        store.outbox_depth().await.unwrap(),
        2,
        "nothing leaves the outbox unacked"
    );
    assert_eq!(store.claim_pending(10).await.unwrap().len(), 2);
}

#[tokio::test]
async fn nacked_events_stay_and_are_retried() {
    let Some((exchange, mut broker)) = broker_with_topology("nack").await else {
        return;
    };
    // A queue that holds one message and rejects (nacks) publishes beyond that.
    let queue = broker.bind_queue("tiny", "#", reject_beyond_one()).await;
    let (_dir, store) = temp_store().await;
    store
        .insert(
            (0..3)
                .map(|i| event(&format!("n-{i}"), "contoso.p.git.push"))
                .collect(),
        )
        .await
        .unwrap();

    let publisher = start(
        &broker_url(),
        &exchange,
        store.clone(),
        Duration::from_secs(5),
    );
    assert!(
        eventually(WAIT, || depth_is(&store, 2)).await,
        "one event fits in the queue"
    );
    assert!(
        eventually(WAIT, || async {
            store
                .claim_pending(10)
                .await
                .unwrap()
                .iter()
                .any(|r| r.attempts >= 1)
        })
        .await,
        "the two others were nacked and kept for a retry"
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        store.outbox_depth().await.unwrap(),
        2,
        "retries are nacked too while the queue is full"
    );
    // Draining the queue makes room: the retries get through, one at a time.
    let mut ids = HashSet::new();
    let deadline = Instant::now() + WAIT;
    while ids.len() < 3 && Instant::now() < deadline {
        if let Some(delivery) = broker.get(&queue).await {
            ids.extend(delivery.properties.message_id().clone());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(ids.len(), 3, "all three eventually published");
    assert!(eventually(WAIT, || depth_is(&store, 0)).await);
    publisher.stop().await;
    broker.cleanup().await;
}

#[tokio::test]
async fn returned_events_stay_until_they_can_be_routed() {
    let Some((exchange, broker)) = broker_with_topology("returned").await else {
        return;
    };
    // Without its alternate exchange an unroutable mandatory message comes back (basic.return).
    broker
        .channel
        .exchange_delete(
            unrouted_name(&exchange).as_str().into(),
            ExchangeDeleteOptions::default(),
        )
        .await
        .unwrap();
    let (_dir, store) = temp_store().await;
    // Only without the ledger can a message be unroutable: the ledger stream takes every message.
    let no_ledger = PublisherSettings {
        ledger: false,
        ..settings(&broker_url(), &exchange)
    };
    let publisher = start_with(no_ledger, store.clone(), Duration::from_secs(5));
    assert!(eventually(WAIT, || async { publisher.health.broker_connected() }).await);
    // The publisher's own declaration recreated it on connect: delete it again, then publish.
    broker
        .channel
        .exchange_delete(
            unrouted_name(&exchange).as_str().into(),
            ExchangeDeleteOptions::default(),
        )
        .await
        .unwrap();
    store
        .insert(vec![event("bounced", "nobody.here.at-all")])
        .await
        .unwrap();
    assert!(
        eventually(WAIT, || async {
            store.claim_pending(10).await.unwrap().is_empty()
                && store.outbox_depth().await.unwrap() == 1
        })
        .await,
        "returned, so kept and delayed"
    );
    // Once routable again (topology restored), the retry lands in the unrouted queue.
    declare_topology(&broker.channel, &exchange, false)
        .await
        .unwrap();
    assert!(eventually(WAIT, || depth_is(&store, 0)).await);
    let got = broker.take(&unrouted_name(&exchange), 1, WAIT).await;
    assert_eq!(got.len(), 1);
    publisher.stop().await;
    broker.cleanup().await;
}

#[tokio::test]
async fn an_exchange_declared_differently_is_reported_not_ignored() {
    let exchange = ado_testkit::unique("conflict");
    let Some(broker) = broker_session(&exchange).await else {
        return;
    };
    // Someone created the exchange without the alternate exchange.
    let options = lapin::options::ExchangeDeclareOptions {
        durable: true,
        ..Default::default()
    };
    broker
        .channel
        .exchange_declare(
            exchange.as_str().into(),
            lapin::ExchangeKind::Topic,
            options,
            FieldTable::default(),
        )
        .await
        .unwrap();
    let (_dir, store) = temp_store().await;
    store.insert(vec![event("held", "a.b.c")]).await.unwrap();
    let publisher = start(
        &broker_url(),
        &exchange,
        store.clone(),
        Duration::from_secs(1),
    );
    let health = publisher.health.clone();
    assert!(eventually(WAIT, || async { health.broker_error().is_some() }).await);
    let reason = health.broker_error().unwrap();
    assert!(reason.contains(&format!("exchange {exchange}")), "{reason}");
    assert!(
        reason.contains("refused the setup") && reason.contains("alternate-exchange"),
        "{reason}"
    );
    assert!(!health.broker_connected());
    publisher.stop().await;
    assert_eq!(
        store.outbox_depth().await.unwrap(),
        1,
        "kept until the topology is fixed"
    );
    broker.cleanup().await;
}
