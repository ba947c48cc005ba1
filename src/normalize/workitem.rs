//! `workitem.created` / `.updated` / `.deleted` / `.restored` / `.commented` (resourceVersion 1.0)
//! → the same normalized names, identity (work item id, rev); link-only updates add their
//! relation changes.
//!
//! created/deleted/restored/commented carry a WorkItem `{id, rev, fields}`; updated carries a
//! WorkItemUpdate `{id: UPDATE number, workItemId, rev, revisedBy, revisedDate, fields: {ref:
//! {oldValue, newValue}}, relations?, revision: WorkItem}`. Identities in 1.0 fields are strings
//! `"Name <unique>"`. REST counterparts: a reporting work-item revision row `{id, rev, fields}`
//! is a WorkItem; an update is `…/workitems/{id}/updates/{n}` (+ the revision row as `revision`),
//! or two consecutive revision rows diffed into `fields{oldValue,newValue}`.

use serde_json::{Map, Value, json};

use super::cloudevent::EventDraft;
use super::context::{NotNormalized, ResourceContext, need};
use super::extract::{
    as_int, at, canonical_time, id_at, int_val, obj, person_without_id, str_at, str_val, time_at,
    time_val,
};

pub const CREATED: &str = "workitem.created";
pub const UPDATED: &str = "workitem.updated";
pub const DELETED: &str = "workitem.deleted";
pub const RESTORED: &str = "workitem.restored";
pub const COMMENTED: &str = "workitem.commented";

/// Identity-valued fields: normalized to people (strings in 1.0, IdentityRef objects in 7.x REST).
const IDENTITY_FIELDS: &[&str] = &[
    "System.AssignedTo",
    "System.CreatedBy",
    "System.ChangedBy",
    "Microsoft.VSTS.Common.ActivatedBy",
    "Microsoft.VSTS.Common.ResolvedBy",
    "Microsoft.VSTS.Common.ClosedBy",
];

/// The fields whose old/new values are published under `changes`. A fixed list (rather than
/// "whatever changed") so the reconciler can request exactly these from the reporting API and
/// reproduce the same `changes` by diffing consecutive revisions.
pub const TRACKED_FIELDS: &[&str] = &[
    "System.State",
    "System.Reason",
    "System.AssignedTo",
    "System.Title",
    "System.WorkItemType",
    "System.AreaPath",
    "System.IterationPath",
    "System.TeamProject",
    "System.Tags",
    "System.Parent",
    "System.BoardColumn",
    "System.BoardColumnDone",
    "System.BoardLane",
    "Microsoft.VSTS.Common.Priority",
    "Microsoft.VSTS.Common.Severity",
    "Microsoft.VSTS.Common.StateChangeDate",
    "Microsoft.VSTS.Common.ActivatedDate",
    "Microsoft.VSTS.Common.ActivatedBy",
    "Microsoft.VSTS.Common.ResolvedDate",
    "Microsoft.VSTS.Common.ResolvedBy",
    "Microsoft.VSTS.Common.ClosedDate",
    "Microsoft.VSTS.Common.ClosedBy",
    "Microsoft.VSTS.Scheduling.StoryPoints",
    "Microsoft.VSTS.Scheduling.Effort",
    "Microsoft.VSTS.Scheduling.OriginalEstimate",
    "Microsoft.VSTS.Scheduling.RemainingWork",
    "Microsoft.VSTS.Scheduling.CompletedWork",
];

/// A field value as published: people for identity fields, canonical timestamps for dates,
/// anything else as sent (strings, numbers).
fn field_value(name: &str, v: Option<&Value>) -> Value {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Value::Null;
    };
    if IDENTITY_FIELDS.contains(&name) {
        return person_without_id(v).unwrap_or(Value::Null);
    }
    if name.ends_with("Date")
        && let Some(t) = v.as_str().and_then(canonical_time)
    {
        return Value::String(t);
    }
    v.clone()
}

/// The work item as of this revision: the fields a metrics consumer reads, typed (strings,
/// people, canonical timestamps; `null` when absent or of another type).
fn snapshot(id: i64, rev: i64, fields: &Value) -> Map<String, Value> {
    let s = |name: &str| str_val(fields, &[name]);
    let p = |name: &str| {
        fields
            .get(name)
            .and_then(person_without_id)
            .unwrap_or(Value::Null)
    };
    let t = |name: &str| time_val(fields, &[name]);
    obj([
        ("workItemId", json!(id)),
        ("rev", json!(rev)),
        ("workItemType", s("System.WorkItemType")),
        ("title", s("System.Title")),
        ("state", s("System.State")),
        ("reason", s("System.Reason")),
        ("areaPath", s("System.AreaPath")),
        ("iterationPath", s("System.IterationPath")),
        ("teamProject", s("System.TeamProject")),
        ("tags", s("System.Tags")),
        ("assignedTo", p("System.AssignedTo")),
        ("createdBy", p("System.CreatedBy")),
        ("createdDate", t("System.CreatedDate")),
        ("changedBy", p("System.ChangedBy")),
        ("changedDate", t("System.ChangedDate")),
    ])
}

fn project_name(fields: &Value) -> Option<String> {
    str_at(fields, &["System.TeamProject"]).map(str::to_string)
}

fn draft_of(
    event_type: &'static str,
    id: i64,
    rev: i64,
    identity_extra: Option<String>,
    fields: &Value,
    time: chrono::DateTime<chrono::Utc>,
    data: Map<String, Value>,
) -> EventDraft {
    let mut identity = vec![id.to_string(), rev.to_string()];
    identity.extend(identity_extra);
    EventDraft {
        event_type,
        identity,
        subject: format!("workitems/{id}"),
        time,
        project_id: None,
        project_name: project_name(fields),
        partition_key: format!("workitems/{id}"),
        sequence: Some(rev),
        data,
    }
}

/// created / deleted / restored / commented: a WorkItem `{id, rev, fields}`.
pub fn item_draft(
    event_type: &'static str,
    resource: &Value,
    ctx: &ResourceContext<'_>,
) -> Result<EventDraft, NotNormalized> {
    let id = need(id_at(resource, &["id"]), event_type, "id")?;
    let fields = resource
        .get("fields")
        .filter(|f| f.is_object())
        .unwrap_or(&Value::Null);
    let rev = need(
        id_at(resource, &["rev"]).or_else(|| at(fields, &["System.Rev"]).and_then(as_int)),
        event_type,
        "rev",
    )?;
    let mut data = snapshot(id, rev, fields);
    let changed = time_at(fields, &["System.ChangedDate"]);
    let time = match event_type {
        // A deletion/restore is not a field change: ChangedDate is the last edit before it, the
        // event's own time is when it happened (REST: the recycle bin's deletedDate).
        DELETED | RESTORED => ctx.time_of(&[ctx.created(), changed]),
        _ => ctx.time_of(&[changed]),
    };
    if event_type == COMMENTED {
        data.insert("comment".into(), str_val(fields, &["System.History"]));
        data.insert(
            "commentCount".into(),
            int_val(fields, &["System.CommentCount"]),
        );
    }
    Ok(draft_of(event_type, id, rev, None, fields, time, data))
}

/// `{field: {oldValue, newValue}}` for the tracked fields that changed.
fn changes(update_fields: &Value) -> Map<String, Value> {
    let Some(map) = update_fields.as_object() else {
        return Map::new();
    };
    TRACKED_FIELDS
        .iter()
        .filter_map(|name| {
            let change = map.get(*name)?.as_object()?;
            let old = field_value(name, change.get("oldValue"));
            let new = field_value(name, change.get("newValue"));
            (old != new).then(|| (name.to_string(), json!({"oldValue": old, "newValue": new})))
        })
        .collect()
}

/// One relation as published: its type and, for a link to another work item, that item's id (its
/// URL differs between hooks and REST by host spelling); other relations (attachments,
/// hyperlinks, artifacts) keep their URL.
fn relation(r: &Value) -> Value {
    let url = str_at(r, &["url"]);
    let work_item = url.and_then(linked_work_item);
    json!({
        "rel": str_at(r, &["rel"]),
        "workItemId": work_item,
        "url": if work_item.is_some() { None } else { url },
    })
}

/// The id in a work item URL (`…/_apis/wit/workItems/{id}`).
pub fn linked_work_item(url: &str) -> Option<i64> {
    let (head, id) = url.trim_end_matches('/').rsplit_once('/')?;
    head.to_ascii_lowercase()
        .ends_with("/_apis/wit/workitems")
        .then(|| id.parse().ok())
        .flatten()
}

fn relation_list(relations: &Value, kind: &str) -> Vec<Value> {
    relations
        .get(kind)
        .and_then(Value::as_array)
        .map(|l| l.iter().filter(|r| r.is_object()).map(relation).collect())
        .unwrap_or_default()
}

/// What a link-only update changed, as its identity: the sorted relation changes. Its update
/// number would be simpler, but REST reveals link changes only through the links report, which
/// has no update numbers; the change set is known to both paths.
fn link_change_set(added: &[Value], removed: &[Value], updated: &[Value]) -> String {
    let mut parts: Vec<String> = [("+", added), ("-", removed), ("~", updated)]
        .iter()
        .flat_map(|(sign, list)| {
            list.iter().map(move |r| {
                let target = match r["workItemId"].as_i64() {
                    Some(id) => id.to_string(),
                    None => r["url"].as_str().unwrap_or_default().to_string(),
                };
                format!("{sign}{}>{target}", r["rel"].as_str().unwrap_or_default())
            })
        })
        .collect();
    parts.sort_unstable();
    parts.join(",")
}

/// updated: a WorkItemUpdate.
pub fn update_draft(
    resource: &Value,
    ctx: &ResourceContext<'_>,
) -> Result<EventDraft, NotNormalized> {
    let revision = resource
        .get("revision")
        .filter(|r| r.is_object())
        .unwrap_or(&Value::Null);
    // The canned test notification has workItemId 0; the item id is then only in `revision.id`.
    let id = need(
        id_at(resource, &["workItemId"]).or_else(|| id_at(revision, &["id"])),
        UPDATED,
        "workItemId",
    )?;
    let update_fields = resource.get("fields").unwrap_or(&Value::Null);
    let rev = need(
        id_at(resource, &["rev"])
            .or_else(|| at(update_fields, &["System.Rev", "newValue"]).and_then(as_int))
            .or_else(|| id_at(revision, &["rev"])),
        UPDATED,
        "rev",
    )?;
    // An update that changes no fields (links only) keeps the rev: what it changed tells it apart.
    let link_only = update_fields.get("System.Rev").is_none();
    let relations = resource
        .get("relations")
        .filter(|r| r.is_object())
        .unwrap_or(&Value::Null);
    let (added, removed, updated) = (
        relation_list(relations, "added"),
        relation_list(relations, "removed"),
        relation_list(relations, "updated"),
    );
    let extra = if link_only {
        let set = link_change_set(&added, &removed, &updated);
        if set.is_empty() {
            // No relation listed (a thin payload): the update number is all there is.
            let update = need(
                id_at(resource, &["id"]),
                UPDATED,
                "id of a link-only update",
            )?;
            Some(format!("update {update}"))
        } else {
            Some(set)
        }
    } else {
        None
    };
    let snapshot_fields = revision
        .get("fields")
        .filter(|f| f.is_object())
        .unwrap_or(&Value::Null);
    let mut data = snapshot(id, rev, snapshot_fields);
    data.insert("linkOnly".into(), json!(link_only));
    data.insert("changes".into(), Value::Object(changes(update_fields)));
    data.insert(
        "relations".into(),
        json!({"added": added, "removed": removed, "updated": updated}),
    );
    let time = if link_only {
        ctx.time_of(&[time_at(resource, &["revisedDate"]), ctx.created()])
    } else {
        ctx.time_of(&[
            at(update_fields, &["System.ChangedDate", "newValue"])
                .and_then(Value::as_str)
                .and_then(canonical_time),
            time_at(snapshot_fields, &["System.ChangedDate"]),
        ])
    };
    Ok(draft_of(
        UPDATED,
        id,
        rev,
        extra,
        snapshot_fields,
        time,
        data,
    ))
}
