//! Command-line subcommands whose work is more than a call into one module.

pub mod backfill;
pub mod login;
pub mod store;
pub mod subscriptions;
pub mod tail;
