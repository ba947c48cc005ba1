//! The `ado-ingest` command line.

fn main() {}
