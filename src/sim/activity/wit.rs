//! Work item activity: creation, saves (state transitions, reassignment, priority and title
//! edits), comments (a save that also raises workitem.commented), link-only updates (no new rev),
//! deletion to the recycle bin and restoration.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::Gen;
use crate::sim::clock::{FAR_FUTURE, ts};
use crate::sim::hooks;
use crate::sim::model::WorkItem;
use crate::sim::model::wit::{FieldChange, Relation, Revision, Update, WiComment};
use crate::sim::render::identity_string;

const TYPES: &[&str] = &["Bug", "User Story", "Task"];
const TITLES: &[&str] = &[
    "Checkout fails for guest users",
    "Add export to CSV",
    "Slow search on large projects",
    "Login page layout broken on mobile",
    "Support SSO with Entra ID",
    "Crash when the cache is empty",
];

/// Next state and its reason in the Agile process.
fn next_state(wi_type: &str, state: &str) -> Option<(&'static str, &'static str)> {
    match (wi_type, state) {
        (_, "New") => Some(("Active", "Implementation started")),
        ("Task", "Active") => Some(("Closed", "Completed")),
        (_, "Active") => Some(("Resolved", "Code complete and unit tests pass")),
        (_, "Resolved") => Some(("Closed", "Acceptance tests pass")),
        (_, "Closed") => Some(("Active", "Reactivated")),
        _ => None,
    }
}

/// Saves `changes` as a new revision (rev + 1, watermark + 1) with the bookkeeping fields every
/// save changes, and records the update.
fn save(g: &mut Gen<'_>, wi: usize, actor: usize, mut changes: BTreeMap<String, Value>) {
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

fn create(g: &mut Gen<'_>) -> &'static str {
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

fn emit_updated(g: &mut Gen<'_>, wi: usize) {
    if let Some(ev) = hooks::wit::updated(g.org, &g.org.work_items[wi]) {
        g.emit(ev);
    }
}

fn edit(g: &mut Gen<'_>, wi: usize) -> &'static str {
    let actor = g.person();
    let item = &g.org.work_items[wi];
    let mut changes = BTreeMap::new();
    let kind = match g.rng.between(0, 99) {
        0..=49 => match next_state(item.work_item_type(), item.state()) {
            Some((state, reason)) => {
                changes.insert("System.State".to_string(), json!(state));
                changes.insert("System.Reason".to_string(), json!(reason));
                "wit.transition"
            }
            None => "wit.noop",
        },
        50..=69 => {
            let to = g.person();
            changes.insert(
                "System.AssignedTo".to_string(),
                json!(identity_string(&g.org.people[to])),
            );
            "wit.assign"
        }
        70..=84 => {
            let current = item
                .fields
                .get("Microsoft.VSTS.Common.Priority")
                .and_then(Value::as_u64)
                .unwrap_or(2);
            changes.insert(
                "Microsoft.VSTS.Common.Priority".to_string(),
                json!(current % 4 + 1),
            );
            "wit.priority"
        }
        _ => {
            let title = format!("{} (v{})", g.rng.pick(TITLES), item.rev + 1);
            changes.insert("System.Title".to_string(), json!(title));
            "wit.retitle"
        }
    };
    if changes.is_empty() {
        return comment(g, wi);
    }
    save(g, wi, actor, changes);
    emit_updated(g, wi);
    kind
}

fn comment(g: &mut Gen<'_>, wi: usize) -> &'static str {
    let actor = g.person();
    let text = format!(
        "<div>{}</div>",
        g.rng.pick(&[
            "Repro confirmed.",
            "Fixed in the next build.",
            "Needs design input.",
            "Duplicate of an older item?"
        ])
    );
    let count = g.org.work_items[wi].comments.len() as u64 + 1;
    let mut changes = BTreeMap::new();
    changes.insert("System.History".to_string(), json!(text));
    changes.insert("System.CommentCount".to_string(), json!(count));
    save(g, wi, actor, changes);
    let now = g.now();
    let item = &mut g.org.work_items[wi];
    item.comments.push(WiComment {
        id: count,
        text: text.clone(),
        by: actor,
        date: now,
    });
    // A comment is a save: it raises workitem.updated and workitem.commented for the same rev.
    emit_updated(g, wi);
    let ev = hooks::wit::commented(g.org, &g.org.work_items[wi], &text, actor);
    g.emit(ev);
    "wit.comment"
}

/// Adds or removes a link: a new update without a new revision.
fn link(g: &mut Gen<'_>, wi: usize) -> &'static str {
    let actor = g.person();
    let now = g.later();
    let others: Vec<u64> = g
        .org
        .work_items
        .iter()
        .filter(|w| w.id != g.org.work_items[wi].id)
        .map(|w| w.id)
        .collect();
    let item = &g.org.work_items[wi];
    let (added, removed) = if !item.relations.is_empty() && g.rng.chance(0.4) {
        let r = item.relations[g.rng.index(item.relations.len())].clone();
        (Vec::new(), vec![r])
    } else if let Some(target) = others.get(g.rng.index(others.len())) {
        let rel = if g.rng.chance(0.5) {
            "System.LinkTypes.Related"
        } else {
            "System.LinkTypes.Hierarchy-Reverse"
        };
        (
            vec![Relation {
                rel,
                target: *target,
                comment: None,
            }],
            Vec::new(),
        )
    } else {
        return edit(g, wi);
    };
    let item = &mut g.org.work_items[wi];
    item.relations.retain(|r| !removed.contains(r));
    item.relations.extend(added.iter().cloned());
    let id = item.updates.len() as u64 + 1;
    let rev = item.rev;
    item.updates.push(Update {
        id,
        rev,
        revised_by: actor,
        date: now,
        fields: BTreeMap::new(),
        relations_added: added,
        relations_removed: removed,
    });
    emit_updated(g, wi);
    "wit.link"
}

fn set_deleted(g: &mut Gen<'_>, wi: usize, deleted: bool) -> &'static str {
    let actor = g.person();
    let now = g.later();
    let item = &mut g.org.work_items[wi];
    item.deleted = deleted.then_some((now, actor));
    item.recycled_at_rev = Some(item.rev);
    for r in &mut item.revisions {
        r.deleted = deleted;
    }
    let item = &g.org.work_items[wi];
    let ev = if deleted {
        hooks::wit::deleted(g.org, item, actor)
    } else {
        hooks::wit::restored(g.org, item, actor)
    };
    g.emit(ev);
    if deleted { "wit.delete" } else { "wit.restore" }
}

pub(super) fn action(g: &mut Gen<'_>) -> &'static str {
    let items = &g.org.work_items;
    let live: Vec<usize> = (0..items.len())
        .filter(|i| items[*i].deleted.is_none())
        .collect();
    let deleted: Vec<usize> = (0..items.len())
        .filter(|i| items[*i].deleted.is_some())
        .collect();
    if live.len() < 4 || g.rng.chance(0.2) {
        return create(g);
    }
    let wi = *g.rng.pick(&live);
    let recycled_now = g.org.work_items[wi].recycled_at_rev == Some(g.org.work_items[wi].rev);
    match g.rng.between(0, 99) {
        0..=49 => edit(g, wi),
        50..=69 => comment(g, wi),
        70..=84 => link(g, wi),
        85..=92 if !recycled_now => set_deleted(g, wi, true),
        93.. if !deleted.is_empty() => {
            let d = *g.rng.pick(&deleted);
            set_deleted(g, d, false)
        }
        _ => edit(g, wi),
    }
}
