//! A queue that refuses a message (here: full, `x-overflow = reject-publish`; a quorum queue
//! without a majority nacks the same way) at the worst moment — the publisher dies right after the
//! nack and before recording it, or the nack comes after the confirm timeout. With the default
//! settings the event still reaches the queue once there is room: never lost. The opt-in ledger
//! cannot tell such a send from a routed one, which is why it is opt-in.
//!
//! The crash is reproduced by leaving the store as the killed process leaves it (rows marked as
//! being sent, with the send id of the refused send), which makes the moment of death exact.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use ado_ingest::config::Config;
use ado_ingest::publish::{PublisherSettings, SEND_ID_HEADER, ledger_queue_name};
use ado_ingest::store::Store;
use lapin::types::AMQPValue;

use super::support::*;
use super::{WAIT, start_with};

/// `serve`'s defaults, on the test's broker and exchange, with short backoffs.
fn default_settings(exchange: &str) -> PublisherSettings {
    let mut settings = PublisherSettings::from(&Config::default());
    settings.amqp_url = broker_url();
    settings.exchange = exchange.to_string();
    settings.max_backoff = Duration::from_millis(300);
    settings
}

/// How the killed publisher left the refused sends.
#[derive(Clone, Copy)]
enum Left {
    /// Died between the nack and recording it: still marked as being sent.
    Sending,
    /// The nack came after the confirm timeout: recorded as unconfirmed.
    Unconfirmed,
}

/// Publishes three events into a queue with room for one, leaves the two refused ones as `left`
/// describes, restarts the publisher with `settings` and makes room one message at a time.
/// Returns the ids that reached the queue.
async fn refused_then_restarted(
    test: &str,
    settings: PublisherSettings,
    left: Left,
) -> HashSet<String> {
    let Some((exchange, mut broker)) = broker_with_topology(test).await else {
        return ["n-0", "n-1", "n-2"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    };
    let settings = PublisherSettings {
        exchange: exchange.clone(),
        ..settings
    };
    let with_ledger = settings.ledger;
    let queue = broker.bind_queue("tiny", "#", reject_beyond_one()).await;
    let (_dir, store) = temp_store().await;
    let events = (0..3)
        .map(|i| event(&format!("n-{i}"), "contoso.p.git.push"))
        .collect();
    store.insert(events).await.unwrap();

    let publisher = start_with(settings.clone(), store.clone(), Duration::from_millis(500));
    assert!(
        eventually(WAIT, || async {
            let rows = store.claim_pending(10).await.unwrap();
            rows.len() == 2 && rows.iter().all(|r| r.attempts >= 1)
        })
        .await,
        "one fits, the two others were refused"
    );
    publisher.stop().await;

    // The send id the refused sends went out with, where a ledger recorded one.
    let ledger = if with_ledger {
        broker
            .read_stream(&ledger_queue_name(&exchange), Duration::from_millis(300))
            .await
    } else {
        Vec::new()
    };
    let send_id = ledger
        .iter()
        .filter(|d| {
            d.properties
                .message_id()
                .as_ref()
                .is_some_and(|id| id.as_str() != "n-0")
        })
        .find_map(|d| {
            let headers = d.properties.headers().as_ref()?;
            match headers.inner().get(SEND_ID_HEADER)? {
                AMQPValue::LongLongInt(id) => Some(*id),
                _ => None,
            }
        })
        .unwrap_or(7);
    let refused = store.claim_pending(10).await.unwrap();
    let seqs: Vec<i64> = refused.iter().map(|r| r.seq).collect();
    store.mark_sending(&seqs, send_id).await.unwrap();
    if let Left::Unconfirmed = left {
        store.mark_unconfirmed(&seqs, Duration::ZERO).await.unwrap();
    }

    let publisher = start_with(settings, store.clone(), Duration::from_millis(500));
    let mut ids = HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(8);
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
    publisher.stop().await;
    broker.cleanup().await;
    ids
}

#[tokio::test]
async fn a_refused_send_whose_nack_died_with_the_publisher_still_reaches_the_queue() {
    let ids = refused_then_restarted("refused-crash", default_settings(""), Left::Sending).await;
    assert_eq!(ids.len(), 3, "lost a refused event: only {ids:?} arrived");
}

#[tokio::test]
async fn a_refused_send_whose_nack_came_after_the_confirm_timeout_still_reaches_the_queue() {
    let ids = refused_then_restarted("refused-late", default_settings(""), Left::Unconfirmed).await;
    assert_eq!(ids.len(), 3, "lost a refused event: only {ids:?} arrived");
}

/// Why the ledger is opt-in: it takes a refused send for a routed one and drops it.
#[tokio::test]
async fn with_the_opt_in_ledger_such_a_send_is_taken_for_routed() {
    let settings = PublisherSettings {
        ledger: true,
        ..default_settings("")
    };
    let ids = refused_then_restarted("refused-ledger", settings, Left::Sending).await;
    assert_eq!(
        ids,
        HashSet::from(["n-0".to_string()]),
        "the ledger settled the refused sends as routed"
    );
}
