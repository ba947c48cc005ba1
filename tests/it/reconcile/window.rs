//! A backfill window that starts after the items were created: each item's revision before the
//! window comes from one `workitemsbatch` (`asOf` = window start) for up to 200 items, not from
//! one `updates` history per item, and the first in-window update of each item still carries the
//! old values its hook carried. No broker: events are read back from the store.

use std::collections::BTreeMap;

use crate::support::reconcile::*;
use ado_ingest::config::Stream;
use ado_ingest::reconcile::{BackfillSpec, JobProgress};
use ado_sim::{ActivityMix, ActivitySpec};
use chrono::Duration;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_reads_earlier_revisions_in_batches_as_of_its_start() {
    let sim = start_sim(fast_sim(31)).await;
    let wit = |actions| ActivitySpec {
        org: Some("contoso".into()),
        mix: ActivityMix::only("work_items").unwrap(),
        actions,
    };
    sim.generate(&wit(150)).unwrap();
    let since = sim.truth().iter().map(|t| t.time).max().unwrap() + Duration::milliseconds(1);
    sim.generate(&wit(150)).unwrap();

    let org = org_config(&sim, "contoso");
    let bench = Bench::new(org, 20).await;
    let spec = BackfillSpec {
        organization: "contoso".into(),
        projects: Vec::new(),
        streams: vec![Stream::WorkItems],
        since,
        until: None,
    };
    let done = bench
        .reconciler
        .backfill(&spec, |_| {}, JobProgress::new(), CancellationToken::new())
        .await
        .unwrap();
    let p = &done[&Stream::WorkItems];
    assert!(p.done && p.errors == 0, "{p:?}");

    let outbox = bench.outbox().await;
    let exp = expected(&sim.truth());
    let in_window: Vec<&Expected> = exp
        .iter()
        .filter(|e| e.truth.time >= since && e.truth.org == "contoso")
        .collect();
    // Items in the recycle bin now: REST has no earlier revision of them (no asOf, no updates),
    // so their first in-window update is found without its old values.
    let mut last_bin_event: BTreeMap<i64, &str> = BTreeMap::new();
    for e in exp.iter().filter(|e| e.truth.org == "contoso") {
        if let ty @ ("workitem.deleted" | "workitem.restored") = e.event_type.as_str() {
            last_bin_event.insert(e.body["data"]["workItemId"].as_i64().unwrap(), ty);
        }
    }
    let binned = |e: &Expected| {
        last_bin_event.get(&e.body["data"]["workItemId"].as_i64().unwrap())
            == Some(&"workitem.deleted")
    };
    // Field updates of items created before the window: the case this is about.
    let mut older_items = 0;
    for e in &in_window {
        let ty = e.event_type.as_str();
        if !matches!(
            ty,
            "workitem.created" | "workitem.updated" | "workitem.commented"
        ) {
            continue;
        }
        let body = outbox
            .get(&e.id)
            .unwrap_or_else(|| panic!("{} not backfilled", e.truth.summary));
        if binned(e) {
            continue;
        }
        assert_eq!(data_of(body), data_of(&e.body), "{}", e.truth.summary);
        let created_before = exp.iter().any(|c| {
            c.event_type == "workitem.created"
                && c.truth.time < since
                && c.body["data"]["workItemId"] == body["data"]["workItemId"]
        });
        older_items += usize::from(ty == "workitem.updated" && created_before);
    }
    assert!(
        older_items > 10,
        "only {older_items} updates of older items"
    );
    // Nothing before the window.
    let by_id: BTreeMap<&str, &Expected> = exp.iter().map(|e| (e.id.as_str(), e)).collect();
    for id in outbox.keys() {
        let e = by_id[id.as_str()];
        assert!(
            e.truth.time >= since,
            "{} is before the window",
            e.truth.summary
        );
    }
    let routes = bench.reconciler.status().rest_calls_by_route;
    assert_eq!(routes.get("wit/workitems/{id}/updates"), None, "{routes:?}");
    let batches = routes.get("wit/workitemsbatch").copied().unwrap_or(0);
    assert!(batches >= 1, "{routes:?}");
    assert!(
        batches <= routes["wit/reporting/workitemrevisions"],
        "{routes:?}"
    );
    sim.shutdown().await;
}
