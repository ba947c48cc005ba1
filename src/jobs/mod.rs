//! Manual backfill jobs: requests validated against the configuration, jobs persisted in the
//! store's state, and a runner that executes them through a [`BackfillEngine`] (the reconciler),
//! survives restarts and resumes from the persisted cursors.

pub mod engine;
pub mod record;
pub mod request;
pub mod runner;
#[cfg(test)]
mod tests;

pub use engine::{BackfillEngine, EngineError, EngineProvider, ProgressSink};
pub use record::{JobRecord, JobState, JobView, NAMESPACE};
pub use request::{BackfillRequest, RequestError};
pub use runner::{JobRunner, JobsError, RunnerSettings};
