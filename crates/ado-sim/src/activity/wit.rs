//! Work item activity: saves (state transitions, reassignment, priority and title edits),
//! comments (a save that also raises workitem.commented), link-only updates (no new rev),
//! deletion to the recycle bin and restoration.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::Gen;
use super::wit_revisions::{TITLES, create, save};
use crate::hooks;
use crate::model::wit::{Relation, Update, WiComment};
use crate::render::identity_string;

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

/// Adds or removes a link: a new update without a new revision. A change already made by an
/// earlier link-only update of the same revision is not repeated: the identity of a link-only
/// update is its rev and relation changes (all REST reveals of it), so re-adding a link removed
/// since, with no save in between, would be the same change twice.
fn link(g: &mut Gen<'_>, wi: usize) -> &'static str {
    let actor = g.person();
    let now = g.later();
    let item = &g.org.work_items[wi];
    let done: Vec<(bool, &str, u64)> = item
        .updates
        .iter()
        .filter(|u| u.rev == item.rev && u.is_link_only())
        .flat_map(|u| {
            let added = u.relations_added.iter().map(|r| (true, r.rel, r.target));
            added.chain(u.relations_removed.iter().map(|r| (false, r.rel, r.target)))
        })
        .collect();
    let removable: Vec<&Relation> = item
        .relations
        .iter()
        .filter(|r| !done.contains(&(false, r.rel, r.target)))
        .collect();
    let others: Vec<u64> = g
        .org
        .work_items
        .iter()
        .filter(|w| w.id != item.id)
        .map(|w| w.id)
        .collect();
    let (added, removed) = if !removable.is_empty() && g.rng.chance(0.4) {
        let r = removable[g.rng.index(removable.len())].clone();
        (Vec::new(), vec![r])
    } else if let Some(target) = others.get(g.rng.index(others.len())) {
        let rel = if g.rng.chance(0.5) {
            "System.LinkTypes.Related"
        } else {
            "System.LinkTypes.Hierarchy-Reverse"
        };
        if done.contains(&(true, rel, *target))
            || item
                .relations
                .iter()
                .any(|r| r.rel == rel && r.target == *target)
        {
            return edit(g, wi);
        }
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
