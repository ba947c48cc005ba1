//! ado-ingest's integration tests, one binary: a real server on port 0 (or the real binary), the
//! real RabbitMQ, the simulated Azure DevOps and the shared fixtures. One module per area.

mod admin;
mod ado_client;
mod contract;
mod demo;
mod publish;
mod receive;
mod reconcile;
mod replicas;
mod store;
mod support;
