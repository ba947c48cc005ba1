//! Ground truth: deterministic from the seed, one entry per distinct change, canonical payloads
//! that the normalizer accepts and that normalize exactly like the delivered hooks.

mod sim_common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ado_ingest::normalize::{NormalizeOptions, normalize_hook, parse_envelope};
use ado_ingest::sim::{self, ActivitySpec, EVENT_KINDS, OrgSpec, SimConfig, Simulator};

async fn run(seed: u64, actions: usize) -> Simulator {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = SimConfig {
        seed,
        time_scale: 0.001,
        orgs: vec![
            OrgSpec::services("contoso"),
            OrgSpec::server("DefaultCollection"),
        ],
        ..SimConfig::default()
    };
    let sim = sim::start(config, listener).await.unwrap();
    sim.generate(&ActivitySpec::new(actions)).unwrap();
    sim
}

fn fingerprint(sim: &Simulator) -> Vec<String> {
    sim.truth()
        .iter()
        .map(|t| {
            format!(
                "{} {} {:?} {} {} {}",
                t.event_type, t.collection_id, t.identity, t.ado_event_id, t.time, t.summary
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_makes_the_same_changes() {
    let (a, b, c) = (run(77, 400).await, run(77, 400).await, run(78, 400).await);
    assert_eq!(fingerprint(&a), fingerprint(&b));
    assert_ne!(fingerprint(&a), fingerprint(&c));
    // Payloads differ only in the listener's port inside URLs.
    let strip = |s: &Simulator| -> Vec<String> {
        let port = format!("127.0.0.1:{}", s.addr().port());
        s.truth()
            .iter()
            .map(|t| t.canonical_payload().to_string().replace(&port, "HOST"))
            .collect()
    };
    assert_eq!(strip(&a), strip(&b));
    for s in [a, b, c] {
        s.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_is_distinct_and_every_event_type_occurs() {
    let sim = run(21, 2500).await;
    let truth = sim.truth();
    let mut seen = BTreeSet::new();
    for t in &truth {
        let key = format!("{} {} {:?}", t.collection_id, t.normalized_type, t.identity);
        assert!(
            seen.insert(key.clone()),
            "two changes with one identity: {key}"
        );
    }
    let services = sim.org("contoso").unwrap().collection_id;
    let server = sim.org("DefaultCollection").unwrap().collection_id;
    for kind in EVENT_KINDS {
        let n = |c: &str| {
            truth
                .iter()
                .filter(|t| t.event_type == kind.event_type && t.collection_id == c)
                .count()
        };
        assert!(n(&services) > 0, "no {} on Services", kind.event_type);
        if kind.on_server {
            assert!(n(&server) > 0, "no {} on Server", kind.event_type);
        } else {
            assert_eq!(n(&server), 0, "{} is Services-only", kind.event_type);
        }
    }
    let summary = sim.truth_summary();
    assert_eq!(
        summary.values().map(|s| s.changes).sum::<u64>() as usize,
        truth.len()
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canonical_payloads_normalize_like_the_delivered_hooks() {
    let sim = run(31, 0).await;
    let rx = sim_common::receiver().await;
    for org in sim.orgs() {
        sim.subscribe_all(&org.name, &rx.url, Some(("ado", "pw")))
            .unwrap();
    }
    sim.generate(&ActivitySpec::new(600)).unwrap();
    sim.settle(Duration::from_secs(30)).await.unwrap();
    let opts = NormalizeOptions::default();
    let mut expected: BTreeMap<String, String> = BTreeMap::new();
    let mut ids = BTreeSet::new();
    for t in sim.truth() {
        let body = serde_json::to_vec(&t.canonical_payload()).unwrap();
        let env = parse_envelope(&body)
            .unwrap_or_else(|e| panic!("canonical payload of {} does not parse: {e}", t.summary));
        let ev = normalize_hook(&env, &opts);
        assert!(
            ids.insert(ev.id.clone()),
            "two changes normalize to one id: {}",
            t.summary
        );
        expected.insert(t.ado_event_id.clone(), ev.id);
        assert_eq!(
            t.delivery.delivered, 1,
            "delivered once to its one subscription: {}",
            t.summary
        );
    }
    let received = rx.received();
    assert_eq!(received.len(), expected.len());
    for r in received {
        let env = parse_envelope(&serde_json::to_vec(&r.body).unwrap()).unwrap();
        assert_eq!(
            normalize_hook(&env, &opts).id,
            expected[&env.event_id],
            "hook and canonical payload give one id"
        );
    }
    sim.shutdown().await;
}
