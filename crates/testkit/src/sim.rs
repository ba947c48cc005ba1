//! Simulated Azure DevOps organizations on port 0 with test-speed delivery timings.

use std::time::Duration;

use ado_sim::{OrgSpec, SimConfig, Simulator};

/// Starts a simulator on `127.0.0.1:0`.
pub async fn start_sim(config: SimConfig) -> Simulator {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ado_sim::start(config, listener).await.unwrap()
}

/// One Services organization with delivery delays shrunk 2,000 times and a 5 s hook timeout.
pub fn fast_sim(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        time_scale: 0.0005,
        request_timeout: Duration::from_secs(5),
        ..SimConfig::default()
    }
}

/// A Services organization (`contoso`) and a Server collection (`DefaultCollection`).
pub fn services_and_server(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        time_scale: 0.001,
        orgs: vec![
            OrgSpec::services("contoso"),
            OrgSpec::server("DefaultCollection"),
        ],
        ..SimConfig::default()
    }
}
