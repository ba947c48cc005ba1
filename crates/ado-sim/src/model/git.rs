//! Git state: repositories with branches and pushes, and pull requests through their life.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

/// One commit as Azure DevOps reports it in pushes (author and committer are the same person here).
#[derive(Debug, Clone)]
pub struct Commit {
    pub id: String,
    pub author: usize,
    pub date: DateTime<Utc>,
    pub comment: String,
}

/// One ref change of a push; zero ids mark creation (old) and deletion (new).
#[derive(Debug, Clone)]
pub struct RefUpdate {
    pub name: String,
    pub old_object_id: String,
    pub new_object_id: String,
}

/// A push: pushId is a per-repository sequence.
#[derive(Debug, Clone)]
pub struct Push {
    pub push_id: u64,
    pub date: DateTime<Utc>,
    pub pusher: usize,
    pub ref_updates: Vec<RefUpdate>,
    /// Empty for pushes that only delete refs (Azure DevOps then omits `commits` from the hook).
    pub commits: Vec<Commit>,
}

#[derive(Debug, Clone)]
pub struct Repo {
    pub id: String,
    pub name: String,
    pub project: usize,
    pub default_branch: String,
    /// Full ref name → head commit.
    pub branches: BTreeMap<String, String>,
    pub pushes: Vec<Push>,
    pub size: u64,
}

impl Repo {
    pub fn push(&self, push_id: u64) -> Option<&Push> {
        self.pushes.iter().find(|p| p.push_id == push_id)
    }

    /// Every commit of every push, newest push first.
    pub fn commit(&self, commit_id: &str) -> Option<&Commit> {
        self.pushes
            .iter()
            .rev()
            .flat_map(|p| p.commits.iter())
            .find(|c| c.id.eq_ignore_ascii_case(commit_id))
    }
}

/// `active | abandoned | completed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrStatus {
    Active,
    Abandoned,
    Completed,
}

impl PrStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PrStatus::Active => "active",
            PrStatus::Abandoned => "abandoned",
            PrStatus::Completed => "completed",
        }
    }
}

/// `queued | conflicts | succeeded | rejectedByPolicy | failure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergeStatus {
    Queued,
    Conflicts,
    Succeeded,
}

impl MergeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MergeStatus::Queued => "queued",
            MergeStatus::Conflicts => "conflicts",
            MergeStatus::Succeeded => "succeeded",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Reviewer {
    pub person: usize,
    /// 10 approved, 5 approved with suggestions, 0 no vote, -5 waiting for author, -10 rejected.
    pub vote: i64,
    pub is_required: bool,
}

#[derive(Debug, Clone)]
pub struct PrComment {
    pub id: u64,
    pub parent_id: u64,
    pub author: usize,
    pub content: String,
    pub published: DateTime<Utc>,
    pub updated: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct PrThread {
    pub id: u64,
    pub comments: Vec<PrComment>,
    /// Set for the system threads Azure DevOps writes on a change (votes, reviewers, pushes,
    /// draft, status): `properties.CodeReviewThreadType` and the rest.
    pub system: Option<SystemThread>,
}

/// A system ("activity") thread: one system comment, typed properties whose `…Identity` values
/// are keys into `identities`.
#[derive(Debug, Clone)]
pub struct SystemThread {
    /// `VoteUpdate`, `ReviewersUpdate`, `RefUpdate`, `IsDraftUpdate`, `StatusUpdate`.
    pub thread_type: &'static str,
    pub published: DateTime<Utc>,
    /// The actor (author of the system comment, identity `"1"`).
    pub actor: usize,
    /// Further people, identities `"2"`, `"3"`, …
    pub others: Vec<usize>,
    /// `(name, $value)`; every value a `System.String`, as Services sends them.
    pub properties: Vec<(&'static str, String)>,
    pub content: String,
}

/// One iteration (push to the source branch) of `…/pullRequests/{id}/iterations`.
#[derive(Debug, Clone)]
pub struct Iteration {
    pub id: u64,
    pub author: usize,
    pub created: DateTime<Utc>,
    /// `create` for the first, `push` after.
    pub reason: &'static str,
    pub source_commit: String,
    pub target_commit: String,
    pub description: String,
}

#[derive(Debug, Clone)]
pub struct PullRequest {
    pub id: u64,
    pub repo: usize,
    pub title: String,
    pub description: String,
    pub source_ref: String,
    pub target_ref: String,
    pub created_by: usize,
    pub creation_date: DateTime<Utc>,
    pub status: PrStatus,
    pub merge_status: MergeStatus,
    pub merge_id: String,
    pub is_draft: bool,
    pub reviewers: Vec<Reviewer>,
    pub last_merge_source: String,
    pub last_merge_target: String,
    /// The merge result commit of the last successful merge attempt.
    pub last_merge_commit: Option<Commit>,
    pub closed_date: Option<DateTime<Utc>>,
    pub closed_by: Option<usize>,
    pub completion_queue_time: Option<DateTime<Utc>>,
    pub delete_source_branch: bool,
    pub squash: bool,
    /// Source commits pushed to the PR, oldest first.
    pub commits: Vec<String>,
    pub threads: Vec<PrThread>,
    pub iterations: Vec<Iteration>,
    /// The reviewers' votes of every update since the last source push or publication: a PR's
    /// identity is its state, so a vote that would bring back one of these is not cast.
    pub votes_seen: Vec<Vec<i64>>,
}

impl PullRequest {
    pub fn votes(&self) -> Vec<i64> {
        self.reviewers.iter().map(|r| r.vote).collect()
    }

    /// Thread ids rise within a PR, comment and system threads alike.
    pub fn next_thread_id(&self) -> u64 {
        self.threads
            .iter()
            .map(|t| t.id)
            .max()
            .unwrap_or(self.id * 100)
            + 1
    }

    /// Records a system thread of a change made at `at` by `actor`.
    pub fn system_thread(
        &mut self,
        thread_type: &'static str,
        at: DateTime<Utc>,
        actor: usize,
        others: Vec<usize>,
        properties: Vec<(&'static str, String)>,
        content: String,
    ) {
        let id = self.next_thread_id();
        self.threads.push(PrThread {
            id,
            comments: Vec::new(),
            system: Some(SystemThread {
                thread_type,
                published: at,
                actor,
                others,
                properties,
                content,
            }),
        });
    }
}
