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

/// The work-item ids a backfill of everything publishes, with or without `workitemsbatch`.
async fn backfilled_work_items(
    sim: &ado_sim::Simulator,
    since: chrono::DateTime<chrono::Utc>,
) -> BTreeSet<String> {
    use ado_ingest::reconcile::{BackfillSpec, JobProgress};
    let bench = Bench::new(org_config(sim, "contoso"), 20).await;
    let spec = BackfillSpec {
        organization: "contoso".into(),
        projects: Vec::new(),
        streams: vec![Stream::WorkItems],
        since,
        until: None,
    };
    let job = bench
        .reconciler
        .backfill(
            &spec,
            |_| {},
            JobProgress::new(),
            tokio_util::sync::CancellationToken::new(),
        )
        .await
        .unwrap();
    let wi = &job[&Stream::WorkItems];
    assert!(wi.done && wi.errors == 0, "{wi:?}");
    assert!(
        wi.gaps.is_empty(),
        "nothing is lost, so no gap: {:?}",
        wi.gaps
    );
    bench
        .outbox()
        .await
        .into_iter()
        .filter(|(_, body)| {
            body["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("workitem."))
        })
        .map(|(id, _)| id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_workitemsbatch_the_list_api_gives_the_same_events() {
    let sim = start_sim(fast_sim(63)).await;
    sim.generate(&ActivitySpec::new(200)).unwrap();
    // A window from the middle of the history: items edited in it existed before it, and the
    // window reads them as of its start.
    let mut times: Vec<_> = sim.truth().iter().map(|t| t.time).collect();
    times.sort();
    let since = times[times.len() / 2];
    let with_batch = backfilled_work_items(&sim, since).await;
    let batch_calls = sim.rest_calls("contoso").get("wit/workitemsbatch").copied();
    assert!(
        batch_calls.unwrap_or(0) > 0,
        "the window reads items as of its start"
    );

    sim.refuse_route("wit/workitemsbatch", 404);
    let before = sim
        .rest_calls("contoso")
        .get("wit/workitems")
        .copied()
        .unwrap_or(0);
    let without_batch = backfilled_work_items(&sim, since).await;
    let list_calls = sim
        .rest_calls("contoso")
        .get("wit/workitems")
        .copied()
        .unwrap_or(0)
        - before;
    assert!(list_calls > 0, "the list API was used instead");
    assert!(
        with_batch.len() > 20,
        "{} work-item events",
        with_batch.len()
    );
    assert_eq!(with_batch, without_batch, "the same events either way");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_notification_history_is_a_gap_not_a_failure() {
    let sim = start_sim(fast_sim(64)).await;
    sim.generate(&ActivitySpec::new(60)).unwrap();
    sim.refuse_route("hooks/notificationsquery", 403);
    let bench = Bench::new(org_config(&sim, "contoso"), 20).await;
    let progress = bench.reconciler.run_once().await.unwrap();
    for (stream, p) in &progress {
        assert_eq!(p.errors, 0, "{stream}: {:?}", p.last_error);
        assert!(p.gaps.is_empty(), "{stream}: {:?}", p.gaps);
    }
    let status = bench.reconciler.status();
    let replay = &status.streams["notifications"];
    assert!(replay.last_error.is_none(), "{replay:?}");
    assert_eq!(
        replay.gaps,
        vec![
            "hooks/notificationsquery refused (403): failed hook deliveries are not replayed"
                .to_string()
        ]
    );
    assert!(
        !bench.outbox().await.is_empty(),
        "the streams were reconciled"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_build_definitions_still_publish_every_completed_build() {
    for (seed, status) in [(65, 403), (66, 404)] {
        let sim = start_sim(fast_sim(seed)).await;
        sim.generate(&ActivitySpec::new(200)).unwrap();
        sim.refuse_route("build/definitions", status);
        let bench = Bench::new(org_config(&sim, "contoso"), 20).await;
        let progress = bench.reconciler.run_once().await.unwrap();
        let builds = &progress[&Stream::Builds];
        assert_eq!(builds.errors, 0, "{status}: {:?}", builds.last_error);
        assert!(builds.done, "{status}: {builds:?}");
        let expected_gap = format!(
            "build/definitions refused ({status}): pipeline run, stage and job state changes are not recovered"
        );
        assert_eq!(builds.gaps, vec![expected_gap.clone()], "{status}");
        assert_eq!(
            bench.reconciler.status().streams["builds"].gaps,
            vec![expected_gap]
        );

        let outbox = bench.outbox().await;
        let completed: Vec<Expected> = expected(&sim.truth())
            .into_iter()
            .filter(|e| e.event_type == "build.completed")
            .collect();
        assert!(completed.len() > 3, "{} builds", completed.len());
        let missing: Vec<&str> = completed
            .iter()
            .filter(|e| !outbox.contains_key(&e.id))
            .map(|e| e.truth.summary.as_str())
            .collect();
        assert!(
            missing.is_empty(),
            "{status}: builds not published: {missing:?}"
        );
        sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_approvals_and_deployments_are_gaps_of_their_own_streams() {
    for (seed, status) in [(67, 403), (68, 404)] {
        let sim = start_sim(fast_sim(seed)).await;
        sim.generate(&ActivitySpec::new(800)).unwrap();
        sim.refuse_route("pipelines/approvals", status);
        sim.refuse_route("release/deployments", status);
        let bench = Bench::new(org_config(&sim, "contoso"), 20).await;
        let progress = bench.reconciler.run_once().await.unwrap();
        let gaps = [
            (
                Stream::Approvals,
                format!("pipelines/approvals refused ({status}): approvals are not recovered"),
            ),
            (
                Stream::Releases,
                format!(
                    "release/deployments refused ({status}): classic release deployments are not recovered"
                ),
            ),
        ];
        for (stream, gap) in &gaps {
            let p = &progress[stream];
            assert_eq!(p.errors, 0, "{status} {stream}: {:?}", p.last_error);
            assert!(p.done, "{status} {stream}: {p:?}");
            assert_eq!(p.gaps, vec![gap.clone()], "{status} {stream}");
            assert_eq!(
                bench.reconciler.status().streams[stream.as_str()].gaps,
                vec![gap.clone()]
            );
        }
        // The builds stream reads the same runs and is not concerned.
        assert!(progress[&Stream::Builds].gaps.is_empty());

        let truth = expected(&sim.truth());
        let count = |ty: &str| truth.iter().filter(|e| e.event_type == ty).count();
        assert!(
            count("pipeline.approval.pending") > 0 && count("release.deployment.completed") > 0,
            "the activity has approvals ({}) and deployments ({})",
            count("pipeline.approval.pending"),
            count("release.deployment.completed")
        );
        let outbox = bench.outbox().await;
        let published = |ty: &str| {
            truth
                .iter()
                .filter(|e| e.event_type == ty && outbox.contains_key(&e.id))
                .count()
        };
        for ty in [
            "pipeline.approval.pending",
            "pipeline.approval.completed",
            "release.deployment.started",
            "release.deployment.completed",
        ] {
            assert_eq!(published(ty), 0, "{status}: {ty} published though refused");
        }
        assert_eq!(
            published("build.completed"),
            count("build.completed"),
            "{status}: every completed build is published"
        );
        sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_iterations_leave_intermediate_pr_states_as_a_gap() {
    for (seed, status) in [(69, 403), (70, 404)] {
        let sim = start_sim(fast_sim(seed)).await;
        sim.generate(&ActivitySpec::new(400)).unwrap();
        sim.refuse_route("git/repositories/*/pullrequests/*/iterations", status);
        let bench = Bench::new(org_config(&sim, "contoso"), 20).await;
        let progress = bench.reconciler.run_once().await.unwrap();
        let prs = &progress[&Stream::PullRequests];
        assert_eq!(prs.errors, 0, "{status}: {:?}", prs.last_error);
        let gap = format!(
            "git/pullrequests/iterations refused ({status}): intermediate pull-request states are not recovered"
        );
        assert_eq!(prs.gaps, vec![gap], "{status}");

        // Each closed PR's closing update is still published, from the PR itself.
        let outbox = bench.outbox().await;
        let closing: Vec<Expected> = expected(&sim.truth())
            .into_iter()
            .filter(|e| {
                e.event_type == "git.pullrequest.updated" && e.body["data"]["status"] != "active"
            })
            .collect();
        assert!(closing.len() > 3, "{} closed PRs", closing.len());
        let missing: Vec<&str> = closing
            .iter()
            .filter(|e| !outbox.contains_key(&e.id))
            .map(|e| e.truth.summary.as_str())
            .collect();
        assert!(
            missing.is_empty(),
            "{status}: closing updates not published: {missing:?}"
        );
        sim.shutdown().await;
    }
}
