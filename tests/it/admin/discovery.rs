//! Discovery against the simulated Azure DevOps: `serve` with only a `[discovery]` credential
//! reconciles every organization the identity is a member of and nothing else (`exclude` holds);
//! one it joins later is picked up by the next pass and its changes are published; one it leaves
//! is reported with its state kept.

use std::time::{Duration, Instant};

use ado_sim::{ActivitySpec, OrgSpec, SimConfig};
use serde_json::Value;

use crate::support::reconcile::{Tap, TestServer, fast_sim, server_options, start_sim};

const TOKEN: &str = "discovery-admin-token";

async fn status_until(base: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = ado_testkit::get_json(&format!("{base}/admin/status"), TOKEN).await;
        if check(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {s:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn names(s: &Value) -> Vec<String> {
    let mut n: Vec<String> = s["organizations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o["organization"].as_str().map(str::to_string))
        .collect();
    n.sort();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_finds_the_identitys_organizations_and_follows_changes() {
    let sim = start_sim(SimConfig {
        orgs: ["contoso", "fabrikam", "northwind", "tailspin"]
            .into_iter()
            .map(OrgSpec::services)
            .collect(),
        ..fast_sim(81)
    })
    .await;
    sim.set_memberships(Some(vec![
        "contoso".into(),
        "fabrikam".into(),
        "tailspin".into(),
    ]));
    let info = sim.orgs()[0].clone();
    let root = info
        .base_url
        .trim_end_matches('/')
        .trim_end_matches("contoso")
        .to_string();
    let server = TestServer::start(
        server_options(Vec::new(), 50)
            .with("ADO_INGEST_ADMIN_TOKEN", TOKEN)
            .with("ADO_INGEST_RECONCILE_INTERVAL", "1s")
            .with("ADO_INGEST_DISCOVERY_PAT", &sim.pat())
            .with("ADO_INGEST_DISCOVERY_PROFILE_URL", &root)
            .with(
                "ADO_INGEST_DISCOVERY_ORGANIZATION_URL",
                &format!("{root}{{name}}"),
            )
            .with("ADO_INGEST_DISCOVERY_EXCLUDE", "tail*"),
    )
    .await;
    let base = server.base.clone();

    // At start: the identity's organizations but the excluded one; nothing of northwind.
    let s = status_until(&base, "the first passes", |s| {
        s["broker"]["connected"] == true
            && s["organizations"].as_array().is_some_and(|l| {
                !l.is_empty() && l.iter().all(|o| o["last_pass_finished"].is_string())
            })
    })
    .await;
    assert_eq!(names(&s), ["contoso", "fabrikam"], "{s:#}");
    assert!(
        s["organizations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["discovered"] == true)
    );
    let mut tap = Tap::bind(&server.exchange).await;

    // Joining northwind: picked up by the next pass, and its changes are published.
    sim.set_memberships(Some(vec![
        "contoso".into(),
        "fabrikam".into(),
        "northwind".into(),
        "tailspin".into(),
    ]));
    sim.generate(&ActivitySpec {
        org: Some("northwind".into()),
        ..ActivitySpec::new(40)
    })
    .unwrap();
    status_until(&base, "northwind", |s| {
        names(s).contains(&"northwind".to_string())
    })
    .await;
    let got = tap
        .drain(Duration::from_secs(3), Duration::from_secs(60))
        .await;
    let northwind = got
        .iter()
        .filter(|(key, _)| key.starts_with("northwind."))
        .count();
    assert!(
        northwind > 10,
        "northwind's changes published: {northwind} of {}",
        got.len()
    );
    assert!(got.iter().all(|(key, _)| !key.starts_with("tailspin.")));

    // Leaving fabrikam: reported, its state kept, the others go on.
    sim.set_memberships(Some(vec!["contoso".into(), "northwind".into()]));
    let s = status_until(&base, "fabrikam's access lost", |s| {
        s["organizations"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|o| o["organization"] == "fabrikam" && o["access_lost_since"].is_string())
    })
    .await;
    assert_eq!(names(&s), ["contoso", "fabrikam", "northwind"]);
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("ado_ingest_discovered_organizations{state=\"lost\"} 1")),
        "{metrics}"
    );
    server.stop().await.expect("stopped in time").unwrap();
    sim.shutdown().await;
}
