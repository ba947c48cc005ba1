//! An Azure DevOps Server collection (`…/tfs/{Collection}` URL, `server` container, an older
//! api-version without pull-request time filters): the reconciler negotiates down and finds the
//! same changes with the same ids and routing keys as the collection's hooks — periodic passes
//! and a backfill window alike.

use std::collections::BTreeSet;

use crate::support::reconcile::*;
use ado_ingest::ado::ApiVersion;
use ado_ingest::reconcile::{BackfillSpec, JobProgress};
use ado_sim::{ActivitySpec, OrgSpec, SimConfig};
use chrono::{TimeZone, Utc};
use tokio_util::sync::CancellationToken;

fn server_sim(seed: u64) -> SimConfig {
    SimConfig {
        orgs: vec![OrgSpec {
            api_version: "5.0".into(),
            ..OrgSpec::server("FabrikamCollection")
        }],
        ..fast_sim(seed)
    }
}

fn check(outbox: &std::collections::BTreeMap<String, serde_json::Value>, exp: &[Expected]) {
    let all: BTreeSet<&str> = exp.iter().map(|e| e.id.as_str()).collect();
    for id in outbox.keys() {
        assert!(
            all.contains(id.as_str()),
            "{id} is no change of the ground truth: {}",
            outbox[id]
        );
    }
    for e in exp {
        let complete = REST_COMPLETE.contains(&e.event_type.as_str())
            || (e.event_type == "workitem.updated" && !link_only(e));
        match outbox.get(&e.id) {
            Some(body) => {
                assert_eq!(body["adocollection"], e.body["adocollection"]);
                assert_eq!(body["source"], e.body["source"], "{}", e.truth.summary);
            }
            None => assert!(!complete, "lost {}", e.truth.summary),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_collection_with_api_version_5_0_is_reconciled() {
    let sim = start_sim(server_sim(51)).await;
    let info = sim.org("FabrikamCollection").unwrap();
    assert!(
        info.base_url.contains("/tfs/FabrikamCollection/"),
        "{}",
        info.base_url
    );
    sim.generate(&ActivitySpec::new(150)).unwrap();
    let org = org_config(&sim, "FabrikamCollection");
    assert_eq!(org.name(), "fabrikamcollection");
    let bench = Bench::new(org.clone(), 6).await;
    let progress = bench.reconciler.run_once().await.unwrap();
    for (stream, p) in &progress {
        assert_eq!(p.errors, 0, "{stream}: {:?}", p.last_error);
    }
    assert_eq!(
        bench.reconciler.client().api_version().await.unwrap(),
        ApiVersion::new(5, 0)
    );
    let exp = expected(&sim.truth());
    let outbox = bench.outbox().await;
    check(&outbox, &exp);
    // Routing keys are the hook path's too (org slug from the collection URL).
    let first = exp.iter().find(|e| e.event_type == "git.push").unwrap();
    assert!(first.routing_key.starts_with("fabrikamcollection."));

    // A backfill window on the same server (no PR time filters: PRs are paged and filtered).
    let fresh = Bench::new(org, 6).await;
    let spec = BackfillSpec {
        organization: "fabrikamcollection".into(),
        projects: Vec::new(),
        streams: Vec::new(),
        since: Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap(),
        until: None,
    };
    let job = fresh
        .reconciler
        .backfill(&spec, |_| {}, JobProgress::new(), CancellationToken::new())
        .await
        .unwrap();
    assert!(job.values().all(|p| p.done && p.errors == 0), "{job:#?}");
    check(&fresh.outbox().await, &exp);
    sim.shutdown().await;
}
