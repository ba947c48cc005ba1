//! Integration tests of the Azure DevOps REST client against a local look-alike server: credentials,
//! retries and throttling manners, api-version negotiation on a Server collection, paging headers,
//! the concurrency bound and error mapping.

mod against_sim;
mod api;
mod auth;
mod manners;
mod mock;
mod signin;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ado_ingest::ado::{AdoError, ApiVersion, ClientOptions, Feature, OrgClient};
use ado_ingest::config::{EntraConfig, OrganizationConfig, Secret};
use mock::{Auth, CLIENT_SECRET, INSTANCE_ID, MockAdo, Reply};
use serde_json::{Value, json};

/// Short delays so the suite stays fast.
fn fast() -> ClientOptions {
    ClientOptions {
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(100),
        request_timeout: Duration::from_secs(5),
        slow_down_max: Duration::from_secs(1),
        ..ClientOptions::default()
    }
}

async fn pat_client(mock: MockAdo, options: ClientOptions) -> (Arc<MockAdo>, OrgClient) {
    let prefix = mock.prefix.clone();
    let (mock, root) = mock.start().await;
    let org = OrganizationConfig::with_pat(format!("{root}{prefix}"), "my-pat");
    (mock, OrgClient::new(&org, options).unwrap())
}
