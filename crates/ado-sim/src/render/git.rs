//! Git repositories, pushes and commits in the hook and REST shapes.

use serde_json::{Map, Value, json};

use super::{ProjectFlavor, href, identity, identity_basic, project_ref, signature, url_name};
use crate::clock::{ts, ts_secs, ts_ticks};
use crate::model::{Commit, Org, Push, Repo};

/// Which fields a GitRepository carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepoFlavor {
    /// git.push hooks: id, name, url, project, defaultBranch, remoteUrl.
    PushHook,
    /// Pull request hooks / PR get: + size, sshUrl, webUrl, isDisabled, isInMaintenance.
    PullRequest,
    /// PR lists: id, name, url, project (without url).
    PrList,
    /// `GET …/pullrequests/{id}`: id, name, url, project, remoteUrl, size, sshUrl, webUrl.
    PrGet,
    /// REST repositories list: id, name, url, project, defaultBranch, size, remote/ssh/web URLs, isDisabled.
    RestList,
    /// REST pushes list: id, name, url, project (basic), defaultBranch, remoteUrl.
    RestPush,
}

pub fn repo_url(org: &Org, repo: &Repo) -> String {
    let project = &org.projects[repo.project];
    format!(
        "{}{}/_apis/git/repositories/{}",
        org.base_url, project.id, repo.id
    )
}

pub fn web_url(org: &Org, repo: &Repo) -> String {
    let project = &org.projects[repo.project];
    format!(
        "{}{}/_git/{}",
        org.base_url,
        url_name(&project.name),
        repo.name
    )
}

pub fn commit_url(org: &Org, repo: &Repo, commit_id: &str) -> String {
    format!("{}/commits/{commit_id}", repo_url(org, repo))
}

pub fn repository(org: &Org, repo: &Repo, flavor: RepoFlavor) -> Value {
    let project = &org.projects[repo.project];
    let pflavor = match flavor {
        RepoFlavor::PushHook => ProjectFlavor::Push,
        RepoFlavor::PullRequest | RepoFlavor::RestList | RepoFlavor::PrGet => ProjectFlavor::Full,
        RepoFlavor::PrList => ProjectFlavor::NoUrl,
        RepoFlavor::RestPush => ProjectFlavor::Basic,
    };
    let mut m = Map::new();
    m.insert("id".into(), json!(repo.id));
    m.insert("name".into(), json!(repo.name));
    m.insert("url".into(), json!(repo_url(org, repo)));
    m.insert("project".into(), project_ref(org, project, pflavor));
    if !matches!(flavor, RepoFlavor::PrList | RepoFlavor::PrGet) {
        m.insert("defaultBranch".into(), json!(repo.default_branch));
    }
    if flavor != RepoFlavor::PrList {
        m.insert("remoteUrl".into(), json!(web_url(org, repo)));
    }
    if matches!(
        flavor,
        RepoFlavor::PullRequest | RepoFlavor::RestList | RepoFlavor::PrGet
    ) {
        let host = org.base_url.split('/').nth(2).unwrap_or("localhost");
        m.insert("size".into(), json!(repo.size));
        m.insert(
            "sshUrl".into(),
            json!(format!(
                "ssh://{host}/{}/{}/_git/{}",
                org.name, project.name, repo.name
            )),
        );
        m.insert("webUrl".into(), json!(web_url(org, repo)));
    }
    if matches!(flavor, RepoFlavor::PullRequest | RepoFlavor::RestList) {
        m.insert("isDisabled".into(), json!(false));
    }
    if flavor == RepoFlavor::PullRequest {
        m.insert("isInMaintenance".into(), json!(false));
    }
    Value::Object(m)
}

/// A commit as listed in a push hook: commitId, author, committer, comment, url.
pub fn commit_ref(org: &Org, repo: &Repo, c: &Commit) -> Value {
    let who = &org.people[c.author];
    let date = ts_secs(c.date);
    json!({
        "commitId": c.id,
        "author": signature(who, &date),
        "committer": signature(who, &date),
        "comment": c.comment,
        "url": commit_url(org, repo, &c.id),
    })
}

/// A commit in REST commit lists (adds remoteUrl and _links).
pub fn commit_rest(org: &Org, repo: &Repo, c: &Commit) -> Value {
    let mut v = commit_ref(org, repo, c);
    let web = format!("{}/commit/{}", web_url(org, repo), c.id);
    v["remoteUrl"] = json!(web);
    v["_links"] = json!({
        "self": href(commit_url(org, repo, &c.id)),
        "repository": href(repo_url(org, repo)),
        "web": href(web),
        "changes": href(format!("{}/changes", commit_url(org, repo, &c.id))),
    });
    v
}

fn push_url(org: &Org, repo: &Repo, push: &Push) -> String {
    format!("{}/pushes/{}", repo_url(org, repo), push.push_id)
}

fn push_links(org: &Org, repo: &Repo, push: &Push) -> Value {
    let pusher = &org.people[push.pusher];
    let first_ref = push
        .ref_updates
        .first()
        .map(|r| r.name.trim_start_matches("refs/"))
        .unwrap_or("heads");
    json!({
        "self": href(push_url(org, repo, push)),
        "repository": href(repo_url(org, repo)),
        "commits": href(format!("{}/commits", push_url(org, repo, push))),
        "pusher": href(org.identity_url(pusher)),
        "refs": href(format!("{}/refs/{first_ref}", repo_url(org, repo))),
    })
}

/// The git.push hook resource (resourceVersion 1.0). A push that only deletes refs has no
/// `commits` key at all, as Azure DevOps sends it.
pub fn push_hook(org: &Org, repo: &Repo, push: &Push) -> Value {
    let mut m = Map::new();
    if !push.commits.is_empty() {
        let commits: Vec<Value> = push
            .commits
            .iter()
            .map(|c| commit_ref(org, repo, c))
            .collect();
        m.insert("commits".into(), Value::Array(commits));
    }
    let refs: Vec<Value> = push
        .ref_updates
        .iter()
        .map(|r| json!({"name": r.name, "oldObjectId": r.old_object_id, "newObjectId": r.new_object_id}))
        .collect();
    m.insert("refUpdates".into(), Value::Array(refs));
    m.insert(
        "repository".into(),
        repository(org, repo, RepoFlavor::PushHook),
    );
    m.insert("pushedBy".into(), identity(org, &org.people[push.pusher]));
    m.insert("pushId".into(), json!(push.push_id));
    m.insert("date".into(), json!(ts_ticks(push.date)));
    m.insert("url".into(), json!(push_url(org, repo, push)));
    m.insert("_links".into(), push_links(org, repo, push));
    Value::Object(m)
}

fn rest_ref_updates(repo: &Repo, push: &Push) -> Value {
    push.ref_updates
        .iter()
        .map(|r| {
            json!({
                "repositoryId": repo.id,
                "name": r.name,
                "oldObjectId": r.old_object_id,
                "newObjectId": r.new_object_id,
            })
        })
        .collect()
}

/// One push in `GET …/pushes` (refUpdates only with `searchCriteria.includeRefUpdates=true`).
pub fn push_list_item(org: &Org, repo: &Repo, push: &Push, include_ref_updates: bool) -> Value {
    let mut m = Map::new();
    if include_ref_updates {
        m.insert("refUpdates".into(), rest_ref_updates(repo, push));
    }
    m.insert(
        "repository".into(),
        repository(org, repo, RepoFlavor::RestPush),
    );
    m.insert(
        "pushedBy".into(),
        identity_basic(org, &org.people[push.pusher]),
    );
    m.insert("pushId".into(), json!(push.push_id));
    m.insert("date".into(), json!(ts(push.date)));
    m.insert("url".into(), json!(push_url(org, repo, push)));
    Value::Object(m)
}

/// `GET …/pushes/{pushId}`: commits (up to `include_commits`), optional refUpdates, _links.
pub fn push_get(
    org: &Org,
    repo: &Repo,
    push: &Push,
    include_commits: usize,
    include_ref_updates: bool,
) -> Value {
    let commits: Vec<Value> = push
        .commits
        .iter()
        .take(include_commits)
        .map(|c| commit_ref(org, repo, c))
        .collect();
    let mut v = json!({
        "commits": commits,
        "pushId": push.push_id,
        "date": ts(push.date),
        "pushedBy": identity_basic(org, &org.people[push.pusher]),
        "url": push_url(org, repo, push),
        "_links": push_links(org, repo, push),
    });
    // The REST push object links to its commits but not to a ref (unlike the hook resource).
    if let Some(links) = v["_links"].as_object_mut() {
        links.remove("refs");
    }
    if include_ref_updates {
        v["refUpdates"] = rest_ref_updates(repo, push);
    }
    v
}
