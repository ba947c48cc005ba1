//! What the job runner needs from whatever walks Azure DevOps: a [`BackfillEngine`] per
//! organization (the reconciler, through an adapter), and an [`EngineProvider`] that builds one.

use std::sync::Arc;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::config::OrganizationConfig;
use crate::reconcile::{BackfillSpec, JobProgress, ReconcileError, Reconciler, Reconcilers};

/// Called by an engine after each page whose events are durable in the store, with the whole job's
/// progress so far (per stream: counters and the cursor to resume from). Cheap and non-blocking.
pub type ProgressSink = Arc<dyn Fn(&JobProgress) + Send + Sync>;

/// Why a backfill did not complete.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    /// The cancel token fired; what was done so far is in the last progress reported.
    #[error("cancelled")]
    Cancelled,
    /// The backfill cannot go on (bad credentials, unknown project, store failing, …).
    #[error("{0}")]
    Failed(String),
}

/// Runs one backfill of one organization.
#[async_trait]
pub trait BackfillEngine: Send + Sync {
    /// Walks `spec` from `resume` (each stream continues from its `cursor`, counters continue from
    /// their values; a stream marked `done` is skipped), reporting through `progress` after every
    /// durable page, until every stream is done or `cancel` fires. Returns the final progress; on
    /// cancellation either `Ok` with unfinished streams not `done`, or [`EngineError::Cancelled`].
    async fn backfill(
        &self,
        spec: &BackfillSpec,
        progress: ProgressSink,
        resume: JobProgress,
        cancel: CancellationToken,
    ) -> Result<JobProgress, EngineError>;
}

/// Builds (or hands out a shared) engine for a configured organization.
pub trait EngineProvider: Send + Sync {
    fn engine(&self, org: &OrganizationConfig) -> Result<Arc<dyn BackfillEngine>, EngineError>;

    /// Organizations the provider runs beyond the configured ones (discovered while serving).
    fn organizations(&self) -> Vec<OrganizationConfig> {
        Vec::new()
    }
}

/// Any `Fn(&OrganizationConfig) -> Result<Arc<dyn BackfillEngine>, EngineError>` is a provider.
impl<F> EngineProvider for F
where
    F: Fn(&OrganizationConfig) -> Result<Arc<dyn BackfillEngine>, EngineError> + Send + Sync,
{
    fn engine(&self, org: &OrganizationConfig) -> Result<Arc<dyn BackfillEngine>, EngineError> {
        self(org)
    }
}

/// The reconciler is the production engine.
#[async_trait]
impl BackfillEngine for Reconciler {
    async fn backfill(
        &self,
        spec: &BackfillSpec,
        progress: ProgressSink,
        resume: JobProgress,
        cancel: CancellationToken,
    ) -> Result<JobProgress, EngineError> {
        Reconciler::backfill(
            self,
            spec,
            move |p: &JobProgress| progress(p),
            resume,
            cancel,
        )
        .await
        .map_err(|e| match e {
            ReconcileError::Cancelled => EngineError::Cancelled,
            other => EngineError::Failed(other.to_string()),
        })
    }
}

/// `serve` and the in-process `backfill` command hand out each organization's reconciler.
impl EngineProvider for Reconcilers {
    fn organizations(&self) -> Vec<OrganizationConfig> {
        Reconcilers::organizations(self)
    }

    fn engine(&self, org: &OrganizationConfig) -> Result<Arc<dyn BackfillEngine>, EngineError> {
        self.find(&org.name())
            .map(|r| Arc::new(r.clone()) as Arc<dyn BackfillEngine>)
            .ok_or_else(|| {
                EngineError::Failed(format!(
                    "no reconciler runs for organization {}",
                    org.name()
                ))
            })
    }
}
