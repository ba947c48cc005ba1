//! The hook receiver end to end: bad input, deduplication, the fixtures through the whole pipeline,
//! start/stop, broker outages, the real binary under SIGKILL/SIGTERM, the command line.

mod bad_input;
mod cli;
mod dedup;
mod fixtures_e2e;
mod lifecycle;
mod outage;
mod store_failure;
mod tenants;
