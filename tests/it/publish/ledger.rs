//! The publish ledger on the real broker: sends left unconfirmed by a crash are settled from the
//! ledger instead of being published twice; sends that were not routed (never sent, or refused) are
//! still published; an unreadable ledger is reported, never trusted.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use lapin::options::ConfirmSelectOptions;
use lapin::types::{AMQPValue, FieldTable, ShortString};

use super::{WAIT, depth_is, start, start_with};
use ado_ingest::publish::batch::publish_batch;
use ado_ingest::publish::ledger::scan;
use ado_ingest::publish::link::Link;
use ado_ingest::publish::{
    PublisherSettings, SEND_ID_HEADER, declare_ledger, declare_topology, inbound_exchange_name,
    ledger_queue_name, unrouted_name,
};
use ado_ingest::store::{PendingMessage, Store};

use super::support::*;

const LEDGER_BYTES: u64 = 64 * 1024 * 1024;

fn seqs(rows: &[PendingMessage]) -> Vec<i64> {
    rows.iter().map(|r| r.seq).collect()
}

fn ids_of(deliveries: &[lapin::message::Delivery]) -> Vec<String> {
    let mut ids: Vec<String> = deliveries
        .iter()
        .filter_map(|d| d.properties.message_id().as_ref().map(|s| s.to_string()))
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn after_a_crash_routed_sends_are_settled_from_the_ledger_and_the_rest_published() {
    let Some((exchange, mut broker)) = broker_with_topology("ledger-crash").await else {
        return;
    };
    declare_ledger(&broker.channel, &exchange, LEDGER_BYTES)
        .await
        .unwrap();
    let queue = broker.bind_queue("all", "#", FieldTable::default()).await;
    let (_dir, store) = temp_store().await;
    let events: Vec<_> = (0..300)
        .map(|i| event(&format!("c-{i:03}"), "contoso.p.git.push"))
        .collect();
    store.insert(events).await.unwrap();
    let rows = store.claim_pending(300).await.unwrap();
    let (routed, rest) = rows.split_at(200);
    let (never_sent, rest) = rest.split_at(50);
    let (refused_earlier, _untouched) = rest.split_at(10);

    // "The previous process", on a confirm channel of its own, dies at three different moments.
    let channel = broker.connection.create_channel().await.unwrap();
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    let inbound: ShortString = inbound_exchange_name(&exchange).into();
    let deadline = Instant::now() + WAIT;
    // 1. Sent and routed; the process died before recording the acks.
    store.mark_sending(&seqs(routed), 1).await.unwrap();
    let outcome = publish_batch(&channel, &inbound, routed.to_vec(), Some(1), None, deadline).await;
    assert_eq!(outcome.acked.len(), 200);
    // 2. Recorded as being sent; the process died before publishing.
    store.mark_sending(&seqs(never_sent), 2).await.unwrap();
    // 3. An earlier send (3) is in the ledger, the current one (4) never happened: as when a queue
    //    refused the message (nack) and the process died while sending the retry.
    store.mark_sending(&seqs(refused_earlier), 3).await.unwrap();
    let outcome = publish_batch(
        &channel,
        &inbound,
        refused_earlier.to_vec(),
        Some(3),
        None,
        deadline,
    )
    .await;
    assert_eq!(outcome.acked.len(), 10);
    store.mark_sending(&seqs(refused_earlier), 4).await.unwrap();
    let _ = channel.close(200, "OK".into()).await;
    assert_eq!(broker.take(&queue, 210, WAIT).await.len(), 210);
    assert_eq!(store.in_flight().await.unwrap().len(), 260);

    // A fresh publisher on the same store.
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
    let after = broker.take(&queue, 100, WAIT).await;
    let expected: Vec<String> = (200..300).map(|i| format!("c-{i:03}")).collect();
    assert_eq!(
        ids_of(&after),
        expected,
        "only what the broker had not routed is published, once"
    );
    publisher.stop().await;
    assert!(
        broker.get(&queue).await.is_none(),
        "nothing published twice"
    );
    assert!(store.in_flight().await.unwrap().is_empty());
    broker.cleanup().await;
}

#[tokio::test]
async fn sends_a_queue_refused_are_in_the_ledger_but_not_taken_for_routed() {
    let Some((exchange, mut broker)) = broker_with_topology("ledger-nack").await else {
        return;
    };
    // Holds one message and nacks publishes beyond it; the ledger stream takes them all the same.
    let queue = broker.bind_queue("tiny", "#", reject_beyond_one()).await;
    let (_dir, store) = temp_store().await;
    let events = (0..3)
        .map(|i| event(&format!("n-{i}"), "contoso.p.git.push"))
        .collect();
    store.insert(events).await.unwrap();

    let publisher = start(
        &broker_url(),
        &exchange,
        store.clone(),
        Duration::from_millis(500),
    );
    assert!(
        eventually(WAIT, || async {
            store.outbox_depth().await.unwrap() == 2
                && store
                    .claim_pending(10)
                    .await
                    .unwrap()
                    .iter()
                    .all(|r| r.attempts >= 1)
        })
        .await,
        "one fits, the two others were nacked"
    );
    publisher.stop().await;
    let ledger = broker
        .read_stream(&ledger_queue_name(&exchange), Duration::from_millis(500))
        .await;
    let in_ledger: HashSet<String> = ids_of(&ledger).into_iter().collect();
    assert!(
        in_ledger.contains("n-1") && in_ledger.contains("n-2"),
        "nacked sends are in the ledger: {in_ledger:?}"
    );
    // The process dies while sending the retry of the two refused events.
    let left = store.claim_pending(10).await.unwrap();
    assert_eq!(left.len(), 2);
    store.mark_sending(&seqs(&left), 99).await.unwrap();

    let publisher = start(
        &broker_url(),
        &exchange,
        store.clone(),
        Duration::from_secs(5),
    );
    // Making room one message at a time: both retries get through (none was settled as routed).
    let mut ids = HashSet::new();
    let deadline = Instant::now() + WAIT;
    while ids.len() < 3 && Instant::now() < deadline {
        if let Some(delivery) = broker.get(&queue).await {
            ids.extend(
                delivery
                    .properties
                    .message_id()
                    .as_ref()
                    .map(|s| s.to_string()),
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(ids.len(), 3, "all three delivered: {ids:?}");
    assert!(eventually(WAIT, || depth_is(&store, 0)).await);
    publisher.stop().await;
    broker.cleanup().await;
}

#[tokio::test]
async fn the_ledger_records_routed_and_unroutable_events_with_their_send() {
    let Some((exchange, mut broker)) = broker_with_topology("ledger-routes").await else {
        return;
    };
    let queue = broker
        .bind_queue("contoso", "contoso.#", FieldTable::default())
        .await;
    let (_dir, store) = temp_store().await;
    store
        .insert(vec![
            event("bound", "contoso.p.git.push"),
            event("lonely", "nobody.listens.here"),
        ])
        .await
        .unwrap();
    let publisher = start(
        &broker_url(),
        &exchange,
        store.clone(),
        Duration::from_secs(5),
    );
    assert!(eventually(WAIT, || depth_is(&store, 0)).await);
    // The exchange keeps routing by key and its alternate exchange applies through the e2e binding.
    assert_eq!(ids_of(&broker.take(&queue, 1, WAIT).await), ["bound"]);
    let unrouted = broker.take(&unrouted_name(&exchange), 1, WAIT).await;
    assert_eq!(ids_of(&unrouted), ["lonely"]);
    assert_eq!(unrouted[0].routing_key.as_str(), "nobody.listens.here");
    let ledger = broker
        .read_stream(&ledger_queue_name(&exchange), Duration::from_millis(500))
        .await;
    assert_eq!(ids_of(&ledger), ["bound", "lonely"]);
    for entry in &ledger {
        let headers = entry.properties.headers().as_ref().expect("headers");
        assert!(
            matches!(
                headers.inner().get(SEND_ID_HEADER),
                Some(AMQPValue::LongLongInt(_))
            ),
            "{headers:?}"
        );
    }
    publisher.stop().await;
    broker.cleanup().await;
}

#[tokio::test]
async fn with_the_ledger_off_unconfirmed_sends_are_published_again() {
    let Some((exchange, mut broker)) = broker_with_topology("ledger-off").await else {
        return;
    };
    let queue = broker.bind_queue("all", "#", FieldTable::default()).await;
    let (_dir, store) = temp_store().await;
    let events = (0..5)
        .map(|i| event(&format!("o-{i}"), "contoso.p.git.push"))
        .collect();
    store.insert(events).await.unwrap();
    let rows = store.claim_pending(10).await.unwrap();
    store.mark_sending(&seqs(&rows), 5).await.unwrap();
    let settings = PublisherSettings {
        ledger: false,
        ..settings(&broker_url(), &exchange)
    };
    let publisher = start_with(settings, store.clone(), Duration::from_secs(5));
    assert!(eventually(WAIT, || depth_is(&store, 0)).await);
    assert_eq!(broker.take(&queue, 5, WAIT).await.len(), 5);
    assert!(store.in_flight().await.unwrap().is_empty());
    publisher.stop().await;
    broker.cleanup().await;
}

#[tokio::test]
async fn an_unreadable_ledger_is_reported_not_trusted() {
    let exchange = ado_testkit::unique("ledger-unreadable");
    let Some(broker) = broker_session(&exchange).await else {
        return;
    };
    let (_dir, store) = temp_store().await;
    store
        .insert(vec![event("u-1", "contoso.p.git.push")])
        .await
        .unwrap();
    let rows = store.claim_pending(1).await.unwrap();
    store.mark_sending(&seqs(&rows), 1).await.unwrap();
    let in_flight = store.in_flight().await.unwrap();
    let queue: ShortString = ledger_queue_name(&exchange).into();

    // No ledger stream at all: the marker comes back unroutable.
    let mut no_ledger = settings(&broker_url(), &exchange);
    no_ledger.ledger = false;
    let link = Link::open(&no_ledger, &broker_url()).await.unwrap();
    let result = scan(&link, &queue, &in_flight, Instant::now() + WAIT).await;
    let reason = result.incomplete.expect("reported");
    assert!(reason.contains("missing"), "{reason}");
    assert!(result.routed.is_empty());
    link.close().await;

    // A ledger that cannot be read to the marker in time.
    let link = Link::open(&settings(&broker_url(), &exchange), &broker_url())
        .await
        .unwrap();
    let result = scan(&link, &queue, &in_flight, Instant::now()).await;
    assert!(result.incomplete.is_some(), "a timeout is not completion");
    // In time, the same ledger reads to the end (nothing of this row is in it).
    let result = scan(&link, &queue, &in_flight, Instant::now() + WAIT).await;
    assert_eq!(result.incomplete, None);
    assert!(result.routed.is_empty());
    assert!(
        result.entries >= 1,
        "at least the marker was read back: {result:?}"
    );
    link.close().await;
    broker.cleanup().await;
}

/// Publisher throughput with the ledger off and on (batches of 512, 1 KiB bodies). Slow and only
/// informative beyond the counts: run with `--ignored --nocapture`.
#[tokio::test]
#[ignore]
async fn throughput_with_and_without_the_ledger() {
    let total = 20_000;
    for ledger in [false, true, false, true] {
        let exchange = ado_testkit::unique("ledger-throughput");
        let Some(mut broker) = broker_session(&exchange).await else {
            return;
        };
        declare_topology(&broker.channel, &exchange, false)
            .await
            .unwrap();
        let queue = broker.bind_queue("all", "#", FieldTable::default()).await;
        let (_dir, store) = temp_store().await;
        let events = (0..total)
            .map(|i| {
                let mut e = event(&format!("t-{i}"), "contoso.p.git.push");
                e.body = vec![b'x'; 1024];
                e
            })
            .collect();
        store.insert(events).await.unwrap();
        let settings = PublisherSettings {
            ledger,
            batch_size: 512,
            ..settings(&broker_url(), &exchange)
        };
        let started = Instant::now();
        let publisher = start_with(settings, store.clone(), Duration::from_secs(5));
        assert!(eventually(Duration::from_secs(120), || depth_is(&store, 0)).await);
        let elapsed = started.elapsed();
        println!(
            "publisher, ledger {}: {total} events (batches of 512, 1 KiB) in {elapsed:?} = {:.0} events/s",
            if ledger { "on " } else { "off" },
            total as f64 / elapsed.as_secs_f64()
        );
        publisher.stop().await;
        let declared = broker
            .channel
            .queue_declare(
                queue.as_str().into(),
                lapin::options::QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        assert_eq!(declared.message_count() as usize, total, "each event once");
        broker.cleanup().await;
    }
}
