//! Publisher-input filters of subscriptions (`projectId`, `repository`, `branch`, `buildStatus`,
//! `areaPath`, `changedFields`, `path` …) evaluated against the facts an event carries.

use std::collections::BTreeMap;

use super::subscription::SubscriptionRequest;
use crate::event::RaisedEvent;

/// Whether the event passes the subscription's event type and publisher-input filters.
pub(super) fn matches(req: &SubscriptionRequest, ev: &RaisedEvent) -> bool {
    if req.event_type != ev.kind.event_type {
        return false;
    }
    req.publisher_inputs.iter().all(|(name, wanted)| {
        let wanted = wanted.trim();
        if wanted.is_empty() {
            return true;
        }
        let Some(facts) = ev.facts.get(name.as_str()) else {
            // Inputs the simulator does not model (tfsSubscriptionId, hostId, tag …) do not filter.
            return !FILTER_INPUTS.contains(&name.as_str());
        };
        facts.iter().any(|f| input_matches(name, wanted, f))
    })
}

/// Publisher inputs the simulator evaluates (others are ignored rather than matching nothing).
const FILTER_INPUTS: &[&str] = &[
    "projectId",
    "repository",
    "branch",
    "pushedBy",
    "pullrequestCreatedBy",
    "pullrequestReviewersContains",
    "notificationType",
    "mergeResult",
    "commentPattern",
    "buildStatus",
    "definitionName",
    "pipelineId",
    "runStateId",
    "runResultId",
    "stageNameId",
    "stageStateId",
    "stageResultId",
    "jobNameId",
    "jobStateId",
    "jobResultId",
    "path",
    "workItemType",
    "areaPath",
    "changedFields",
    "releaseDefinitionId",
    "releaseEnvironmentId",
    "releaseEnvironmentStatus",
];

fn input_matches(name: &str, wanted: &str, fact: &str) -> bool {
    match name {
        // Path filters match the path and everything under it.
        "path" | "areaPath" => fact
            .to_ascii_lowercase()
            .starts_with(&wanted.to_ascii_lowercase()),
        "changedFields" => wanted
            .split(',')
            .any(|w| w.trim().eq_ignore_ascii_case(fact)),
        "commentPattern" => fact
            .to_ascii_lowercase()
            .contains(&wanted.to_ascii_lowercase()),
        _ => fact.eq_ignore_ascii_case(wanted),
    }
}

pub(super) fn describe(inputs: &BTreeMap<String, String>) -> String {
    let parts: Vec<String> = inputs
        .iter()
        .filter(|(k, v)| !v.is_empty() && k.as_str() != "projectId")
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    if parts.is_empty() {
        "Any".into()
    } else {
        parts.join(", ")
    }
}
