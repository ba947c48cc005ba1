//! Degrade, never fail a stream: an identity that may not read the recycle bin (403, a Reader) or
//! a Server without it (404) still gets every work-item revision reconciled; what is lost
//! (deletions, restores) is named in the stream's progress and the status, once per pass.

use std::collections::BTreeSet;

use crate::support::reconcile::*;
use ado_ingest::config::Stream;
use ado_sim::ActivitySpec;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_recycle_bin_leaves_a_reported_gap_and_every_revision_published() {
    for (seed, status) in [(61, 403), (62, 404)] {
        let sim = start_sim(fast_sim(seed)).await;
        sim.generate(&ActivitySpec::new(150)).unwrap();
        sim.refuse_route("wit/recyclebin", status);
        let org = org_config(&sim, "contoso");
        let bench = Bench::new(org, 20).await;

        let progress = bench.reconciler.run_once().await.unwrap();
        let wi = &progress[&Stream::WorkItems];
        assert_eq!(
            wi.errors, 0,
            "{status}: the stream failed: {:?}",
            wi.last_error
        );
        assert!(wi.done, "{status}: {wi:?}");
        let expected_gap =
            format!("wit/recyclebin refused ({status}): deletions and restores are not recovered");
        assert_eq!(wi.gaps, vec![expected_gap.clone()], "{status}");
        // The other streams are not concerned.
        for (stream, p) in &progress {
            assert_eq!(p.errors, 0, "{stream}: {:?}", p.last_error);
            if *stream != Stream::WorkItems {
                assert!(p.gaps.is_empty(), "{stream}: {:?}", p.gaps);
            }
        }
        let status_board = bench.reconciler.status();
        assert_eq!(status_board.streams["workitems"].gaps, vec![expected_gap]);

        // Every revision REST shows is published all the same.
        let outbox = bench.outbox().await;
        let published: BTreeSet<&str> = outbox.keys().map(String::as_str).collect();
        let revisions: Vec<Expected> = expected(&sim.truth())
            .into_iter()
            .filter(|e| {
                e.event_type == "workitem.created"
                    || e.event_type == "workitem.commented"
                    || (e.event_type == "workitem.updated" && !link_only(e))
            })
            .collect();
        assert!(revisions.len() > 20, "{} revisions", revisions.len());
        let missing: Vec<&str> = revisions
            .iter()
            .filter(|e| !published.contains(e.id.as_str()))
            .map(|e| e.truth.summary.as_str())
            .collect();
        assert!(
            missing.is_empty(),
            "{status}: revisions not published: {missing:?}"
        );
        sim.shutdown().await;
    }
}
