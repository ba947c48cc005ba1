//! The reconciler against the simulated Azure DevOps: coverage at every drop rate, paging, limits,
//! replay of failed deliveries, Server collections, windows, subscription repair and sync.

mod coverage;
mod degrade;
mod limits;
mod paging;
mod replay;
mod server;
mod subscriptions;
mod subscriptions_manage;
mod subscriptions_sync;
mod window;
