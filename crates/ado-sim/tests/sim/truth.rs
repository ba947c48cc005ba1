//! Ground truth: deterministic from the seed, one entry per distinct change (whether canonical
//! payloads normalize like the delivered hooks is checked by the service's contract tests).

use std::collections::BTreeSet;

use ado_sim::{ActivitySpec, EVENT_KINDS, NOT_RAISED, Simulator};
use ado_testkit::sim::{services_and_server, start_sim};

async fn run(seed: u64, actions: usize) -> Simulator {
    let sim = start_sim(services_and_server(seed)).await;
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
    for kind in EVENT_KINDS
        .iter()
        .filter(|k| !NOT_RAISED.contains(&k.event_type))
    {
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
