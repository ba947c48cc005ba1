//! Pull request lives: create (with its source branch push), reviewer votes and additions, draft
//! publication, source pushes (each followed by a merge attempt that may conflict), comments,
//! completion (merge commit pushed to the target, optional source branch deletion) and abandonment.

use super::Gen;
use super::git::{commit_message, delete_branch, new_commits, push_commits, record_push};
use crate::hooks;
use crate::model::git::{
    Iteration, MergeStatus, PrComment, PrStatus, PrThread, PullRequest, Reviewer,
};
use crate::model::{Commit, RefUpdate};

const VOTES: &[i64] = &[10, 5, 0, -5, -10];
const COMMENTS: &[&str] = &[
    "Looks good to me.",
    "Can we add a test for this?",
    "Nit: naming.",
    "Why is this needed?",
    "Fixed in the latest iteration.",
    "Please rebase on main.",
];

fn attempt_merge(g: &mut Gen<'_>, pr: usize) {
    let conflicts = g.rng.chance(0.2);
    let target_head = {
        let p = &g.org.prs[pr];
        g.org.repos[p.repo]
            .branches
            .get(&p.target_ref)
            .cloned()
            .unwrap_or_default()
    };
    let merge = if conflicts {
        None
    } else {
        let author = g.org.prs[pr].created_by;
        let date = g.now();
        let id = g.rng.sha();
        Some(Commit {
            id,
            author,
            date,
            comment: format!("Merge pull request {} into target", g.org.prs[pr].id),
        })
    };
    let p = &mut g.org.prs[pr];
    p.last_merge_target = target_head;
    p.merge_id = g.rng.guid();
    if let Some(m) = merge {
        p.merge_status = MergeStatus::Succeeded;
        p.last_merge_commit = Some(m);
    } else {
        p.merge_status = MergeStatus::Conflicts;
    }
}

fn create(g: &mut Gen<'_>) -> &'static str {
    let repo = g.rng.index(g.org.repos.len());
    let author = g.person();
    let title = commit_message(g);
    let branch = format!(
        "refs/heads/feature/{}-{}",
        title.to_ascii_lowercase().replace(' ', "-"),
        g.rng.between(1, 9999)
    );
    let n = g.rng.between(1, 3) as usize;
    let head = push_commits(g, repo, &branch, author, n);
    let commits: Vec<String> = g.org.repos[repo]
        .pushes
        .last()
        .map(|p| p.commits.iter().map(|c| c.id.clone()).collect())
        .unwrap_or_default();
    let mut reviewers = vec![Reviewer {
        person: g.other_person(author),
        vote: 0,
        is_required: true,
    }];
    if g.rng.chance(0.5) {
        let second = g.other_person(reviewers[0].person);
        if second != author {
            reviewers.push(Reviewer {
                person: second,
                vote: 0,
                is_required: false,
            });
        }
    }
    let id = g.org.next_pr_id;
    g.org.next_pr_id += 1;
    let target = g.org.repos[repo].default_branch.clone();
    let pr = PullRequest {
        id,
        repo,
        description: format!("{title}.\n\nThis change was made by the simulator."),
        title,
        source_ref: branch,
        target_ref: target,
        created_by: author,
        creation_date: g.later(),
        status: PrStatus::Active,
        merge_status: MergeStatus::Queued,
        merge_id: String::new(),
        is_draft: g.rng.chance(0.15),
        reviewers,
        last_merge_source: head,
        last_merge_target: String::new(),
        last_merge_commit: None,
        closed_date: None,
        closed_by: None,
        completion_queue_time: None,
        delete_source_branch: g.rng.chance(0.7),
        squash: g.rng.chance(0.5),
        commits,
        threads: Vec::new(),
        iterations: Vec::new(),
        votes_seen: Vec::new(),
    };
    g.org.prs.push(pr);
    let idx = g.org.prs.len() - 1;
    add_iteration(g, idx, author, "create");
    attempt_merge(g, idx);
    let ev = hooks::git::pr_created(g.org, &g.org.prs[idx]);
    g.emit(ev);
    "pr.create"
}

/// The PR's source head as a new iteration (`create` for the first one, `push` after).
fn add_iteration(g: &mut Gen<'_>, pr: usize, author: usize, reason: &'static str) {
    let created = g.now();
    let p = &g.org.prs[pr];
    let target_commit = g.org.repos[p.repo]
        .branches
        .get(&p.target_ref)
        .cloned()
        .unwrap_or_default();
    let description = g.org.repos[p.repo]
        .commit(&p.last_merge_source)
        .map(|c| c.comment.clone())
        .unwrap_or_default();
    let p = &mut g.org.prs[pr];
    let iteration = Iteration {
        id: p.iterations.len() as u64 + 1,
        author,
        created,
        reason,
        source_commit: p.last_merge_source.clone(),
        target_commit,
        description,
    };
    p.iterations.push(iteration);
}

fn display_name(g: &Gen<'_>, person: usize) -> String {
    g.org.people[person].display_name.clone()
}

fn updated(g: &mut Gen<'_>, pr: usize, actor: usize, what: &str, kind: &str) {
    let ev = hooks::git::pr_updated(g.org, &g.org.prs[pr], actor, what, kind);
    g.emit(ev);
}

fn vote(g: &mut Gen<'_>, pr: usize) -> &'static str {
    let r = g.rng.index(g.org.prs[pr].reviewers.len());
    let p = &g.org.prs[pr];
    let current = p.reviewers[r].vote;
    let choices: Vec<i64> = VOTES
        .iter()
        .copied()
        .filter(|v| *v != current)
        .filter(|v| {
            let mut votes = p.votes();
            votes[r] = *v;
            !p.votes_seen.contains(&votes)
        })
        .collect();
    if choices.is_empty() {
        return comment(g, pr);
    }
    let new = *g.rng.pick(&choices);
    let p = &mut g.org.prs[pr];
    p.reviewers[r].vote = new;
    p.votes_seen.push(p.votes());
    let who = g.org.prs[pr].reviewers[r].person;
    let at = g.now();
    let content = format!("{} voted {new}", display_name(g, who));
    g.org.prs[pr].system_thread(
        "VoteUpdate",
        at,
        who,
        Vec::new(),
        vec![
            ("CodeReviewVoteResult", new.to_string()),
            ("CodeReviewVotedByInitiatorIdentity", "1".into()),
            ("CodeReviewVotedByIdentity", "1".into()),
        ],
        content,
    );
    let what = match new {
        10 => "approved",
        5 => "approved with suggestions",
        0 => "reset the vote on",
        -5 => "is waiting for the author on",
        _ => "rejected",
    };
    updated(g, pr, who, what, "ReviewerVoteNotification");
    "pr.vote"
}

fn source_push(g: &mut Gen<'_>, pr: usize) -> &'static str {
    let (repo, branch, author) = {
        let p = &g.org.prs[pr];
        (p.repo, p.source_ref.clone(), p.created_by)
    };
    let n = g.rng.between(1, 2) as usize;
    let head = push_commits(g, repo, &branch, author, n);
    let new_ids: Vec<String> = g.org.repos[repo]
        .pushes
        .last()
        .map(|p| p.commits.iter().map(|c| c.id.clone()).collect())
        .unwrap_or_default();
    let at = g.now();
    let content = format!(
        "{} updated the source branch with {} commit(s)",
        display_name(g, author),
        new_ids.len()
    );
    {
        let p = &mut g.org.prs[pr];
        p.last_merge_source = head.clone();
        p.commits.extend(new_ids.iter().cloned());
        p.merge_status = MergeStatus::Queued;
        p.votes_seen = vec![p.votes()];
        let source_ref = p.source_ref.clone();
        p.system_thread(
            "RefUpdate",
            at,
            author,
            Vec::new(),
            vec![
                ("CodeReviewRefName", source_ref),
                ("CodeReviewRefNewHeadCommit", head),
                ("CodeReviewRefNewCommits", new_ids.join(";")),
                ("CodeReviewRefNewCommitsCount", new_ids.len().to_string()),
                ("CodeReviewRefUpdatedByIdentity", "1".into()),
            ],
            content,
        );
    }
    add_iteration(g, pr, author, "push");
    updated(
        g,
        pr,
        author,
        "updated the source branch of",
        "PushNotification",
    );
    attempt_merge(g, pr);
    let ev = hooks::git::pr_merge_attempted(g.org, &g.org.prs[pr]);
    g.emit(ev);
    "pr.source_push"
}

fn comment(g: &mut Gen<'_>, pr: usize) -> &'static str {
    let author = g.person();
    let text = g.rng.pick(COMMENTS).to_string();
    let now = g.later();
    let p = &mut g.org.prs[pr];
    let discussions: Vec<usize> = (0..p.threads.len())
        .filter(|i| p.threads[*i].system.is_none())
        .collect();
    let reply = !discussions.is_empty() && g.rng.chance(0.4);
    if !reply {
        let id = p.next_thread_id();
        p.threads.push(PrThread {
            id,
            comments: Vec::new(),
            system: None,
        });
    }
    let t = if reply {
        discussions[g.rng.index(discussions.len())]
    } else {
        p.threads.len() - 1
    };
    let thread = &mut p.threads[t];
    let parent = thread.comments.first().map(|c| c.id).unwrap_or(0);
    let c = PrComment {
        id: thread.comments.len() as u64 + 1,
        parent_id: parent,
        author,
        content: text,
        published: now,
        updated: now,
    };
    thread.comments.push(c);
    let p = &g.org.prs[pr];
    let thread = &p.threads[t];
    let ev = hooks::git::pr_commented(
        g.org,
        p,
        thread,
        thread.comments.last().expect("just added"),
    );
    g.emit(ev);
    "pr.comment"
}

fn complete(g: &mut Gen<'_>, pr: usize) -> &'static str {
    let closer = g.org.prs[pr].reviewers[0].person;
    let now = g.later();
    let (repo, target, source, delete_source, merge) = {
        let p = &mut g.org.prs[pr];
        p.completion_queue_time = Some(now);
        (
            p.repo,
            p.target_ref.clone(),
            p.source_ref.clone(),
            p.delete_source_branch,
            p.last_merge_commit.clone(),
        )
    };
    // The merge commit lands on the target branch as a push.
    let old = g.org.repos[repo]
        .branches
        .get(&target)
        .cloned()
        .unwrap_or_default();
    let mut merge = merge.unwrap_or_else(|| new_commits(g, closer, 1).remove(0));
    merge.date = now;
    let update = RefUpdate {
        name: target,
        old_object_id: old,
        new_object_id: merge.id.clone(),
    };
    record_push(g, repo, closer, vec![update], vec![merge.clone()]);
    let closed = g.later();
    {
        let p = &mut g.org.prs[pr];
        p.status = PrStatus::Completed;
        p.closed_date = Some(closed);
        p.closed_by = Some(closer);
        let content = format!(
            "{} updated the pull request status to Completed",
            g.org.people[closer].display_name
        );
        p.system_thread(
            "StatusUpdate",
            closed,
            closer,
            Vec::new(),
            vec![
                ("BypassPolicy", "False".into()),
                ("CodeReviewStatus", "Completed".into()),
                ("CodeReviewStatusUpdateAssociatedCommit", merge.id.clone()),
                ("CodeReviewStatusUpdatedByIdentity", "1".into()),
            ],
            content,
        );
        p.last_merge_commit = Some(merge);
    }
    updated(g, pr, closer, "completed", "StatusUpdateNotification");
    if delete_source {
        delete_branch(g, repo, &source, closer);
    }
    "pr.complete"
}

fn abandon(g: &mut Gen<'_>, pr: usize) -> &'static str {
    let who = g.org.prs[pr].created_by;
    let closed = g.later();
    let content = format!(
        "{} updated the pull request status to Abandoned",
        display_name(g, who)
    );
    let p = &mut g.org.prs[pr];
    p.status = PrStatus::Abandoned;
    p.closed_date = Some(closed);
    p.closed_by = Some(who);
    p.system_thread(
        "StatusUpdate",
        closed,
        who,
        Vec::new(),
        vec![
            ("BypassPolicy", "False".into()),
            ("CodeReviewStatus", "Abandoned".into()),
            ("CodeReviewStatusUpdatedByIdentity", "1".into()),
        ],
        content,
    );
    updated(g, pr, who, "abandoned", "StatusUpdateNotification");
    "pr.abandon"
}

pub(super) fn action(g: &mut Gen<'_>) -> &'static str {
    let active: Vec<usize> = (0..g.org.prs.len())
        .filter(|i| g.org.prs[*i].status == PrStatus::Active)
        .collect();
    if active.len() < 3 || g.rng.chance(0.2) {
        return create(g);
    }
    let pr = *g.rng.pick(&active);
    let p = &g.org.prs[pr];
    if p.is_draft && g.rng.chance(0.5) {
        let who = p.created_by;
        let at = g.now();
        let content = format!("{} published the pull request", display_name(g, who));
        let p = &mut g.org.prs[pr];
        p.is_draft = false;
        p.votes_seen = vec![p.votes()];
        p.system_thread(
            "IsDraftUpdate",
            at,
            who,
            Vec::new(),
            vec![
                ("CodeReviewIsDraftNowSet", "False".into()),
                ("CodeReviewIsDraftUpdatedByIdentity", "1".into()),
            ],
            content,
        );
        updated(g, pr, who, "published", "StatusUpdateNotification");
        return "pr.publish";
    }
    let approved =
        p.reviewers.iter().any(|r| r.vote >= 5) && p.reviewers.iter().all(|r| r.vote >= 0);
    let mergeable = p.merge_status == MergeStatus::Succeeded && !p.is_draft;
    match g.rng.between(0, 99) {
        0..=29 => vote(g, pr),
        30..=34 => {
            let candidate = g.person();
            let p = &mut g.org.prs[pr];
            if p.reviewers.iter().any(|r| r.person == candidate) || p.created_by == candidate {
                return vote(g, pr);
            }
            p.reviewers.push(Reviewer {
                person: candidate,
                vote: 0,
                is_required: false,
            });
            p.votes_seen.push(p.votes());
            let who = p.created_by;
            let at = g.now();
            let content = format!(
                "{} added {} as a reviewer",
                display_name(g, who),
                display_name(g, candidate)
            );
            g.org.prs[pr].system_thread(
                "ReviewersUpdate",
                at,
                who,
                vec![candidate],
                vec![
                    ("CodeReviewReviewersUpdatedNumAdded", "1".into()),
                    ("CodeReviewReviewersUpdatedNumChanged", "0".into()),
                    ("CodeReviewReviewersUpdatedNumDeclined", "0".into()),
                    ("CodeReviewReviewersUpdatedNumRemoved", "0".into()),
                    ("CodeReviewReviewersUpdatedAddedIdentity", "2".into()),
                    ("CodeReviewReviewersUpdatedByIdentity", "1".into()),
                ],
                content,
            );
            updated(
                g,
                pr,
                who,
                "added a reviewer to",
                "ReviewersUpdateNotification",
            );
            "pr.add_reviewer"
        }
        35..=56 => source_push(g, pr),
        57..=76 => comment(g, pr),
        77..=94 if approved && mergeable => complete(g, pr),
        77..=94 => source_push(g, pr),
        _ => abandon(g, pr),
    }
}
