//! The reconciler: finds every change through the Azure DevOps REST API and sends it through the same
//! normalize + store path as hooks, so what a hook already delivered is a duplicate and only what is
//! missing gets published. Also runs manual backfills.

pub mod spec;

pub use spec::{BackfillSpec, JobProgress, StreamProgress};
