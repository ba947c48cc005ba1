//! The test kit: what every integration test of ado-ingest and ado-sim needs, once — unique names,
//! the broker URL from the environment, topology clean-up that also runs when a test panics, one
//! fault-injecting TCP proxy, fixtures, HTTP helpers, `eventually()`, and (feature `service`) one
//! in-process `TestServer` on port 0 with a tap on its exchange.

pub mod broker;
pub mod eventually;
pub mod fixtures;
pub mod http;
pub mod names;
pub mod postgres;
pub mod proxy;
pub mod receiver;
#[cfg(feature = "service")]
pub mod server;
#[cfg(feature = "sim")]
pub mod sim;
#[cfg(feature = "service")]
pub mod tap;

pub use broker::{amqp_url, broker_addr};
pub use eventually::{eventually, wait_until};
pub use fixtures::{fixtures_dir, hook_samples};
pub use http::{PASSWORD, USER, basic_auth, get_json, post_hook, post_json, wait_ready};
pub use names::unique;
pub use postgres::TestDatabase;
pub use proxy::Proxy;
#[cfg(feature = "service")]
pub use server::{ServerOptions, TestServer, Topology};
#[cfg(feature = "service")]
pub use tap::{Received, Tap};
