//! What the integration tests share: the test kit (names, broker, proxy, server, tap, fixtures,
//! eventually) and the helpers of the reconciler and admin tests.

pub mod admin;
pub mod process;
pub mod reconcile;

pub use ado_testkit::*;
