//! Rows marked as being sent (the publisher's crash recovery): listed until their outcome is
//! recorded, durably, on both backends.

use std::time::Duration;

use chrono::Utc;

use super::backend::{Backend, Place, claimed_ids, claimed_seqs, events};
use super::on_both_backends;

on_both_backends!(rows_being_sent_are_listed_until_their_outcome_is_recorded);

async fn rows_being_sent_are_listed_until_their_outcome_is_recorded(backend: Backend) {
    let place = Place::new(backend).await;
    let store = place.open(100).await;
    let ids = ["a", "b", "c", "d", "e"];
    store.insert(events(&ids)).await.unwrap();
    let seqs = claimed_seqs(store.as_ref(), 100).await;
    assert!(store.in_flight().await.unwrap().is_empty());

    let before = Utc::now() - chrono::Duration::milliseconds(5);
    store.mark_sending(&seqs, 42).await.unwrap();
    let after = Utc::now() + chrono::Duration::milliseconds(5);
    drop(store);
    // Durable: a crash right after the publish leaves them listed on the next start (of the same
    // replica, or of another once the claims' lease ran out).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let store = place.open(100).await;
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
        claimed_ids(store.as_ref(), 10).await.len(),
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
