//! Raw Azure DevOps hook envelopes (or REST objects in the same resource shapes) → [`NormalizedEvent`]:
//! the CloudEvents message, its deterministic id and its routing key.
//!
//! One small module per event family turns a `resource` into an [`EventDraft`]; [`draft_for`]
//! dispatches on the Azure DevOps event type, [`normalize_resource`] finishes a draft into the
//! message (the reconciler's entry point), and [`normalize_hook`] adds the `ado.passthrough`
//! fallback for the hook receiver.

pub mod build;
pub mod cloudevent;
pub mod context;
pub mod envelope;
pub mod event;
pub mod extract;
pub mod git_push;
pub mod identity;
pub mod passthrough;
pub mod pipelines;
pub mod pr_comment;
pub mod pull_request;
pub mod release;
pub mod rest_shapes;
pub mod tfvc;
pub mod time;
pub mod workitem;

pub use context::{NotNormalized, ResourceContext};
pub use envelope::{Containers, EnvelopeError, HookEnvelope, parse_envelope};
pub use event::{NormalizeOptions, NormalizedEvent, Origin};

use cloudevent::{EventDraft, finish, tenant_of};
use serde_json::Value;

/// Every normalized `type` ado-ingest publishes (each has `schemas/<type>.schema.json`), from the
/// event catalog.
pub static NORMALIZED_TYPES: std::sync::LazyLock<&'static [&'static str]> =
    std::sync::LazyLock::new(ado_events::normalized_types);

/// The normalized type an Azure DevOps event type maps to (`None`: it becomes `ado.passthrough`).
pub fn normalized_type(ado_event_type: &str) -> Option<&'static str> {
    ado_events::normalized_type(ado_event_type)
}

/// Extracts the normalized fields of one resource of an Azure DevOps event type. Both the hook
/// receiver and the reconciler go through here, so a change seen both ways gets the same id and
/// data. Fails for types without a dedicated normalizer and for resources lacking identity fields.
pub fn draft_for(
    event_type: &str,
    resource: &Value,
    ctx: &ResourceContext<'_>,
) -> Result<EventDraft, NotNormalized> {
    let Some(ty) = normalized_type(event_type) else {
        return Err(NotNormalized::UnknownType(event_type.to_string()));
    };
    match ty {
        git_push::TYPE => git_push::draft(resource, ctx),
        pull_request::CREATED | pull_request::UPDATED | pull_request::MERGE_ATTEMPTED => {
            pull_request::draft(ty, resource, ctx)
        }
        pr_comment::TYPE => pr_comment::draft(resource, ctx),
        build::TYPE => build::draft(resource, ctx),
        pipelines::RUN => pipelines::run_draft(resource, ctx),
        pipelines::STAGE => pipelines::stage_draft(resource, ctx),
        pipelines::JOB => pipelines::job_draft(resource, ctx),
        pipelines::APPROVAL_PENDING | pipelines::APPROVAL_COMPLETED => {
            pipelines::approval_draft(ty, resource, ctx)
        }
        release::STARTED | release::COMPLETED => release::draft(ty, resource, ctx),
        tfvc::TYPE => tfvc::draft(resource, ctx),
        workitem::UPDATED => workitem::update_draft(resource, ctx),
        workitem::CREATED | workitem::DELETED | workitem::RESTORED | workitem::COMMENTED => {
            workitem::item_draft(ty, resource, ctx)
        }
        // A catalog type without a normalizer: a test over the catalog keeps this unreachable.
        _ => Err(NotNormalized::UnknownType(event_type.to_string())),
    }
}

/// Normalizes one resource (a hook's `resource`, or a REST object in the same shape) into the
/// published message. `event_type` is the Azure DevOps event type (`git.push`, `workitem.updated`,
/// …), `containers` the collection/project the resource belongs to, `created_date` the time the
/// change was observed (used only when the resource itself carries no time).
///
/// For the REST path to reproduce a hook's id, `containers.collection.id` must be the collection
/// id the hooks carry (the tenant key is part of every id); `containers.project.id` and the base
/// URLs only shape `source`/`adoproject`. `opts.org_override` sets the routing-key org.
pub fn normalize_resource(
    event_type: &str,
    resource_version: Option<&str>,
    resource: &Value,
    containers: &Containers,
    created_date: Option<&str>,
    opts: &NormalizeOptions,
) -> Result<NormalizedEvent, NotNormalized> {
    let ctx = ResourceContext {
        resource_version,
        containers,
        created_date,
    };
    let mut draft = draft_for(event_type, resource, &ctx)?;
    if draft.project_id.is_none() {
        draft.project_id = ctx.project_id();
    }
    let tenant = tenant_of(containers, resource, opts);
    Ok(finish(draft, &tenant, resource, opts))
}

/// Normalizes one hook delivery; unknown types (and resources too thin to identify) become
/// `ado.passthrough`, so a well-formed envelope is never refused.
pub fn normalize_hook(env: &HookEnvelope, opts: &NormalizeOptions) -> NormalizedEvent {
    let result = normalize_resource(
        &env.event_type,
        env.resource_version.as_deref(),
        &env.resource,
        &env.containers,
        env.created_date.as_deref(),
        opts,
    );
    match result {
        Ok(event) => event,
        Err(why) => {
            if let NotNormalized::TooThin {
                event_type,
                missing,
            } = &why
            {
                tracing::warn!(
                    event_type = %event_type,
                    missing = %missing,
                    ado_event_id = %env.event_id,
                    "resource too thin to normalize; publishing as ado.passthrough"
                );
            } else {
                tracing::debug!(event_type = %env.event_type, "no dedicated normalizer; ado.passthrough");
            }
            let tenant = tenant_of(&env.containers, &env.resource, opts);
            finish(
                passthrough::draft(env),
                &tenant,
                passthrough::raw(env),
                opts,
            )
        }
    }
}

#[cfg(test)]
mod tests;
