//! `ado.passthrough`: any well-formed envelope whose event type has no dedicated normalizer (or whose
//! resource lacks the fields its identity needs, e.g. "minimal" or "none" resource details).

use serde_json::{Map, Value, json};

use super::cloudevent::EventDraft;
use super::envelope::HookEnvelope;
use super::time::parse_time_or_now;

pub const TYPE: &str = ado_events::PASSTHROUGH;

/// Identity: collection + the Azure DevOps event type and event id. The type is included because
/// the subscription wizard's canned "Test" payloads reuse one event id across event types (the PR
/// comment test carries the PR-updated test id); a real event id names exactly one event anyway.
pub fn draft(env: &HookEnvelope) -> EventDraft {
    let mut data = Map::new();
    data.insert("eventType".into(), json!(env.event_type));
    data.insert("publisherId".into(), json!(env.publisher_id));
    data.insert("resourceVersion".into(), json!(env.resource_version));
    data.insert("adoEventId".into(), json!(env.event_id));
    let project_id = env.containers.project.as_ref().and_then(|p| p.id.clone());
    EventDraft {
        event_type: TYPE,
        identity: vec![env.event_type.clone(), env.event_id.clone()],
        subject: format!("events/{}", env.event_id),
        time: parse_time_or_now(env.created_date.as_deref()),
        project_id,
        project_name: None,
        partition_key: env.event_id.clone(),
        sequence: None,
        data,
    }
}

/// The resource as published under `raw` for a passthrough event.
pub fn raw(env: &HookEnvelope) -> &Value {
    &env.resource
}
