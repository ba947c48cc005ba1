//! The simulator's ground truth agrees with the normalizer: every canonical payload parses, two
//! changes never share an id, and the hooks the simulator delivers normalize to the same ids.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ado_ingest::normalize::{NormalizeOptions, normalize_hook, parse_envelope};
use ado_sim::{ActivitySpec, Simulator};
use ado_testkit::sim::{services_and_server, start_sim};

async fn run(seed: u64) -> Simulator {
    start_sim(services_and_server(seed)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canonical_payloads_normalize_like_the_delivered_hooks() {
    let sim = run(31).await;
    let rx = ado_testkit::receiver::receiver().await;
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
