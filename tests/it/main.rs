//! Integration tests: a real server on port 0 (or the real binary), the real RabbitMQ, the shared
//! fixtures.

mod bad_input;
mod cli;
mod dedup;
mod expectations;
mod fixtures_e2e;
mod harness;
mod lifecycle;
mod outage;
mod process;
mod proxy;
