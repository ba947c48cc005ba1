//! Build and pipeline state: definitions (YAML pipelines and classic builds), builds/runs with
//! their stages and jobs (the timeline), stage approvals, and classic release deployments.

use chrono::{DateTime, Utc};

/// A build definition / pipeline.
#[derive(Debug, Clone)]
pub struct Definition {
    pub id: u64,
    pub name: String,
    pub project: usize,
    pub repo: usize,
    /// YAML pipelines raise the `ms.vss-pipelines.*` events; classic builds only `build.complete`.
    pub yaml: bool,
    pub revision: u64,
    /// Stage names with their job names; the stage with `approval` waits for one.
    pub stages: Vec<StageSpec>,
}

#[derive(Debug, Clone)]
pub struct StageSpec {
    pub name: String,
    pub jobs: Vec<String>,
    pub approval: bool,
}

/// `notStarted | inProgress | completed` (timeline records use `pending` for not started).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    NotStarted,
    InProgress,
    Completed,
}

/// `succeeded | partiallySucceeded | failed | canceled` (`skipped` for jobs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunResult {
    Succeeded,
    PartiallySucceeded,
    Failed,
    Canceled,
    Skipped,
}

impl RunResult {
    pub fn as_str(self) -> &'static str {
        match self {
            RunResult::Succeeded => "succeeded",
            RunResult::PartiallySucceeded => "partiallySucceeded",
            RunResult::Failed => "failed",
            RunResult::Canceled => "canceled",
            RunResult::Skipped => "skipped",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub name: String,
    pub state: RunState,
    pub result: Option<RunResult>,
    pub start: Option<DateTime<Utc>>,
    pub finish: Option<DateTime<Utc>>,
    pub change_id: u64,
    pub worker: String,
}

#[derive(Debug, Clone)]
pub struct Approval {
    /// The approval id: also the id of its `Checkpoint.Approval` timeline record.
    pub id: String,
    /// The stage's `Checkpoint` timeline record, parent of the approval record.
    pub checkpoint_id: String,
    /// `pending | approved | rejected`.
    pub status: &'static str,
    pub approver: usize,
    pub created_on: DateTime<Utc>,
    pub modified_on: DateTime<Utc>,
    pub comment: String,
}

#[derive(Debug, Clone)]
pub struct Stage {
    pub id: String,
    pub name: String,
    pub state: RunState,
    pub result: Option<RunResult>,
    pub start: Option<DateTime<Utc>>,
    pub finish: Option<DateTime<Utc>>,
    pub change_id: u64,
    pub jobs: Vec<Job>,
    pub approval: Option<Approval>,
    /// Whether this stage waits for an approval before running.
    pub needs_approval: bool,
}

/// A build (for YAML pipelines also "the run": runId == buildId).
#[derive(Debug, Clone)]
pub struct Build {
    pub id: u64,
    pub number: String,
    pub definition: usize,
    pub project: usize,
    pub status: RunState,
    pub result: Option<RunResult>,
    pub queue_time: DateTime<Utc>,
    pub start_time: Option<DateTime<Utc>>,
    pub finish_time: Option<DateTime<Utc>>,
    pub source_branch: String,
    pub source_version: String,
    /// `manual | individualCI | pullRequest | schedule`.
    pub reason: &'static str,
    pub requested_for: usize,
    pub last_changed: DateTime<Utc>,
    pub plan_id: String,
    pub timeline_id: String,
    /// Timeline change counter (`changeId`), bumped by every record change.
    pub change_id: u64,
    pub stages: Vec<Stage>,
    pub tags: Vec<String>,
    /// Whether a classic release deploys this build when it completes.
    pub release_after: bool,
}

/// One classic release deployment (environment attempt) with its outcome.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// Deployment id (collection-wide counter shared with releases).
    pub id: u64,
    pub release_id: u64,
    pub release_name: String,
    pub environment_id: u64,
    pub environment_name: String,
    pub definition_id: u64,
    pub definition_name: String,
    pub definition_environment_id: u64,
    pub project: usize,
    pub build: usize,
    pub attempt: u64,
    /// Environment status once completed: `succeeded | rejected | canceled | partiallySucceeded`.
    pub status: &'static str,
    pub owner: usize,
    pub queued_on: DateTime<Utc>,
    pub started_on: DateTime<Utc>,
    /// When it completed (the environment's and the deploy step's last modification).
    pub modified_on: DateTime<Utc>,
}

impl Deployment {
    /// `deploymentStatus` of the REST deployment and the deploy step.
    pub fn deployment_status(&self) -> &'static str {
        match self.status {
            "succeeded" => "succeeded",
            "partiallySucceeded" => "partiallySucceeded",
            "canceled" => "notDeployed",
            _ => "failed",
        }
    }

    /// `operationStatus` once completed.
    pub fn operation_status(&self) -> &'static str {
        match self.status {
            "succeeded" | "partiallySucceeded" => "Approved",
            "canceled" => "Canceled",
            _ => "PhaseFailed",
        }
    }
}

/// The instructions an approval of stage `s` shows its approvers (hook and REST alike).
pub fn approval_instructions(b: &Build, s: &Stage) -> String {
    format!("Approve deployment of {} to {}", b.number, s.name)
}
