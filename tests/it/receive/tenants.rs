//! The tenant check: with organizations configured, a hook of a collection none of them has is
//! refused (403, counted, nothing stored or published); one of a configured organization passes;
//! while an organization's collection id cannot be learnt, a hook matching none is answered 503.

use std::time::Duration;

use ado_ingest::config::OrganizationConfig;
use serde_json::Value;

use crate::support::process::push_hook;
use crate::support::reconcile::{Tap, TestServer, fast_sim, server_options, start_sim};

fn hook(n: u64, collection: &str) -> Value {
    let mut h: Value = serde_json::from_slice(&push_hook(n)).unwrap();
    h["resourceContainers"]["collection"]["id"] = collection.into();
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_of_an_unknown_collection_is_refused_and_a_known_one_passes() {
    let sim = start_sim(fast_sim(71)).await;
    let info = sim.orgs()[0].clone();
    let org = OrganizationConfig::with_pat(info.base_url.trim_end_matches('/'), sim.pat());
    let server = TestServer::start(server_options(vec![org], 50)).await;
    server.wait_ready().await;
    let mut tap = Tap::bind(&server.exchange).await;

    let (status, body) = server
        .post_hook(&hook(1, "0badc0de-0000-4000-8000-000000000001"))
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "unknown_collection");
    // Without a collection id at all: refused too.
    let mut bare = hook(2, "x");
    bare["resourceContainers"]
        .as_object_mut()
        .unwrap()
        .remove("collection");
    assert_eq!(server.post_hook(&bare).await.0, 403);

    let (status, body) = server
        .post_hook(&hook(3, &info.collection_id.to_uppercase()))
        .await;
    assert_eq!(status, 202, "{body}");
    let got = tap
        .drain(Duration::from_secs(2), Duration::from_secs(30))
        .await;
    let ids: Vec<&str> = got.iter().filter_map(|(_, b)| b["id"].as_str()).collect();
    assert_eq!(
        ids,
        [body["id"].as_str().unwrap()],
        "only the known tenant's hook"
    );

    let metrics = reqwest::get(format!("{}/metrics", server.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let refused = metrics
        .lines()
        .filter(|l| {
            l.starts_with("ado_ingest_hooks_total") && l.contains("outcome=\"unknown_collection\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>();
    assert_eq!(refused, 2.0, "{metrics}");
    server.stop().await.expect("stopped in time").unwrap();
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_an_organization_is_unreachable_unmatched_hooks_are_retried_not_refused() {
    // Nothing listens on port 9: connectionData never answers.
    let org = OrganizationConfig::with_pat("http://127.0.0.1:9/unreachable", "pat");
    let server = TestServer::start(server_options(vec![org], 50)).await;
    let (status, body) = server
        .post_hook(&hook(4, "c0ffee00-0000-4000-8000-000000000001"))
        .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "collection_not_yet_known");

    // Switched off, the same hook is accepted.
    let server_off = TestServer::start(
        server_options(
            vec![OrganizationConfig::with_pat(
                "http://127.0.0.1:9/unreachable",
                "pat",
            )],
            50,
        )
        .with("ADO_INGEST_HOOKS_REQUIRE_KNOWN_COLLECTION", "false"),
    )
    .await;
    let (status, body) = server_off
        .post_hook(&hook(4, "c0ffee00-0000-4000-8000-000000000001"))
        .await;
    assert_eq!(status, 202, "{body}");
    server.stop().await.expect("stopped in time").unwrap();
    server_off.stop().await.expect("stopped in time").unwrap();
}
