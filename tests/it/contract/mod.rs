//! The published contract: schemas, the one event catalog, what each fixture normalizes to, the
//! simulator's ground truth agreeing with the normalizer, the metrics list, and the example
//! configuration.

mod catalog;
mod config_example;
pub mod expectations;
mod schemas;
mod sim_truth;
mod telemetry;
