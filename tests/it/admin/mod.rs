//! The admin API and backfill jobs: routes, the `backfill` command, the job runner, and a backfill
//! against the simulator end to end.

mod api;
mod cli;
mod discovery;
mod jobs;
mod sim;
