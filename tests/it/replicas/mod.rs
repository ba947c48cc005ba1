//! Several replicas on one PostgreSQL database: moving a single node's SQLite store onto it, and
//! (with real `serve` processes) hooks spread over replicas that are killed and restarted,
//! one reconciler per organization and backfills that survive their runner.

mod migrate;
mod processes;
