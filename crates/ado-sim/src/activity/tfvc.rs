//! TFVC check-ins: changesets with a collection-wide id, some spanning two projects.

use super::Gen;
use super::git::commit_message;
use crate::hooks;
use crate::model::Changeset;
use crate::model::tfvc::TfvcChange;

const FILES: &[&str] = &[
    "src/Program.cs",
    "src/Orders.cs",
    "docs/README.md",
    "build/pipeline.xml",
    "src/Web.config",
];
const CHANGE_TYPES: &[&str] = &["edit", "add", "edit", "delete", "edit"];

pub(super) fn action(g: &mut Gen<'_>) -> &'static str {
    let first = g.rng.index(g.org.projects.len());
    let mut projects = vec![first];
    if g.org.projects.len() > 1 && g.rng.chance(0.15) {
        projects.push((first + 1) % g.org.projects.len());
    }
    let mut changes = Vec::new();
    for p in &projects {
        for _ in 0..g.rng.between(1, 3) {
            let file = *g.rng.pick(FILES);
            let change_type = *g.rng.pick(CHANGE_TYPES);
            changes.push(TfvcChange {
                path: format!("$/{}/{file}", g.org.projects[*p].name),
                change_type,
            });
        }
    }
    let author = g.person();
    let id = g.org.next_changeset_id;
    g.org.next_changeset_id += 1;
    let comment = commit_message(g);
    let created_date = g.later();
    g.org.changesets.push(Changeset {
        id,
        author,
        checked_in_by: author,
        created_date,
        comment,
        projects,
        changes,
    });
    let ev = hooks::tfvc::checkin(g.org, g.org.changesets.last().expect("just checked in"));
    g.emit(ev);
    "tfvc.checkin"
}
