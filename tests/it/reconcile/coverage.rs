//! Acceptance of the reconciler against the simulator with hook drop rates 0 %, 10 %, 50 % and
//! 100 %: after it ran, the exchange carries every change REST can observe exactly once, with the
//! id, routing key and normalized data the hook would have given it, nothing that did not happen,
//! and every delivered hook; a hook arriving after the reconciler published its change is a
//! duplicate, and the reconciler skips what hooks already published.
//!
//! Needs RabbitMQ on 127.0.0.1:5672.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::support::reconcile::*;
use ado_sim::{ActivitySpec, FaultRates};
use serde_json::Value;

/// CloudEvents attributes that must be equal whichever path published a change (`time` is not:
/// REST cannot always know when a deletion, restore or PR update happened; `adoorigin` differs).
const SAME_ATTRIBUTES: &[&str] = &[
    "type",
    "source",
    "subject",
    "adocollection",
    "adoproject",
    "partitionkey",
    "sequence",
    "dataschema",
];

/// Types whose REST-derived `time` is when the change was observed: a restore leaves no trace of
/// its time, and a PR keeps none of its merge attempts' times (its updates are dated by their
/// system threads and iterations).
const TIME_UNKNOWN: &[&str] = &["workitem.restored", "git.pullrequest.merge_attempted"];

/// Which `data` fields REST reproduces for a type (`None`: all of them). A PR's updates are
/// rebuilt from its history, every field as the hook had it; a merge attempt or a creation is
/// seen later, as the PR is then, so only what the attempt / creation fixed is compared.
fn rest_fields(event_type: &str) -> Option<Vec<&'static str>> {
    const CREATED: &[&str] = &[
        "pullRequestId",
        "creationDate",
        "createdBy",
        "sourceRefName",
        "targetRefName",
        "repository",
        "project",
        "title",
        "url",
    ];
    // What a merge attempt fixes, on top of the creation's fields.
    const MERGE: &[&str] = &[
        "mergeStatus",
        "lastMergeSourceCommit",
        "lastMergeTargetCommit",
        "lastMergeCommit",
    ];
    match event_type {
        "git.pullrequest.created" => Some(CREATED.to_vec()),
        "git.pullrequest.merge_attempted" => Some([CREATED, MERGE].concat()),
        _ => None,
    }
}

fn pick(data: Value, fields: Option<&[&str]>) -> Value {
    match (data, fields) {
        (Value::Object(m), Some(keep)) => Value::Object(
            m.into_iter()
                .filter(|(k, _)| keep.contains(&k.as_str()))
                .collect(),
        ),
        (d, _) => d,
    }
}

struct Outcome {
    expected: Vec<Expected>,
    published: BTreeMap<String, (String, Value)>,
    /// Events the reconciler published / found already published, over both passes.
    rest_published: u64,
    rest_duplicates: u64,
    /// Hooks posted after the reconciler published their change, and what ado-ingest answered.
    late_hooks: Vec<(u16, Value)>,
}

async fn run_case(drop: f64, seed: u64) -> Outcome {
    let sim = start_sim(fast_sim(seed)).await;
    let org = org_config(&sim, "contoso");
    let server = start_server(server_options(vec![org], 5)).await;
    let mut tap = Tap::bind(&server.exchange).await;
    sim.subscribe_all("contoso", &server.hooks_url(), Some((USER, PASSWORD)))
        .unwrap();
    sim.set_faults(FaultRates {
        drop,
        ..FaultRates::default()
    });
    let reconciler = server.reconcilers.find("contoso").unwrap().clone();
    let (mut rest_published, mut rest_duplicates) = (0, 0);
    // Two rounds, so pull requests and recycle-bin items are also seen changing between passes.
    for _ in 0..2 {
        sim.generate(&ActivitySpec::new(160)).unwrap();
        sim.settle(Duration::from_secs(60)).await.unwrap();
        let progress = reconciler.run_once().await.unwrap();
        for (stream, p) in &progress {
            assert_eq!(p.errors, 0, "{stream}: {:?}", p.last_error);
            rest_published += p.events_published;
            rest_duplicates += p.duplicates_skipped;
        }
    }
    // The loop `serve` spawned ran its start-up pass; the status shows every stream and the replay.
    let status = server.reconcilers.statuses().remove(0);
    assert_eq!(status.organization, "contoso");
    assert!(status.last_pass_finished.is_some() && status.last_error.is_none());
    assert!(
        status.next_pass.is_some(),
        "the periodic loop is not scheduled"
    );
    for name in [
        "git",
        "pullrequests",
        "builds",
        "workitems",
        "tfvc",
        "notifications",
    ] {
        let st = &status.streams[name];
        assert!(
            st.last_success.is_some() && st.last_error.is_none(),
            "{name}: {st:?}"
        );
        assert!(
            st.watermark.is_some() && st.lag_seconds.is_some(),
            "{name}: {st:?}"
        );
    }
    assert!(status.rest_calls > 0 && !status.rest_calls_by_route.is_empty());
    // Work items cost calls per page, not per item: a process that saw every revision places
    // link changes and deletions without reading any item's updates or recycle-bin entry.
    for per_item in ["wit/workitems/{id}/updates", "wit/recyclebin/{id}"] {
        assert_eq!(
            status.rest_calls_by_route.get(per_item),
            None,
            "{per_item} called: {:?}",
            status.rest_calls_by_route
        );
    }
    for paged in [
        "wit/reporting/workitemlinks",
        "wit/reporting/workitemrevisions",
        "wit/recyclebin",
    ] {
        assert!(status.rest_calls_by_route.contains_key(paged), "{paged}");
    }
    let expected = expected(&sim.truth());
    let mut messages = tap
        .drain(Duration::from_secs(2), Duration::from_secs(90))
        .await;
    // Hooks arriving after the reconciler published their change (Azure DevOps retrying late).
    let mut late_hooks = Vec::new();
    if drop == 1.0 {
        for e in expected
            .iter()
            .filter(|e| e.event_type == "git.push")
            .take(5)
        {
            late_hooks.push(server.post_hook(&e.truth.canonical_payload()).await);
        }
        messages.extend(
            tap.drain(Duration::from_secs(1), Duration::from_secs(5))
                .await,
        );
    }
    let mut published: BTreeMap<String, (String, Value)> = BTreeMap::new();
    for (key, body) in messages {
        let id = body["id"].as_str().unwrap().to_string();
        assert!(
            published.insert(id.clone(), (key, body)).is_none(),
            "{id} published twice"
        );
    }
    sim.shutdown().await;
    server.stop().await;
    Outcome {
        expected,
        published,
        rest_published,
        rest_duplicates,
        late_hooks,
    }
}

/// Whether `e` is the deletion that left its item in the recycle bin at the end.
fn is_last_delete(all: &[Expected], e: &Expected) -> bool {
    let item = &e.body["data"]["workItemId"];
    all.iter()
        .filter(|x| {
            matches!(
                x.event_type.as_str(),
                "workitem.deleted" | "workitem.restored"
            ) && &x.body["data"]["workItemId"] == item
        })
        .max_by_key(|x| x.truth.seq)
        .is_some_and(|x| x.truth.seq == e.truth.seq)
}

/// Whether the work item of `e` ended in the recycle bin (its last delete/restore is a delete).
fn in_bin_at_end(all: &[Expected], e: &Expected) -> bool {
    let item = &e.body["data"]["workItemId"];
    all.iter()
        .filter(|x| {
            matches!(
                x.event_type.as_str(),
                "workitem.deleted" | "workitem.restored"
            ) && &x.body["data"]["workItemId"] == item
        })
        .max_by_key(|x| x.truth.seq)
        .is_some_and(|x| x.event_type == "workitem.deleted")
}

fn check(o: &Outcome, drop: f64) {
    let by_id: BTreeMap<&str, &Expected> = o.expected.iter().map(|e| (e.id.as_str(), e)).collect();
    // Nothing that did not happen.
    for (id, (_, body)) in &o.published {
        assert!(
            by_id.contains_key(id.as_str()),
            "published {} {id} is no change of the ground truth",
            body["type"]
        );
    }
    let mut missing: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_rest = 0;
    for e in &o.expected {
        let Some((key, body)) = o.published.get(&e.id) else {
            // Every delivered hook and every change of a type REST reproduces fully is published.
            assert!(
                e.truth.delivery.delivered == 0,
                "delivered {} {} missing",
                e.event_type,
                e.truth.summary
            );
            assert!(
                !REST_COMPLETE.contains(&e.event_type.as_str()),
                "{} {} not found by the reconciler",
                e.event_type,
                e.truth.summary
            );
            assert!(
                e.event_type != "workitem.updated" || link_only(e),
                "field update {} not found by the reconciler",
                e.truth.summary
            );
            // An item that ends in the recycle bin is found deleted.
            if e.event_type == "workitem.deleted" {
                assert!(
                    !is_last_delete(&o.expected, e),
                    "deletion {} of an item left in the recycle bin not found",
                    e.truth.summary
                );
            }
            // A link-only update is found unless its item is in the recycle bin when REST looks
            // (a deleted item's updates cannot be read).
            if link_only(e) {
                assert!(
                    in_bin_at_end(&o.expected, e),
                    "link-only update {} not found though its item exists",
                    e.truth.summary
                );
            }
            // Only the types the README and the demo name as possibly hook-only.
            assert!(
                ado_ingest::reconcile::hook_only::reason(&e.event_type).is_some(),
                "{} {} missing, but its type is not named hook-only",
                e.event_type,
                e.truth.summary
            );
            *missing.entry(e.event_type.as_str()).or_default() += 1;
            continue;
        };
        assert_eq!(key, &e.routing_key, "routing key of {}", e.truth.summary);
        for attr in SAME_ATTRIBUTES {
            assert_eq!(body[attr], e.body[attr], "{attr} of {}", e.truth.summary);
        }
        // When the change happened, too, wherever REST can know it. A stage event, a deletion or a
        // link-only update carries no time of its own: the hook's is when the event was raised (the
        // simulator raises events up to 0.9 s after the change), REST's when the change was made.
        let ty = e.event_type.as_str();
        if matches!(
            ty,
            "pipeline.stage.state_changed" | "workitem.deleted" | "git.pullrequest.updated"
        ) || link_only(e)
        {
            let t = |b: &Value| {
                chrono::DateTime::parse_from_rfc3339(b["time"].as_str().unwrap()).unwrap()
            };
            let gap = (t(&e.body) - t(body)).num_milliseconds();
            assert!(
                (0..1000).contains(&gap),
                "time of {} off by {gap} ms",
                e.truth.summary
            );
        } else if !TIME_UNKNOWN.contains(&ty) {
            assert_eq!(body["time"], e.body["time"], "time of {}", e.truth.summary);
        }
        let origin = body["adoorigin"].as_str().unwrap();
        if origin == "hook" {
            assert_eq!(
                data_of(body),
                data_of(&e.body),
                "hook data of {}",
                e.truth.summary
            );
            continue;
        }
        by_rest += 1;
        let fields = rest_fields(&e.event_type);
        let fields = fields.as_deref();
        let (got, want) = (pick(data_of(body), fields), pick(data_of(&e.body), fields));
        assert_eq!(got, want, "REST data of {} ({origin})", e.truth.summary);
    }
    let types: BTreeSet<&str> = o.expected.iter().map(|e| e.event_type.as_str()).collect();
    eprintln!(
        "drop {drop}: {} changes of {} types, {} published ({by_rest} by REST), not observable by REST: {missing:?}",
        o.expected.len(),
        types.len(),
        o.published.len()
    );
    if drop == 0.0 {
        assert!(
            missing.is_empty(),
            "with every hook delivered nothing may be missing"
        );
        // The other way round: what hooks published, the reconciler finds again as duplicates.
        assert_eq!(
            o.rest_published, 0,
            "the reconciler republished hook events"
        );
        assert!(o.rest_duplicates > o.expected.len() as u64 / 2);
    }
    if drop == 1.0 {
        assert!(o.published.values().all(|(_, b)| b["adoorigin"] != "hook"));
        assert!(
            by_rest > o.expected.len() / 2,
            "REST found too little: {by_rest}"
        );
        // A hook arriving after the reconciler published its change is a duplicate.
        assert_eq!(o.late_hooks.len(), 5);
        for (status, body) in &o.late_hooks {
            assert_eq!((*status, &body["duplicate"]), (200, &Value::Bool(true)));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hook_delivered() {
    let o = run_case(0.0, 11).await;
    check(&o, 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_percent_of_hooks_dropped() {
    let o = run_case(0.1, 12).await;
    check(&o, 0.1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_of_hooks_dropped() {
    let o = run_case(0.5, 13).await;
    check(&o, 0.5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hook_dropped() {
    let o = run_case(1.0, 14).await;
    check(&o, 1.0);
}
