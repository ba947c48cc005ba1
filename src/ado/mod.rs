//! Azure DevOps REST access for the reconciler and backfill: credentials (PAT, Entra ID client
//! credentials), a per-organization client with bounded concurrency, retries and rate-limit manners,
//! and api-version negotiation so Services and every Server release work from one code path.

mod attempt;
mod client;
mod credential;
mod error;
pub use ado_events as events;
mod options;
pub mod release_host;
pub mod signin;
mod throttle;
mod version;

pub use client::OrgClient;
pub use credential::{Credential, CredentialError, EntraCredential, PatCredential, credential_for};
pub use error::AdoError;
pub use options::{ClientOptions, RestResponse};
pub use throttle::ClientCounters;
pub use version::{ApiVersion, Connection, Feature};
