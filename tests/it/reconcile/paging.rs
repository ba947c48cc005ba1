//! Paging and positions: every stream needs several pages; a pass killed between pages and a
//! backfill cancelled between pages resume without losing or re-publishing anything; the overlap
//! window re-reads without re-publishing. No broker: events are read back from the store.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::reconcile::*;
use ado_ingest::config::Stream;
use ado_ingest::reconcile::{BackfillSpec, JobProgress, WATERMARK_NAMESPACE};
use ado_sim::ActivitySpec;
use chrono::{TimeZone, Utc};
use tokio_util::sync::CancellationToken;

const PAGE: u32 = 4;

/// Ids of the changes REST must find (fully observable types, field updates).
fn must_find(exp: &[Expected]) -> BTreeSet<String> {
    exp.iter()
        .filter(|e| {
            REST_COMPLETE.contains(&e.event_type.as_str())
                || (e.event_type == "workitem.updated" && !link_only(e))
        })
        .map(|e| e.id.clone())
        .collect()
}

fn assert_found(outbox: &BTreeSet<String>, exp: &[Expected]) {
    let all: BTreeSet<String> = exp.iter().map(|e| e.id.clone()).collect();
    for e in exp {
        if must_find(exp).contains(&e.id) {
            assert!(outbox.contains(&e.id), "lost {}", e.truth.summary);
        }
    }
    for id in outbox {
        assert!(all.contains(id), "{id} is not a change of the ground truth");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_stream_pages_and_a_killed_pass_resumes() {
    let sim = start_sim(fast_sim(21)).await;
    sim.generate(&ActivitySpec::new(250)).unwrap();
    let org = org_config(&sim, "contoso");
    let bench = Bench::new(org.clone(), PAGE).await;
    // Kill the first pass once a few pages are durable.
    let first = bench.reconciler.clone();
    let task = tokio::spawn(async move { first.run_once().await });
    let store = bench.store.clone();
    loop {
        let marks = store.list_state(WATERMARK_NAMESPACE).await.unwrap();
        if marks.len() >= 3 || task.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    task.abort();
    let _ = task.await;
    // A store write already handed to the writer completes even though its caller is gone.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before: BTreeSet<String> = bench.outbox().await.into_keys().collect();
    // A new process (empty caches) resumes from the durable positions.
    let second = bench.restarted(org.clone(), PAGE);
    let progress = second.run_once().await.unwrap();
    for stream in Stream::ALL {
        let p = &progress[&stream];
        assert_eq!(p.errors, 0, "{stream}: {:?}", p.last_error);
    }
    let outbox: BTreeSet<String> = bench.outbox().await.into_keys().collect();
    let exp = expected(&sim.truth());
    assert_found(&outbox, &exp);
    let published: u64 = progress.values().map(|p| p.events_published).sum();
    let duplicates: u64 = progress.values().map(|p| p.duplicates_skipped).sum();
    // Everything the killed pass made durable stays published once; the resumed pass adds only
    // the rest and re-reads little (at most the pages in flight and the per-repository walks).
    assert_eq!(before.len() as u64 + published, outbox.len() as u64);
    assert!(
        duplicates <= before.len() as u64,
        "resumed pass re-read {duplicates} of {} events",
        before.len()
    );

    // Overlap: a pass without new activity re-reads the overlap window, publishing nothing.
    let again = second.run_once().await.unwrap();
    assert_eq!(again.values().map(|p| p.events_published).sum::<u64>(), 0);
    assert!(
        again[&Stream::Git].duplicates_skipped > 0,
        "no overlap re-read"
    );
    assert!(
        again[&Stream::Builds].duplicates_skipped > 0,
        "no overlap re-read"
    );
    assert_eq!(bench.outbox().await.len(), outbox.len());

    // New activity after that: found on top, nothing twice.
    sim.generate(&ActivitySpec::new(80)).unwrap();
    second.run_once().await.unwrap();
    let outbox: BTreeSet<String> = bench.outbox().await.into_keys().collect();
    assert_found(&outbox, &expected(&sim.truth()));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_backfill_resumes_from_its_cursors() {
    let sim = start_sim(fast_sim(22)).await;
    sim.generate(&ActivitySpec::new(200)).unwrap();
    let org = org_config(&sim, "contoso");
    let bench = Bench::new(org.clone(), PAGE).await;
    let spec = BackfillSpec {
        organization: "contoso".into(),
        projects: Vec::new(),
        streams: Vec::new(),
        since: Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap(),
        until: Some(Utc.with_ymd_and_hms(2100, 1, 1, 0, 0, 0).unwrap()),
    };
    // Cancel after 5 durable pages; the last reported progress is what a job store would hold.
    let cancel = CancellationToken::new();
    let saved: Arc<Mutex<JobProgress>> = Arc::default();
    let (c, s) = (cancel.clone(), saved.clone());
    let mut pages = 0;
    let partial = bench
        .reconciler
        .backfill(
            &spec,
            move |p: &JobProgress| {
                *s.lock().unwrap() = p.clone();
                pages += 1;
                if pages == 5 {
                    c.cancel();
                }
            },
            JobProgress::new(),
            cancel,
        )
        .await
        .unwrap();
    assert!(
        partial.values().any(|p| !p.done),
        "cancelled backfill reported done"
    );
    let resume = saved.lock().unwrap().clone();
    assert_eq!(resume, partial);
    let first: BTreeSet<String> = bench.outbox().await.into_keys().collect();
    assert!(!first.is_empty());

    let second = bench.restarted(org, PAGE);
    let done = second
        .backfill(&spec, |_| {}, resume.clone(), CancellationToken::new())
        .await
        .unwrap();
    for stream in Stream::ALL {
        let p = &done[&stream];
        assert!(p.done && p.errors == 0, "{stream}: {p:?}");
        // More objects than one page in every stream.
        assert!(p.pages >= 3, "{stream} took {} page(s)", p.pages);
    }
    let outbox: BTreeSet<String> = bench.outbox().await.into_keys().collect();
    assert_found(&outbox, &expected(&sim.truth()));
    // The resumed job continued from its cursors: it re-read at most the page in flight.
    let reread: u64 = done.values().map(|p| p.duplicates_skipped).sum::<u64>()
        - resume.values().map(|p| p.duplicates_skipped).sum::<u64>();
    assert!(
        reread <= 3 * PAGE as u64,
        "resumed backfill re-read {reread} events"
    );
    // Watermarks of the periodic loop are not a backfill's business.
    assert!(
        bench
            .store
            .list_state(WATERMARK_NAMESPACE)
            .await
            .unwrap()
            .is_empty()
    );
    sim.shutdown().await;
}
