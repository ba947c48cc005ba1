//! workitem.created / updated / deleted / restored / commented (resourceVersion 1.0).

use serde_json::Value;

use super::NewEvent;
use crate::event::Message;
use crate::model::{Org, WorkItem};
use crate::render::wit::{WiEvent, html_url, update_hook, work_item_hook};

fn base(
    org: &Org,
    wi: &WorkItem,
    event_type: &'static str,
    resource: Value,
    verb: &str,
    actor: usize,
) -> NewEvent {
    let project = &org.projects[wi.project];
    let title = wi.field_str("System.Title");
    let who = &org.people[actor].display_name;
    let label = format!("{} #{}", wi.work_item_type(), wi.id);
    let msg = Message::linked(
        "",
        &label,
        &format!(" ({title}) {verb} by {who}"),
        &html_url(org, wi.id),
    );
    NewEvent::new(
        event_type,
        resource,
        msg,
        format!("{label} {verb} (rev {})", wi.rev),
    )
    .project(wi.project, &project.id)
    .fact("workItemType", wi.work_item_type())
    .fact("areaPath", wi.field_str("System.AreaPath"))
    .id_part("workItemId", wi.id)
    .id_part("rev", wi.rev)
}

pub fn created(org: &Org, wi: &WorkItem, actor: usize) -> NewEvent {
    base(
        org,
        wi,
        "workitem.created",
        work_item_hook(org, wi, WiEvent::Created, &[]),
        "created",
        actor,
    )
}

/// For the work item's latest update (a save or a link-only change).
pub fn updated(org: &Org, wi: &WorkItem) -> Option<NewEvent> {
    let u = wi.updates.last()?;
    let mut ev = base(
        org,
        wi,
        "workitem.updated",
        update_hook(org, wi, u),
        "updated",
        u.revised_by,
    );
    for name in u.fields.keys() {
        ev = ev.fact("changedFields", name.clone());
    }
    if u.is_link_only() {
        ev = ev.id_part("updateId", u.id);
        ev.summary = format!("{} (links, update {})", ev.summary, u.id);
    }
    Some(ev)
}

pub fn deleted(org: &Org, wi: &WorkItem, actor: usize) -> NewEvent {
    base(
        org,
        wi,
        "workitem.deleted",
        work_item_hook(org, wi, WiEvent::Deleted, &[]),
        "deleted",
        actor,
    )
    .id_part("kind", "deleted")
}

pub fn restored(org: &Org, wi: &WorkItem, actor: usize) -> NewEvent {
    base(
        org,
        wi,
        "workitem.restored",
        work_item_hook(org, wi, WiEvent::Restored, &[]),
        "restored",
        actor,
    )
    .id_part("kind", "restored")
}

/// For the comment just added (the latest revision carries it in `System.History`).
pub fn commented(org: &Org, wi: &WorkItem, text: &str, actor: usize) -> NewEvent {
    let resource = work_item_hook(
        org,
        wi,
        WiEvent::Commented,
        &[("System.History", Value::String(text.to_string()))],
    );
    base(
        org,
        wi,
        "workitem.commented",
        resource,
        "commented on",
        actor,
    )
    .fact("commentPattern", text)
}
