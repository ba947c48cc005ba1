//! Work item revisions: creating an item (rev 1) and saving changes as a new revision with the
//! bookkeeping fields every save changes (Rev, AuthorizedDate, RevisedDate, ChangedDate, Watermark).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::Gen;
use crate::clock::{FAR_FUTURE, ts};
use crate::hooks;
use crate::model::WorkItem;
use crate::model::wit::{FieldChange, Revision, Update};
use crate::render::identity_string;

const TYPES: &[&str] = &["Bug", "User Story", "Task"];
pub(super) const TITLES: &[&str] = &[
    "Checkout fails for guest users",
    "Add export to CSV",
    "Slow search on large projects",
    "Login page layout broken on mobile",
    "Support SSO with Entra ID",
    "Crash when the cache is empty",
];

/// Saves `changes` as a new revision (rev + 1, watermark + 1) with the bookkeeping fields every
/// save changes, and records the update.
pub(super) fn save(g: &mut Gen<'_>, wi: usize, actor: usize, mut changes: BTreeMap<String, Value>) {
    let now = g.later();
    g.org.watermark += 1;
    let watermark = g.org.watermark;
    let who = identity_string(&g.org.people[actor]);
    let item = &mut g.org.work_items[wi];
    let old_changed = item.fields.get("System.ChangedDate").cloned();
    changes.insert("System.ChangedDate".into(), json!(ts(now)));
    changes.insert("System.ChangedBy".into(), json!(who));
    if changes.contains_key("System.State") {
        changes.insert(
            "Microsoft.VSTS.Common.StateChangeDate".into(),
            json!(ts(now)),
        );
        let column = changes["System.State"].clone();
        changes.insert(
            g.org.projects[item.project].board_field.clone(),
            column.clone(),
        );
        changes.insert("System.BoardColumn".into(), column);
    }
    let mut diff = BTreeMap::new();
    for (k, v) in &changes {
        let old = item.fields.get(k).cloned();
        if old.as_ref() != Some(v) {
            diff.insert(
                k.clone(),
                FieldChange {
                    old,
                    new: Some(v.clone()),
                },
            );
        }
    }
    let old_rev = item.rev;
    let old_watermark = item.latest_watermark();
    diff.insert(
        "System.Rev".into(),
        FieldChange {
            old: Some(json!(old_rev)),
            new: Some(json!(old_rev + 1)),
        },
    );
    diff.insert(
        "System.AuthorizedDate".into(),
        FieldChange {
            old: old_changed.clone(),
            new: Some(json!(ts(now))),
        },
    );
    diff.insert(
        "System.RevisedDate".into(),
        FieldChange {
            old: Some(json!(ts(now))),
            new: Some(json!(FAR_FUTURE)),
        },
    );
    diff.insert(
        "System.ChangedDate".into(),
        FieldChange {
            old: old_changed,
            new: Some(json!(ts(now))),
        },
    );
    diff.insert(
        "System.Watermark".into(),
        FieldChange {
            old: Some(json!(old_watermark)),
            new: Some(json!(watermark)),
        },
    );
    // System.History is per revision, not a lasting field value.
    item.fields.remove("System.History");
    for (k, v) in changes {
        item.fields.insert(k, v);
    }
    item.rev += 1;
    item.revisions.push(Revision {
        rev: item.rev,
        watermark,
        changed_date: now,
        fields: item.fields.clone(),
        deleted: false,
    });
    let update_id = item.updates.len() as u64 + 1;
    item.updates.push(Update {
        id: update_id,
        rev: item.rev,
        revised_by: actor,
        date: now,
        fields: diff,
        relations_added: Vec::new(),
        relations_removed: Vec::new(),
    });
}

pub(super) fn create(g: &mut Gen<'_>) -> &'static str {
    let project = g.rng.index(g.org.projects.len());
    let wi_type = *g.rng.pick(TYPES);
    let actor = g.person();
    let now = g.later();
    let p = &g.org.projects[project];
    let who = identity_string(&g.org.people[actor]);
    let mut fields: BTreeMap<String, Value> = BTreeMap::new();
    fields.insert("System.AreaPath".into(), json!(p.name));
    fields.insert("System.TeamProject".into(), json!(p.name));
    fields.insert(
        "System.IterationPath".into(),
        json!(format!("{}\\Sprint {}", p.iteration, g.rng.between(1, 12))),
    );
    fields.insert("System.WorkItemType".into(), json!(wi_type));
    fields.insert("System.State".into(), json!("New"));
    fields.insert(
        "System.Reason".into(),
        json!(if wi_type == "Bug" {
            "New defect reported"
        } else {
            "New"
        }),
    );
    fields.insert("System.CreatedDate".into(), json!(ts(now)));
    fields.insert("System.CreatedBy".into(), json!(who.clone()));
    fields.insert("System.ChangedDate".into(), json!(ts(now)));
    fields.insert("System.ChangedBy".into(), json!(who));
    fields.insert("System.CommentCount".into(), json!(0));
    fields.insert("System.Title".into(), json!(g.rng.pick(TITLES)));
    fields.insert(
        "Microsoft.VSTS.Common.StateChangeDate".into(),
        json!(ts(now)),
    );
    fields.insert(
        "Microsoft.VSTS.Common.Priority".into(),
        json!(g.rng.between(1, 4)),
    );
    fields.insert("Microsoft.VSTS.Common.ValueArea".into(), json!("Business"));
    let assignee = g.rng.index(g.org.people.len());
    fields.insert(
        "System.AssignedTo".into(),
        json!(identity_string(&g.org.people[assignee])),
    );
    if wi_type == "Bug" {
        fields.insert("Microsoft.VSTS.Common.Severity".into(), json!("3 - Medium"));
        fields.insert(
            "Microsoft.VSTS.TCM.ReproSteps".into(),
            json!("<div>Open the page, click Save.</div>"),
        );
        fields.insert(
            "Microsoft.VSTS.TCM.SystemInfo".into(),
            json!("<div>Edge 120, Windows 11</div>"),
        );
        fields.insert(
            "Microsoft.VSTS.Common.AcceptanceCriteria".into(),
            json!("<div>Guests can save.</div>"),
        );
    }
    fields.insert(p.board_field.clone(), json!("New"));
    fields.insert("System.BoardColumn".into(), json!("New"));
    g.org.watermark += 1;
    let id = g.org.next_work_item_id;
    g.org.next_work_item_id += 1;
    let diff = fields
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                FieldChange {
                    old: None,
                    new: Some(v.clone()),
                },
            )
        })
        .chain([(
            "System.Rev".to_string(),
            FieldChange {
                old: None,
                new: Some(json!(1)),
            },
        )])
        .collect();
    let wi = WorkItem {
        id,
        project,
        rev: 1,
        revisions: vec![Revision {
            rev: 1,
            watermark: g.org.watermark,
            changed_date: now,
            fields: fields.clone(),
            deleted: false,
        }],
        updates: vec![Update {
            id: 1,
            rev: 1,
            revised_by: actor,
            date: now,
            fields: diff,
            relations_added: Vec::new(),
            relations_removed: Vec::new(),
        }],
        fields,
        relations: Vec::new(),
        comments: Vec::new(),
        deleted: None,
        recycled_at_rev: None,
    };
    g.org.work_items.push(wi);
    let ev = hooks::wit::created(g.org, g.org.work_items.last().expect("just created"), actor);
    g.emit(ev);
    "wit.create"
}
