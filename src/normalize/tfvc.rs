//! `tfvc.checkin` (resource Changeset summary 1.0) → `tfvc.checkin`, identity (changesetId).
//!
//! Changeset ids are collection-wide; a changeset can span several projects (`teamProjectIds`) and
//! the envelope has no project container, so the routing key has a project only when the changeset
//! touches exactly one project whose name is known (never, from this resource: `_`).
//! REST counterpart: `GET {org}/_apis/tfvc/changesets/{id}` (no `teamProjectIds`; see report).

use serde_json::{Value, json};

use super::cloudevent::EventDraft;
use super::context::{NotNormalized, ResourceContext, need};
use super::extract::{ZERO_GUID, id_at, obj, person_at, str_val, time_at, time_val};

pub const TYPE: &str = "tfvc.checkin";

pub fn draft(resource: &Value, ctx: &ResourceContext<'_>) -> Result<EventDraft, NotNormalized> {
    let id = need(id_at(resource, &["changesetId"]), TYPE, "changesetId")?;
    let mut projects: Vec<String> = resource
        .get("teamProjectIds")
        .and_then(Value::as_array)
        .map(|ids| {
            ids.iter()
                .filter_map(Value::as_str)
                .filter(|s| !s.is_empty() && !s.eq_ignore_ascii_case(ZERO_GUID))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    projects.sort();
    projects.dedup();
    let data = obj([
        ("changesetId", json!(id)),
        ("author", person_at(resource, &["author"])),
        ("checkedInBy", person_at(resource, &["checkedInBy"])),
        ("createdDate", time_val(resource, &["createdDate"])),
        ("comment", str_val(resource, &["comment"])),
        ("teamProjectIds", json!(projects)),
        ("url", str_val(resource, &["url"])),
    ]);
    Ok(EventDraft {
        event_type: TYPE,
        identity: vec![id.to_string()],
        subject: format!("changesets/{id}"),
        time: ctx.time_of(&[time_at(resource, &["createdDate"])]),
        project_id: (projects.len() == 1).then(|| projects[0].clone()),
        project_name: None,
        partition_key: format!("changesets/{id}"),
        sequence: Some(id),
        data,
    })
}
