//! A pull request's past states, rebuilt from what Azure DevOps keeps: the system threads of
//! `…/pullRequests/{id}/threads` (`properties.CodeReviewThreadType`: `VoteUpdate`,
//! `ReviewersUpdate`, `IsDraftUpdate`, `StatusUpdate`, with the actor as a key into `identities`
//! and the time as the thread's `publishedDate`) and `…/iterations` (every push to the source
//! branch). Replayed in time order from the creation state, each change gives the PR as it was
//! right after it, i.e. the resource of the `git.pullrequest.updated` hook it raised, and so the
//! same identity (status, source commit, votes, draft flag, closing time) and data.
//!
//! Votes reset by a branch policy are replayed as their own change (`ResetAllVotes`: everyone's;
//! `ResetMultipleVotes`: the voters it lists, which may be only examples) — whether Azure DevOps
//! raises a separate update for them is not known.
//!
//! Not in the history: merge statuses (no thread on current versions — merge attempts stay
//! hook-only but for the latest) and title and description edits (an intermediate state carries
//! the current title).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::normalize::extract::{as_int, str_at};

/// One change the history shows.
#[derive(Debug, Clone, PartialEq)]
enum Change {
    Vote {
        reviewer: Value,
        vote: i64,
    },
    /// Votes reset by a branch policy (on a push): everyone's, or the listed voters'.
    ResetVotes(Option<Vec<Value>>),
    ReviewersAdded(Vec<Value>),
    ReviewersRemoved(Vec<Value>),
    Push {
        commit: String,
    },
    Draft(bool),
    Status {
        status: String,
        by: Value,
        commit: Option<String>,
    },
}

#[derive(Debug, Clone)]
struct Dated {
    at: DateTime<Utc>,
    /// Ties at one time keep the order Azure DevOps numbered them in.
    order: i64,
    change: Change,
}

/// `(time of the change, the PR right after it)` for every change the threads and iterations
/// show, oldest first. `pr` is the PR as REST returns it now.
pub(super) fn states(pr: &Value, threads: &[Value], iterations: &[Value]) -> Vec<(String, Value)> {
    let mut changes: Vec<Dated> = threads.iter().filter_map(thread_change).collect();
    let mut iterations: Vec<&Value> = iterations.iter().collect();
    iterations.sort_by_key(|i| i.get("id").and_then(as_int).unwrap_or(0));
    for it in iterations.iter().skip(1) {
        let (Some(at), Some(commit)) = (
            time(it, "createdDate"),
            str_at(it, &["sourceRefCommit", "commitId"]),
        ) else {
            continue;
        };
        changes.push(Dated {
            at,
            order: it.get("id").and_then(as_int).unwrap_or(0),
            change: Change::Push {
                commit: commit.to_string(),
            },
        });
    }
    changes.sort_by_key(|c| (c.at, c.order));

    let mut state = initial(pr, &changes, iterations.first().copied());
    let mut out = Vec::new();
    for c in &changes {
        apply(&mut state, &c.change, pr);
        out.push((crate::normalize::time::format_time(&c.at), state.clone()));
    }
    out
}

/// The PR as it was created: active, no votes from those who voted since, without the reviewers
/// added since (with those removed since), draft as before its first toggle, the first
/// iteration's source commit.
fn initial(pr: &Value, changes: &[Dated], first_iteration: Option<&Value>) -> Value {
    let mut state = pr.clone();
    let mut reviewers: Vec<Value> = pr
        .get("reviewers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for c in changes {
        match &c.change {
            Change::Vote { reviewer, .. } => {
                if let Some(r) = reviewers.iter_mut().find(|r| same(r, reviewer)) {
                    r["vote"] = json!(0);
                }
            }
            Change::ReviewersAdded(added) => {
                reviewers.retain(|r| !added.iter().any(|a| same(r, a)))
            }
            Change::ReviewersRemoved(removed) => {
                for p in removed {
                    if !reviewers.iter().any(|r| same(r, p)) {
                        reviewers.push(reviewer_from(p));
                    }
                }
            }
            _ => {}
        }
    }
    state["reviewers"] = Value::Array(reviewers);
    let first_draft = changes.iter().find_map(|c| match c.change {
        Change::Draft(now) => Some(now),
        _ => None,
    });
    if let Some(now) = first_draft {
        state["isDraft"] = json!(!now);
    }
    if let Some(commit) = first_iteration.and_then(|i| str_at(i, &["sourceRefCommit", "commitId"]))
    {
        state["lastMergeSourceCommit"] = json!({ "commitId": commit });
    }
    state["status"] = json!("active");
    state["closedDate"] = Value::Null;
    state["closedBy"] = Value::Null;
    state["lastMergeCommit"] = Value::Null;
    state
}

fn apply(state: &mut Value, change: &Change, now: &Value) {
    match change {
        Change::Vote { reviewer, vote } => {
            let reviewers = reviewers_mut(state);
            match reviewers.iter_mut().find(|r| same(r, reviewer)) {
                Some(r) => r["vote"] = json!(vote),
                // Voting makes one a reviewer.
                None => {
                    let mut r = reviewer_from(reviewer);
                    r["vote"] = json!(vote);
                    reviewers.push(r);
                }
            }
        }
        Change::ResetVotes(who) => {
            for r in reviewers_mut(state) {
                if who.as_ref().is_none_or(|w| w.iter().any(|p| same(r, p))) {
                    r["vote"] = json!(0);
                }
            }
        }
        Change::ReviewersAdded(added) => {
            for p in added {
                let current = now
                    .get("reviewers")
                    .and_then(Value::as_array)
                    .and_then(|l| l.iter().find(|r| same(r, p)).cloned());
                let reviewers = reviewers_mut(state);
                if !reviewers.iter().any(|r| same(r, p)) {
                    let mut r = current.unwrap_or_else(|| reviewer_from(p));
                    r["vote"] = json!(0);
                    reviewers.push(r);
                }
            }
        }
        Change::ReviewersRemoved(removed) => {
            reviewers_mut(state).retain(|r| !removed.iter().any(|p| same(r, p)));
        }
        Change::Push { commit } => state["lastMergeSourceCommit"] = json!({ "commitId": commit }),
        Change::Draft(now_set) => state["isDraft"] = json!(now_set),
        Change::Status { status, by, commit } => {
            let closing = status != "active";
            state["status"] = json!(status);
            state["closedBy"] = if closing { by.clone() } else { Value::Null };
            // The PR's own closing time when this is the close it still shows; the thread's
            // time is the same moment written a few milliseconds later.
            state["closedDate"] = if closing && now["status"] == json!(status) {
                now.get("closedDate").cloned().unwrap_or(Value::Null)
            } else {
                Value::Null
            };
            if let Some(c) = commit.as_ref().filter(|_| status == "completed") {
                state["lastMergeCommit"] = json!({ "commitId": c });
            }
        }
    }
}

fn reviewers_mut(state: &mut Value) -> &mut Vec<Value> {
    if !state["reviewers"].is_array() {
        state["reviewers"] = json!([]);
    }
    state["reviewers"]
        .as_array_mut()
        .expect("just made an array")
}

/// A reviewer entry for someone the PR does not list now.
fn reviewer_from(p: &Value) -> Value {
    let mut r = p.clone();
    r["vote"] = json!(0);
    r["isRequired"] = json!(false);
    r["hasDeclined"] = json!(false);
    r["isFlagged"] = json!(false);
    r
}

fn same(a: &Value, b: &Value) -> bool {
    match (str_at(a, &["id"]), str_at(b, &["id"])) {
        (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
        _ => false,
    }
}

fn time(v: &Value, key: &str) -> Option<DateTime<Utc>> {
    str_at(v, &[key])
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// A property's `$value` as text (Services sends strings, old TFS numbers too).
fn prop(thread: &Value, name: &str) -> Option<String> {
    let v = thread.get("properties")?.get(name)?;
    let v = v.get("$value").unwrap_or(v);
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The identity a property names: a key into `identities` (current versions), or, on old TFS,
/// `…TfId` + `…DisplayName` beside a property of the same stem.
fn identity(thread: &Value, name: &str) -> Option<Value> {
    if let Some(p) = prop(thread, name).and_then(|key| {
        thread
            .get("identities")
            .and_then(|ids| ids.get(&key))
            .cloned()
    }) {
        return Some(p);
    }
    let stem = name.strip_suffix("Identity")?;
    let id = prop(thread, &format!("{stem}TfId"))?;
    Some(json!({
        "id": id,
        "displayName": prop(thread, &format!("{stem}DisplayName")),
    }))
}

/// The identities a property lists: one key, or a JSON array of keys.
fn identities(thread: &Value, name: &str) -> Vec<Value> {
    let Some(raw) = prop(thread, name) else {
        return Vec::new();
    };
    let keys: Vec<String> = match serde_json::from_str::<Vec<Value>>(&raw) {
        Ok(list) => list
            .iter()
            .map(|k| k.as_str().map_or_else(|| k.to_string(), str::to_string))
            .collect(),
        Err(_) => vec![raw],
    };
    keys.iter()
        .filter_map(|k| thread.get("identities").and_then(|ids| ids.get(k)).cloned())
        .collect()
}

fn thread_change(thread: &Value) -> Option<Dated> {
    if thread.get("isDeleted").and_then(Value::as_bool) == Some(true) {
        return None;
    }
    let at = time(thread, "publishedDate")?;
    let order = thread.get("id").and_then(as_int).unwrap_or(0);
    let change = match prop(thread, "CodeReviewThreadType")?.as_str() {
        "VoteUpdate" => Change::Vote {
            reviewer: identity(thread, "CodeReviewVotedByIdentity")?,
            vote: prop(thread, "CodeReviewVoteResult")?.parse().ok()?,
        },
        "ResetAllVotes" => Change::ResetVotes(None),
        "ResetMultipleVotes" => Change::ResetVotes(Some(identities(
            thread,
            "CodeReviewResetMultipleVotesExampleVoterIdentities",
        ))),
        "ReviewersUpdate" => {
            let added = identities(thread, "CodeReviewReviewersUpdatedAddedIdentity");
            let removed = identities(thread, "CodeReviewReviewersUpdatedRemovedIdentity");
            match (added.is_empty(), removed.is_empty()) {
                (false, _) => Change::ReviewersAdded(added),
                (true, false) => Change::ReviewersRemoved(removed),
                (true, true) => return None,
            }
        }
        "IsDraftUpdate" => {
            Change::Draft(prop(thread, "CodeReviewIsDraftNowSet")?.eq_ignore_ascii_case("true"))
        }
        "StatusUpdate" => Change::Status {
            status: prop(thread, "CodeReviewStatus")?.to_ascii_lowercase(),
            by: identity(thread, "CodeReviewStatusUpdatedByIdentity").unwrap_or(Value::Null),
            commit: prop(thread, "CodeReviewStatusUpdateAssociatedCommit"),
        },
        _ => return None,
    };
    Some(Dated { at, order, change })
}

/// The id of the newest thread recording a change [`states`] replays, pushes (`RefUpdate`)
/// included; `None` when there is none (then the iterations are not needed).
pub(super) fn newest_change(threads: &[Value]) -> Option<i64> {
    threads
        .iter()
        .filter(|t| {
            thread_change(t).is_some()
                || prop(t, "CodeReviewThreadType").as_deref() == Some("RefUpdate")
        })
        .filter_map(|t| t.get("id").and_then(as_int))
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thread(id: i64, at: &str, props: Value, identities: Value) -> Value {
        json!({"id": id, "publishedDate": at, "properties": props, "identities": identities,
               "comments": [{"id": 1, "commentType": "system"}], "isDeleted": false})
    }

    fn pr() -> Value {
        json!({
            "pullRequestId": 7, "status": "completed", "isDraft": false,
            "closedDate": "2026-01-01T12:00:00Z",
            "lastMergeSourceCommit": {"commitId": "c2"},
            "lastMergeCommit": {"commitId": "m1"},
            "reviewers": [
                {"id": "A", "displayName": "Ann", "vote": 10, "isRequired": true},
                {"id": "b", "displayName": "Bob", "vote": -5, "isRequired": false},
            ],
        })
    }

    fn vote_of(state: &Value, id: &str) -> Option<i64> {
        state["reviewers"]
            .as_array()?
            .iter()
            .find(|r| r["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id)))
            .and_then(|r| r["vote"].as_i64())
    }

    #[test]
    fn replays_votes_reviewers_pushes_and_the_close_in_time_order() {
        let ann = json!({"1": {"id": "a", "displayName": "Ann"}});
        let threads = vec![
            // Old TFS shape: TfId + DisplayName, a number as $value.
            thread(
                10,
                "2026-01-01T10:00:00Z",
                json!({"CodeReviewThreadType": {"$value": "VoteUpdate"},
                       "CodeReviewVoteResult": {"$type": "System.Int32", "$value": 5},
                       "CodeReviewVotedByTfId": {"$value": "A"},
                       "CodeReviewVotedByDisplayName": {"$value": "Ann"}}),
                Value::Null,
            ),
            thread(
                11,
                "2026-01-01T10:30:00Z",
                json!({"CodeReviewThreadType": {"$value": "ReviewersUpdate"},
                       "CodeReviewReviewersUpdatedAddedIdentity": {"$value": "[\"2\"]"},
                       "CodeReviewReviewersUpdatedByIdentity": {"$value": "1"}}),
                json!({"1": {"id": "a"}, "2": {"id": "B", "displayName": "Bob"}}),
            ),
            thread(
                13,
                "2026-01-01T11:30:00Z",
                json!({"CodeReviewThreadType": {"$value": "VoteUpdate"},
                       "CodeReviewVoteResult": {"$value": "10"},
                       "CodeReviewVotedByIdentity": {"$value": "1"}}),
                ann.clone(),
            ),
            thread(
                14,
                "2026-01-01T11:45:00Z",
                json!({"CodeReviewThreadType": {"$value": "VoteUpdate"},
                       "CodeReviewVoteResult": {"$value": "-5"},
                       "CodeReviewVotedByIdentity": {"$value": "1"}}),
                json!({"1": {"id": "b"}}),
            ),
            thread(
                15,
                "2026-01-01T12:00:00.01Z",
                json!({"CodeReviewThreadType": {"$value": "StatusUpdate"},
                       "CodeReviewStatus": {"$value": "Completed"},
                       "CodeReviewStatusUpdateAssociatedCommit": {"$value": "m1"},
                       "CodeReviewStatusUpdatedByIdentity": {"$value": "1"}}),
                ann,
            ),
            // A deleted thread and a comment thread change nothing.
            json!({"id": 12, "publishedDate": "2026-01-01T10:40:00Z", "isDeleted": true,
                   "properties": {"CodeReviewThreadType": {"$value": "IsDraftUpdate"},
                                  "CodeReviewIsDraftNowSet": {"$value": "True"}}}),
            json!({"id": 16, "publishedDate": "2026-01-01T10:41:00Z", "properties": {},
                   "comments": [{"id": 1, "commentType": "text"}]}),
        ];
        let iterations = vec![
            json!({"id": 2, "createdDate": "2026-01-01T11:00:00Z", "sourceRefCommit": {"commitId": "c2"}}),
            json!({"id": 1, "createdDate": "2026-01-01T09:00:00Z", "sourceRefCommit": {"commitId": "c1"}}),
        ];
        let states = states(&pr(), &threads, &iterations);
        let summary: Vec<String> = states
            .iter()
            .map(|(at, s)| {
                format!(
                    "{at} a={:?} b={:?} {} {}",
                    vote_of(s, "a"),
                    vote_of(s, "b"),
                    s["lastMergeSourceCommit"]["commitId"].as_str().unwrap(),
                    s["status"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                "2026-01-01T10:00:00Z a=Some(5) b=None c1 active",
                "2026-01-01T10:30:00Z a=Some(5) b=Some(0) c1 active",
                "2026-01-01T11:00:00Z a=Some(5) b=Some(0) c2 active",
                "2026-01-01T11:30:00Z a=Some(10) b=Some(0) c2 active",
                "2026-01-01T11:45:00Z a=Some(10) b=Some(-5) c2 active",
                "2026-01-01T12:00:00.01Z a=Some(10) b=Some(-5) c2 completed",
            ]
        );
        // The added reviewer keeps the entry the PR lists now; the close is the PR's own.
        let (_, last) = states.last().unwrap();
        assert_eq!(last["closedDate"], "2026-01-01T12:00:00Z");
        assert_eq!(last["closedBy"]["id"], "a");
        assert_eq!(last["lastMergeCommit"]["commitId"], "m1");
        assert_eq!(states[0].1["closedBy"], Value::Null);
        assert_eq!(states[0].1["lastMergeCommit"], Value::Null);
        assert_eq!(newest_change(&threads), Some(15));
    }

    #[test]
    fn draft_and_policy_resets() {
        let mut now = pr();
        now["status"] = json!("active");
        now["closedDate"] = Value::Null;
        let threads = vec![
            thread(
                3,
                "2026-01-01T10:00:00Z",
                json!({"CodeReviewThreadType": {"$value": "IsDraftUpdate"},
                       "CodeReviewIsDraftNowSet": {"$value": "False"}}),
                Value::Null,
            ),
            thread(
                4,
                "2026-01-01T10:05:00Z",
                json!({"CodeReviewThreadType": {"$value": "ResetAllVotes"}}),
                Value::Null,
            ),
        ];
        let states = states(&now, &threads, &[]);
        assert_eq!(states.len(), 2);
        // Drafted at creation, published by the first toggle.
        assert_eq!(states[0].1["isDraft"], false);
        // Votes nobody recorded a change of are taken as they are now, until the reset.
        assert_eq!(vote_of(&states[0].1, "a"), Some(10));
        assert_eq!(vote_of(&states[1].1, "a"), Some(0));
        assert_eq!(vote_of(&states[1].1, "b"), Some(0));
        assert_eq!(newest_change(&[]), None);
    }
}
