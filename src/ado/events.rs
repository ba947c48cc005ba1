//! The service-hook event types ado-ingest works with (SPEC §2): publisher, the resource versions
//! Azure DevOps offers (the first is the one subscriptions pin), the normalized type, and whether
//! Azure DevOps Server raises it too. `subscriptions sync` subscribes to each; the simulator
//! raises each.

/// One service-hook event type: who publishes it, its resource versions, what ado-ingest calls it.
#[derive(Debug, Clone, Copy)]
pub struct EventKind {
    pub event_type: &'static str,
    pub publisher_id: &'static str,
    /// Supported resource versions; the first is the one SPEC §2 pins (and "latest").
    pub resource_versions: &'static [&'static str],
    /// The normalized type ado-ingest publishes it as (SPEC §2).
    pub normalized_type: &'static str,
    /// Raised by Azure DevOps Server too (job events are Services-only).
    pub on_server: bool,
}

const fn kind(
    event_type: &'static str,
    publisher_id: &'static str,
    resource_versions: &'static [&'static str],
    normalized_type: &'static str,
) -> EventKind {
    EventKind {
        event_type,
        publisher_id,
        resource_versions,
        normalized_type,
        on_server: true,
    }
}

/// Every event type ado-ingest subscribes to and normalizes (SPEC §2); the simulator raises them all.
pub const EVENT_KINDS: &[EventKind] = &[
    kind("git.push", "tfs", &["1.0"], "git.push"),
    kind(
        "git.pullrequest.created",
        "tfs",
        &["1.0"],
        "git.pullrequest.created",
    ),
    kind(
        "git.pullrequest.updated",
        "tfs",
        &["1.0"],
        "git.pullrequest.updated",
    ),
    kind(
        "git.pullrequest.merged",
        "tfs",
        &["1.0"],
        "git.pullrequest.merge_attempted",
    ),
    kind(
        "ms.vss-code.git-pullrequest-comment-event",
        "tfs",
        &["2.0", "1.0"],
        "git.pullrequest.commented",
    ),
    kind("build.complete", "tfs", &["2.0", "1.0"], "build.completed"),
    kind(
        "ms.vss-pipelines.run-state-changed-event",
        "pipelines",
        &["5.1-preview.1"],
        "pipeline.run.state_changed",
    ),
    kind(
        "ms.vss-pipelines.stage-state-changed-event",
        "pipelines",
        &["5.1-preview.1"],
        "pipeline.stage.state_changed",
    ),
    EventKind {
        on_server: false,
        ..kind(
            "ms.vss-pipelines.job-state-changed-event",
            "pipelines",
            &["5.1-preview.1"],
            "pipeline.job.state_changed",
        )
    },
    kind(
        "ms.vss-pipelinechecks-events.approval-pending",
        "pipelines",
        &["5.1-preview.1"],
        "pipeline.approval.pending",
    ),
    kind(
        "ms.vss-pipelinechecks-events.approval-completed",
        "pipelines",
        &["5.1-preview.1"],
        "pipeline.approval.completed",
    ),
    kind(
        "ms.vss-release.deployment-completed-event",
        "rm",
        &["3.0-preview.1"],
        "release.deployment.completed",
    ),
    kind("tfvc.checkin", "tfs", &["1.0"], "tfvc.checkin"),
    kind("workitem.created", "tfs", &["1.0"], "workitem.created"),
    kind("workitem.updated", "tfs", &["1.0"], "workitem.updated"),
    kind("workitem.deleted", "tfs", &["1.0"], "workitem.deleted"),
    kind("workitem.restored", "tfs", &["1.0"], "workitem.restored"),
    kind("workitem.commented", "tfs", &["1.0"], "workitem.commented"),
];

pub fn event_kind(event_type: &str) -> Option<&'static EventKind> {
    EVENT_KINDS.iter().find(|k| k.event_type == event_type)
}
