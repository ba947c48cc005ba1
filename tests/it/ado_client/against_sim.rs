//! The project's own REST client (`ado::OrgClient`) against the simulator: version negotiation on
//! Services and an older Server, continuation-token paging, and retries of injected 5xx.

use std::collections::BTreeSet;
use std::sync::Arc;

use ado_ingest::ado::{ApiVersion, ClientOptions, OrgClient, PatCredential};
use ado_ingest::config::Secret;
use ado_sim::{self as sim, ActivitySpec, OrgSpec, RestFaults, SimConfig};

fn client(name: &str, base: &str, pat: &str) -> OrgClient {
    let credential = Arc::new(PatCredential::new(&Secret::new(pat)).unwrap());
    let options = ClientOptions {
        backoff_base: std::time::Duration::from_millis(10),
        ..ClientOptions::default()
    };
    OrgClient::with_credential(name, base, credential, options).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rest_client_negotiates_pages_and_retries_against_the_simulator() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let legacy = OrgSpec {
        api_version: "6.0".into(),
        ..OrgSpec::server("Legacy")
    };
    let config = SimConfig {
        seed: 8,
        orgs: vec![OrgSpec::services("contoso"), legacy],
        ..SimConfig::default()
    };
    let sim = sim::start(config, listener).await.unwrap();
    sim.generate(&ActivitySpec {
        org: Some("contoso".into()),
        ..ActivitySpec::new(800)
    })
    .unwrap();
    let services = sim.org("contoso").unwrap();
    let server = sim.org("Legacy").unwrap();

    let c = client("contoso", &services.base_url, &sim.pat());
    let connection = c.connect().await.unwrap();
    assert_eq!(connection.collection_id, services.collection_id);
    assert!(connection.api_version >= ApiVersion::new(7, 1));
    let s = client("legacy", &server.base_url, &sim.pat());
    assert_eq!(
        s.connect().await.unwrap().api_version,
        ApiVersion::new(6, 0),
        "negotiated down from the 400"
    );
    assert!(
        client("contoso", &services.base_url, "wrong")
            .connect()
            .await
            .is_err()
    );

    // Builds page by continuation token through the client.
    let project = &services.projects[0].0;
    let mut ids = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut path = format!("{project}/_apis/build/builds?$top=5&queryOrder=queueTimeAscending");
        if let Some(t) = &token {
            path.push_str(&format!("&continuationToken={t}"));
        }
        let page = c.get(&path).await.unwrap();
        ids.extend(
            page.body["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["id"].as_u64().unwrap()),
        );
        match page.continuation_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    let all = c
        .get(&format!("{project}/_apis/build/builds?$top=5000"))
        .await
        .unwrap();
    let expected: BTreeSet<u64> = all.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids.len(), expected.len());
    assert_eq!(ids.iter().copied().collect::<BTreeSet<_>>(), expected);

    // Injected 503s are retried by the client.
    let before = c.counters().retries;
    sim.set_rest_faults(RestFaults {
        fail_next: 2,
        error_status: 503,
        ..RestFaults::default()
    });
    assert_eq!(c.get("_apis/projects").await.unwrap().status, 200);
    assert!(c.counters().retries >= before + 2);
    sim.shutdown().await;
}
