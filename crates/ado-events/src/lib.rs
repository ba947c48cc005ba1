//! The one event catalog: every Azure DevOps service-hook event type ado-ingest works with — its
//! publisher, the resource versions Azure DevOps offers (the first is the one subscriptions pin),
//! the normalized type it is published as, and whether Azure DevOps Server raises it too.
//!
//! Everything else is derived from it: the normalizer's type mapping ([`normalized_type`]), the
//! list of published types ([`normalized_types`]), `subscriptions sync`, the simulator's
//! subscriptions, and `schemas/catalog.json`, which the schema generator reads (a test fails when
//! that file and this catalog disagree). See `docs/contract.md`.

/// One service-hook event type: who publishes it, its resource versions, what ado-ingest calls it.
#[derive(Debug, Clone, Copy)]
pub struct EventKind {
    pub event_type: &'static str,
    pub publisher_id: &'static str,
    /// Supported resource versions; the first is the one subscriptions pin (and "latest").
    pub resource_versions: &'static [&'static str],
    /// The normalized type ado-ingest publishes it as (`docs/contract.md`).
    pub normalized_type: &'static str,
    /// Raised by Azure DevOps Server too (job events are Services-only).
    pub on_server: bool,
    /// Version of the normalized type's schema (`dataschema` `urn:ado-ingest:schema:{type}:{v}`);
    /// raised when its `data` or identity changes incompatibly (docs/contract.md#versions).
    pub schema_version: u32,
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
        schema_version: 1,
    }
}

/// `k` with a later schema version.
const fn schema(k: EventKind, schema_version: u32) -> EventKind {
    EventKind {
        schema_version,
        ..k
    }
}

/// Every event type ado-ingest subscribes to and normalizes; each maps to its own normalized type.
pub const EVENT_KINDS: &[EventKind] = &[
    kind("git.push", "tfs", &["1.0"], "git.push"),
    kind(
        "git.pullrequest.created",
        "tfs",
        &["1.0"],
        "git.pullrequest.created",
    ),
    // 2: the identity no longer holds mergeStatus, and `data` no longer carries mergeStatus or
    // lastMergeTargetCommit (per merge attempt; see git.pullrequest.merge_attempted).
    schema(
        kind(
            "git.pullrequest.updated",
            "tfs",
            &["1.0"],
            "git.pullrequest.updated",
        ),
        2,
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
        "ms.vss-release.deployment-started-event",
        "rm",
        &["3.0-preview.1"],
        "release.deployment.started",
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

/// What a hook of an event type outside the catalog is published as (its resource unchanged).
pub const PASSTHROUGH: &str = "ado.passthrough";

/// The catalog entry of an Azure DevOps event type.
pub fn event_kind(event_type: &str) -> Option<&'static EventKind> {
    EVENT_KINDS.iter().find(|k| k.event_type == event_type)
}

/// The normalized type an Azure DevOps event type is published as (`None`: outside the catalog,
/// published as [`PASSTHROUGH`]).
pub fn normalized_type(event_type: &str) -> Option<&'static str> {
    event_kind(event_type).map(|k| k.normalized_type)
}

/// Every normalized type ado-ingest publishes, in catalog order, [`PASSTHROUGH`] last; each has a
/// `schemas/<type>.schema.json`.
pub fn normalized_types() -> &'static [&'static str] {
    static TYPES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    TYPES.get_or_init(|| {
        let mut types: Vec<&'static str> = Vec::new();
        for k in EVENT_KINDS {
            if !types.contains(&k.normalized_type) {
                types.push(k.normalized_type);
            }
        }
        types.push(PASSTHROUGH);
        types
    })
}

/// The schema version of a normalized type (1 for [`PASSTHROUGH`] and unknown types).
pub fn schema_version(normalized_type: &str) -> u32 {
    EVENT_KINDS
        .iter()
        .find(|k| k.normalized_type == normalized_type)
        .map_or(1, |k| k.schema_version)
}

/// The catalog as JSON (`schemas/catalog.json`, what `schemas/generate.py` reads).
pub fn catalog_json() -> String {
    let mut out = String::from("[\n");
    for (i, k) in EVENT_KINDS.iter().enumerate() {
        let versions: Vec<String> = k
            .resource_versions
            .iter()
            .map(|v| format!("\"{v}\""))
            .collect();
        out.push_str(&format!(
            "  {{\"eventType\": \"{}\", \"publisherId\": \"{}\", \"resourceVersions\": [{}], \"normalizedType\": \"{}\", \"onServer\": {}, \"schemaVersion\": {}}}{}\n",
            k.event_type,
            k.publisher_id,
            versions.join(", "),
            k.normalized_type,
            k.on_server,
            k.schema_version,
            if i + 1 < EVENT_KINDS.len() { "," } else { "" }
        ));
    }
    out.push_str("]\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_event_type_is_listed_once_and_maps_to_its_own_type() {
        for (i, k) in EVENT_KINDS.iter().enumerate() {
            assert!(!k.resource_versions.is_empty(), "{}", k.event_type);
            for other in &EVENT_KINDS[i + 1..] {
                assert_ne!(k.event_type, other.event_type);
                assert_ne!(k.normalized_type, other.normalized_type);
            }
        }
        assert_eq!(normalized_types().len(), EVENT_KINDS.len() + 1);
        assert_eq!(
            normalized_type("git.pullrequest.merged"),
            Some("git.pullrequest.merge_attempted")
        );
        assert_eq!(normalized_type("git.repo.created"), None);
    }
}
