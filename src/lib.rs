//! ado-ingest: Azure DevOps service hooks and REST backfill → a deduplicated CloudEvents stream on
//! RabbitMQ. Receiving (`http`), normalizing (`normalize`), storing (`store`), publishing (`publish`),
//! and reconciling each live in their own module;
//! the simulated Azure DevOps is the `ado-sim` crate and the event catalog the `ado-events` crate.

pub mod ado;
pub mod app;
pub mod cli;
pub mod config;
pub mod demo;
pub mod health;
pub mod http;
pub mod jobs;
pub mod normalize;
pub mod publish;
pub mod reconcile;
pub mod store;
pub mod telemetry;
