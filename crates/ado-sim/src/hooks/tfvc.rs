//! tfvc.checkin: a changeset summary; no project container (a changeset can span projects).

use serde_json::json;

use super::NewEvent;
use crate::clock::ts_secs;
use crate::event::Message;
use crate::model::{Changeset, Org};
use crate::render::identity_basic;

pub fn changeset_url(org: &Org, id: u64) -> String {
    format!("{}_apis/tfvc/changesets/{id}", org.base_url)
}

pub fn checkin(org: &Org, cs: &Changeset) -> NewEvent {
    let project_ids: Vec<String> = cs
        .projects
        .iter()
        .map(|p| org.projects[*p].id.clone())
        .collect();
    let resource = json!({
        "hasMoreChanges": true,
        "teamProjectIds": project_ids,
        "changesetId": cs.id,
        "url": changeset_url(org, cs.id),
        "author": identity_basic(org, &org.people[cs.author]),
        "checkedInBy": identity_basic(org, &org.people[cs.checked_in_by]),
        "createdDate": ts_secs(cs.created_date),
        "comment": cs.comment,
    });
    let who = &org.people[cs.checked_in_by].display_name;
    let web = format!(
        "{}web/cs.aspx?pcguid={}&cs={}",
        org.base_url, org.collection_id, cs.id
    );
    let msg = Message::linked(
        &format!("{who} checked in changeset "),
        &cs.id.to_string(),
        "",
        &web,
    );
    let mut ev = NewEvent::new(
        "tfvc.checkin",
        resource,
        msg,
        format!(
            "changeset {} ({} projects, {} changes)",
            cs.id,
            cs.projects.len(),
            cs.changes.len()
        ),
    )
    .id_part("changesetId", cs.id);
    for p in project_ids {
        ev = ev.fact("projectId", p);
    }
    for c in &cs.changes {
        ev = ev.fact("path", c.path.clone());
    }
    ev
}
