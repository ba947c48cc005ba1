//! Git activity: pushes of new commits, branch creation and deletion, pushes updating several refs.

use super::Gen;
use crate::hooks;
use crate::ids::ZERO_SHA;
use crate::model::{Commit, Push, RefUpdate};

const VERBS: &[&str] = &[
    "Fix", "Add", "Refactor", "Update", "Remove", "Document", "Speed up", "Test",
];
const AREAS: &[&str] = &[
    "login flow",
    "order service",
    "build script",
    "cache invalidation",
    "README",
    "retry policy",
    "search index",
    "API client",
    "telemetry",
    "date parsing",
];

pub(super) fn commit_message(g: &mut Gen<'_>) -> String {
    let verb = *g.rng.pick(VERBS);
    let area = *g.rng.pick(AREAS);
    format!("{verb} {area}")
}

/// `n` new commits by `author`, oldest first.
pub(super) fn new_commits(g: &mut Gen<'_>, author: usize, n: usize) -> Vec<Commit> {
    (0..n)
        .map(|_| {
            let date = g.later();
            Commit {
                id: g.rng.sha(),
                author,
                date,
                comment: commit_message(g),
            }
        })
        .collect()
}

/// Applies a push to the repository (next pushId, branch heads) and emits its git.push event.
pub(super) fn record_push(
    g: &mut Gen<'_>,
    repo: usize,
    pusher: usize,
    ref_updates: Vec<RefUpdate>,
    commits: Vec<Commit>,
) {
    let date = g.later();
    let r = &mut g.org.repos[repo];
    for u in &ref_updates {
        if u.new_object_id == ZERO_SHA {
            r.branches.remove(&u.name);
        } else {
            r.branches.insert(u.name.clone(), u.new_object_id.clone());
        }
    }
    let push = Push {
        push_id: r.pushes.len() as u64 + 1,
        date,
        pusher,
        ref_updates,
        commits,
    };
    r.size += 1_000 * push.commits.len() as u64;
    r.pushes.push(push);
    let ev = hooks::git::push(
        g.org,
        repo,
        g.org.repos[repo].pushes.last().expect("just pushed"),
    );
    g.emit(ev);
}

/// Pushes `n` commits on top of `branch` (creating it from the default branch when missing).
pub(super) fn push_commits(
    g: &mut Gen<'_>,
    repo: usize,
    branch: &str,
    pusher: usize,
    n: usize,
) -> String {
    let old = g.org.repos[repo].branches.get(branch).cloned();
    let commits = new_commits(g, pusher, n.max(1));
    let new_head = commits.last().map(|c| c.id.clone()).unwrap_or_default();
    let update = RefUpdate {
        name: branch.to_string(),
        old_object_id: old.unwrap_or_else(|| ZERO_SHA.to_string()),
        new_object_id: new_head.clone(),
    };
    record_push(g, repo, pusher, vec![update], commits);
    new_head
}

/// Deletes a branch (a push with only a ref deletion and no commits).
pub(super) fn delete_branch(g: &mut Gen<'_>, repo: usize, branch: &str, pusher: usize) {
    let Some(old) = g.org.repos[repo].branches.get(branch).cloned() else {
        return;
    };
    let update = RefUpdate {
        name: branch.to_string(),
        old_object_id: old,
        new_object_id: ZERO_SHA.to_string(),
    };
    record_push(g, repo, pusher, vec![update], Vec::new());
}

fn non_default_branches(g: &Gen<'_>, repo: usize) -> Vec<String> {
    let r = &g.org.repos[repo];
    let in_pr: Vec<&str> = g
        .org
        .prs
        .iter()
        .filter(|p| p.repo == repo && p.status == crate::model::git::PrStatus::Active)
        .map(|p| p.source_ref.as_str())
        .collect();
    r.branches
        .keys()
        .filter(|b| **b != r.default_branch && !in_pr.contains(&b.as_str()))
        .cloned()
        .collect()
}

pub(super) fn action(g: &mut Gen<'_>) -> &'static str {
    let repo = g.rng.index(g.org.repos.len());
    let pusher = g.person();
    let n = g.rng.between(1, 4) as usize;
    let roll = g.rng.between(0, 99);
    let branches = non_default_branches(g, repo);
    if roll < 15 || (roll < 25 && branches.is_empty()) {
        let name = format!(
            "refs/heads/topic/{}-{}",
            commit_message(g)
                .split(' ')
                .nth(1)
                .unwrap_or("work")
                .to_ascii_lowercase(),
            g.rng.between(1, 9999)
        );
        push_commits(g, repo, &name, pusher, n);
        "git.branch_create"
    } else if roll < 25 {
        let b = g.rng.pick(&branches).clone();
        delete_branch(g, repo, &b, pusher);
        "git.branch_delete"
    } else if roll < 40 {
        // One push updating the default branch and creating a release tag.
        let default = g.org.repos[repo].default_branch.clone();
        let old = g.org.repos[repo]
            .branches
            .get(&default)
            .cloned()
            .unwrap_or_else(|| ZERO_SHA.to_string());
        let commits = new_commits(g, pusher, n);
        let head = commits.last().map(|c| c.id.clone()).unwrap_or_default();
        let tag = format!(
            "refs/tags/v1.{}.{}",
            g.rng.between(0, 30),
            g.rng.between(0, 99)
        );
        let updates = vec![
            RefUpdate {
                name: default,
                old_object_id: old,
                new_object_id: head.clone(),
            },
            RefUpdate {
                name: tag,
                old_object_id: ZERO_SHA.to_string(),
                new_object_id: head,
            },
        ];
        record_push(g, repo, pusher, updates, commits);
        "git.multi_ref_push"
    } else {
        let branch = if branches.is_empty() || g.rng.chance(0.6) {
            g.org.repos[repo].default_branch.clone()
        } else {
            g.rng.pick(&branches).clone()
        };
        push_commits(g, repo, &branch, pusher, n);
        "git.push"
    }
}
