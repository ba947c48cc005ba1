//! Raw Azure DevOps hook envelopes (or REST objects in the same resource shapes) → [`NormalizedEvent`]:
//! the CloudEvents message, its deterministic id and its routing key.

pub mod cloudevent;
pub mod envelope;
pub mod event;
pub mod identity;
pub mod passthrough;
pub mod time;

pub use envelope::{Containers, EnvelopeError, HookEnvelope, parse_envelope};
pub use event::{NormalizeOptions, NormalizedEvent, Origin};

use cloudevent::{EventDraft, finish, tenant_of};
use serde_json::Value;

/// Normalizes one resource of a known Azure DevOps event type. This is the entry point both the hook
/// receiver and the reconciler use, so a change seen both ways gets the same id and data. Returns
/// `None` when the event type has no dedicated normalizer or the resource lacks identity fields.
pub fn draft_for(event_type: &str, _resource: &Value) -> Option<EventDraft> {
    match event_type {
        _ => None,
    }
}

/// Normalizes one hook delivery; unknown types (and resources too thin to identify) become
/// `ado.passthrough`, so a well-formed envelope is never refused.
pub fn normalize_hook(env: &HookEnvelope, opts: &NormalizeOptions) -> NormalizedEvent {
    let tenant = tenant_of(&env.containers, &env.resource, opts);
    match draft_for(&env.event_type, &env.resource) {
        Some(mut draft) => {
            if draft.project_id.is_none() {
                draft.project_id = env.containers.project.as_ref().and_then(|p| p.id.clone());
            }
            finish(draft, &tenant, &env.resource, opts)
        }
        None => finish(
            passthrough::draft(env),
            &tenant,
            passthrough::raw(env),
            opts,
        ),
    }
}
