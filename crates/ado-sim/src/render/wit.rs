//! Work items in the hook (resourceVersion 1.0) and REST shapes: the work item, an update
//! (field diffs or relation changes) and reporting revision rows.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::{href, identity, identity_string};
use crate::clock::{FAR_FUTURE, ts};
use crate::model::wit::{FieldChange, Relation, Revision, Update};
use crate::model::{Org, WorkItem};

/// Identity-valued fields: `Name <unique>` strings in hooks (rv 1.0), IdentityRef objects in REST.
const IDENTITY_FIELDS: &[&str] = &[
    "System.CreatedBy",
    "System.ChangedBy",
    "System.AssignedTo",
    "System.AuthorizedAs",
];

/// A field value as the 7.x REST API returns it (identity fields as IdentityRef objects).
pub fn rest_field_value(org: &Org, name: &str, v: &Value) -> Value {
    if !IDENTITY_FIELDS.contains(&name) {
        return v.clone();
    }
    let s = v.as_str().unwrap_or_default();
    match org.people.iter().find(|p| identity_string(p) == s) {
        Some(p) => identity(org, p),
        None => v.clone(),
    }
}

pub fn wi_url(org: &Org, id: u64) -> String {
    format!("{}_apis/wit/workItems/{id}", org.base_url)
}

fn project_wi_url(org: &Org, wi: &WorkItem) -> String {
    format!(
        "{}{}/_apis/wit/workItems/{}",
        org.base_url, org.projects[wi.project].id, wi.id
    )
}

pub fn html_url(org: &Org, id: u64) -> String {
    format!(
        "{}web/wi.aspx?pcguid={}&id={id}",
        org.base_url, org.collection_id
    )
}

fn fields_json(fields: &BTreeMap<String, Value>) -> Value {
    Value::Object(fields.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

/// Which work-item event the object is rendered for (their `_links` differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WiEvent {
    Created,
    Deleted,
    Restored,
    Commented,
}

/// The WorkItem resource of workitem.created / deleted / restored / commented (rv 1.0).
pub fn work_item_hook(
    org: &Org,
    wi: &WorkItem,
    event: WiEvent,
    extra_fields: &[(&str, Value)],
) -> Value {
    let url = match event {
        WiEvent::Deleted => format!("{}_apis/wit/recyclebin/{}", org.base_url, wi.id),
        _ => wi_url(org, wi.id),
    };
    let mut fields = wi.fields.clone();
    for (k, v) in extra_fields {
        fields.insert((*k).to_string(), v.clone());
    }
    let mut links = Map::new();
    links.insert("self".into(), href(url.clone()));
    if event != WiEvent::Deleted {
        links.insert(
            "workItemUpdates".into(),
            href(format!("{}/updates", wi_url(org, wi.id))),
        );
        links.insert(
            "workItemRevisions".into(),
            href(format!("{}/revisions", wi_url(org, wi.id))),
        );
    }
    links.insert(
        "workItemType".into(),
        href(format!(
            "{}_apis/wit/{}/workItemTypes/{}",
            org.base_url,
            org.projects[wi.project].id,
            wi.work_item_type().replace(' ', "%20")
        )),
    );
    links.insert(
        "fields".into(),
        href(format!("{}_apis/wit/fields", org.base_url)),
    );
    if event == WiEvent::Restored {
        links.insert("html".into(), href(html_url(org, wi.id)));
        links.insert(
            "workItemHistory".into(),
            href(format!("{}/history", wi_url(org, wi.id))),
        );
    }
    json!({
        "id": wi.id,
        "rev": wi.rev,
        "fields": fields_json(&fields),
        "_links": Value::Object(links),
        "url": url,
    })
}

/// `{oldValue?, newValue?}`; `rest` renders identity values as IdentityRef objects.
fn change_json(org: &Org, name: &str, c: &FieldChange, rest: bool) -> Value {
    let render = |v: &Value| {
        if rest {
            rest_field_value(org, name, v)
        } else {
            v.clone()
        }
    };
    let mut m = Map::new();
    if let Some(o) = &c.old {
        m.insert("oldValue".into(), render(o));
    }
    if let Some(n) = &c.new {
        m.insert("newValue".into(), render(n));
    }
    Value::Object(m)
}

pub fn relation_json(org: &Org, r: &Relation) -> Value {
    let mut attributes = json!({ "isLocked": false });
    if let Some(c) = &r.comment {
        attributes["comment"] = json!(c);
    }
    json!({ "rel": r.rel, "url": wi_url(org, r.target), "attributes": attributes })
}

/// `revisedBy` of an update: the IdentityRef plus the `name` (`Display <unique>`) rv 1.0 adds.
fn revised_by(org: &Org, u: &Update) -> Value {
    let p = &org.people[u.revised_by];
    let mut v = identity(org, p);
    v["name"] = json!(identity_string(p));
    v
}

fn update_common(
    org: &Org,
    wi: &WorkItem,
    u: &Update,
    revised_date: &str,
    rest: bool,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(u.id));
    m.insert("workItemId".into(), json!(wi.id));
    m.insert("rev".into(), json!(u.rev));
    m.insert("revisedBy".into(), revised_by(org, u));
    m.insert("revisedDate".into(), json!(revised_date));
    if !u.fields.is_empty() {
        let fields: Map<String, Value> = u
            .fields
            .iter()
            .map(|(k, c)| (k.clone(), change_json(org, k, c, rest)))
            .collect();
        m.insert("fields".into(), Value::Object(fields));
    }
    if !u.relations_added.is_empty() || !u.relations_removed.is_empty() {
        let mut rel = Map::new();
        if !u.relations_added.is_empty() {
            rel.insert(
                "added".into(),
                u.relations_added
                    .iter()
                    .map(|r| relation_json(org, r))
                    .collect(),
            );
        }
        if !u.relations_removed.is_empty() {
            rel.insert(
                "removed".into(),
                u.relations_removed
                    .iter()
                    .map(|r| relation_json(org, r))
                    .collect(),
            );
        }
        m.insert("relations".into(), Value::Object(rel));
    }
    m
}

/// The workitem.updated resource (rv 1.0) for the work item's latest update.
pub fn update_hook(org: &Org, wi: &WorkItem, u: &Update) -> Value {
    let mut m = update_common(org, wi, u, FAR_FUTURE, false);
    let base = project_wi_url(org, wi);
    m.insert(
        "_links".into(),
        json!({
            "self": href(format!("{base}/updates/{}", u.id)),
            "workItemUpdates": href(format!("{base}/updates")),
            "parent": href(base.clone()),
            "html": href(html_url(org, wi.id)),
        }),
    );
    m.insert("url".into(), json!(format!("{base}/updates/{}", u.id)));
    m.insert(
        "revision".into(),
        json!({
            "id": wi.id,
            "rev": wi.rev,
            "fields": fields_json(&wi.fields),
            "_links": {
                "self": href(format!("{base}/revisions/{}", wi.rev)),
                "workItemRevisions": href(format!("{base}/revisions")),
                "parent": href(base.clone()),
            },
            "url": format!("{base}/revisions/{}", wi.rev),
        }),
    );
    Value::Object(m)
}

/// One item of `GET …/workItems/{id}/updates`.
pub fn update_rest(org: &Org, wi: &WorkItem, u: &Update) -> Value {
    // A field update's revisedDate is when its revision was superseded; a link-only update's is
    // its own time.
    let revised = if u.is_link_only() {
        ts(u.date)
    } else {
        wi.revisions
            .iter()
            .find(|r| r.rev == u.rev + 1)
            .map(|r| ts(r.changed_date))
            .unwrap_or_else(|| FAR_FUTURE.to_string())
    };
    let mut m = update_common(org, wi, u, &revised, true);
    m.insert(
        "url".into(),
        json!(format!("{}/updates/{}", project_wi_url(org, wi), u.id)),
    );
    Value::Object(m)
}

/// A work item in REST responses (`workitemsbatch`, `workitems?ids=`), optionally restricted to
/// some fields.
pub fn work_item_rest(org: &Org, wi: &WorkItem, fields: Option<&[String]>) -> Value {
    work_item_rest_as(org, wi, &wi.fields, wi.rev, fields)
}

/// The item as it was at one of its revisions (`workitems?asOf=`).
pub fn work_item_rest_at(
    org: &Org,
    wi: &WorkItem,
    revision: &Revision,
    fields: Option<&[String]>,
) -> Value {
    work_item_rest_as(org, wi, &revision.fields, revision.rev, fields)
}

fn work_item_rest_as(
    org: &Org,
    wi: &WorkItem,
    values: &BTreeMap<String, Value>,
    rev: u64,
    fields: Option<&[String]>,
) -> Value {
    let mut all = values.clone();
    all.insert("System.Id".into(), json!(wi.id));
    all.insert("System.Rev".into(), json!(rev));
    let selected: Map<String, Value> = match fields {
        Some(names) => names
            .iter()
            .filter_map(|n| all.get(n).map(|v| (n.clone(), rest_field_value(org, n, v))))
            .collect(),
        None => all
            .iter()
            .map(|(k, v)| (k.clone(), rest_field_value(org, k, v)))
            .collect(),
    };
    json!({ "id": wi.id, "rev": rev, "fields": Value::Object(selected), "url": wi_url(org, wi.id) })
}
