//! git.push: creation, update, deletion, on-prem payloads and the REST push.

use serde_json::{Value, json};

use super::support::{expected_id, own, shared, shared_rest};
use crate::normalize::{Containers, NormalizeOptions, normalize_resource};

const TINGLE_COLLECTION: &str = "3fba1bb9-6e8c-4087-b435-29157f94e9a1";

#[test]
fn push_branch_creation_with_one_commit() {
    let Some((ev, m)) = shared("git.push.2.json") else {
        return;
    };
    let repo = "e502622f-ac2b-4635-bec7-5e43d8865f71";
    assert_eq!(ev.event_type, "git.push");
    assert_eq!(ev.routing_key, "dependabot.core.git.push");
    assert_eq!(
        ev.id,
        expected_id(TINGLE_COLLECTION, "git.push", &[repo, "34770"])
    );
    assert_eq!(m["id"], ev.id.as_str());
    assert_eq!(m["subject"], format!("repositories/{repo}/pushes/34770"));
    assert_eq!(m["sequence"], "34770");
    assert_eq!(m["partitionkey"], format!("repositories/{repo}"));
    assert_eq!(m["time"], "2020-12-23T02:04:47.3801166Z");
    assert_eq!(m["adoproject"], "cea8cb01-dd13-4588-b27a-55fa170e4e94");
    assert_eq!(
        m["source"],
        "https://dev.azure.com/dependabot/cea8cb01-dd13-4588-b27a-55fa170e4e94"
    );
    let d = &m["data"];
    assert_eq!(d["pushId"], 34770);
    assert_eq!(d["repository"], json!({"id": repo, "name": "tingle"}));
    assert_eq!(d["project"]["name"], "Core");
    assert_eq!(
        d["pushedBy"],
        json!({"id": "ddc45be0-f1fe-6042-87ac-e6dbbdbc3b45", "name": "Maxwell Weru",
               "email": "example@contoso.com", "uniqueName": "example@contoso.com"})
    );
    assert_eq!(
        d["refUpdates"],
        json!([{"name": "refs/heads/dependabot/npm_and_yarn/webpack-merge-5.7.3",
                "oldObjectId": "0000000000000000000000000000000000000000",
                "newObjectId": "aaf58235f187b26d98a1ad66b6d094501f311afe", "change": "create"}])
    );
    assert_eq!(d["commitCount"], 1);
    assert_eq!(
        d["commits"][0]["commitId"],
        "aaf58235f187b26d98a1ad66b6d094501f311afe"
    );
    assert_eq!(
        d["commits"][0]["author"],
        json!({"name": "dependabot[bot]", "email": "noreply@github.com", "date": "2020-12-23T02:04:46Z"})
    );
    assert_eq!(d["commits"][0]["committer"]["name"], "Maxwell Weru");
    assert!(
        m["data"].get("raw").is_none(),
        "include_raw=false must omit raw"
    );
}

#[test]
fn push_update_with_two_commits_and_server_payload() {
    if let Some((_, m)) = shared("git.push.3.json") {
        let d = &m["data"];
        assert_eq!(d["refUpdates"][0]["change"], "update");
        assert_eq!(
            d["refUpdates"][0]["oldObjectId"],
            "dd6ba920a4b4243162033737c0a1abbd937f4c40"
        );
        assert_eq!(
            d["refUpdates"][0]["newObjectId"],
            "b8a410b1b75ecb203fb5dda54adce2f9d2c87a27"
        );
        let shas: Vec<&str> = d["commits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["commitId"].as_str().unwrap())
            .collect();
        assert_eq!(
            shas,
            [
                "b8a410b1b75ecb203fb5dda54adce2f9d2c87a27",
                "cdebf445da23c0c2d501cb46d4c496e37b40a6fe"
            ]
        );
    }
    // On-prem (collection + project containers only, no baseUrl): the org comes from the
    // resource URL's collection, the pusher's unique name is a login, not an address.
    if let Some((ev, m)) = shared("git.push.6.json") {
        assert_eq!(ev.routing_key, "goodcompany.project.git.push");
        assert_eq!(
            m["source"],
            "https://good-company.some.ssl.host/tfs/GoodCompany/65e40c52-3c5d-487c-8a45-6b852de287a8"
        );
        assert_eq!(m["data"]["pushedBy"]["uniqueName"], "jsmith");
        assert_eq!(m["data"]["pushedBy"]["email"], Value::Null);
    }
}

#[test]
fn branch_deletion_has_no_commits() {
    let (ev, m) = own("git.push.branch-deleted.json");
    assert_eq!(ev.event_type, "git.push");
    let d = &m["data"];
    assert_eq!(d["commits"], json!([]));
    assert_eq!(d["commitCount"], 0);
    assert_eq!(d["refUpdates"][0]["change"], "delete");
    assert_eq!(
        d["refUpdates"][0]["newObjectId"],
        "0000000000000000000000000000000000000000"
    );
    assert_eq!(m["time"], "2020-12-24T09:30:00.5Z");
}

#[test]
fn rest_push_normalizes_like_a_hook() {
    let Some(list) = shared_rest("git.pushes.list.includeRefUpdates.json") else {
        return;
    };
    let Some(commits) = shared_rest("git.commits.list.by-push.json") else {
        return;
    };
    // The reconciler fills `commits` from pushes/{id}/commits.
    let mut push = list["value"][1].clone();
    push["commits"] = commits["value"].clone();
    let opts = NormalizeOptions {
        include_raw: false,
        origin: crate::normalize::Origin::Backfill,
        org_override: Some("fabrikam".into()),
    };
    let ev = normalize_resource(
        "git.push",
        Some("1.0"),
        &push,
        &Containers::default(),
        None,
        &opts,
    )
    .unwrap();
    let m: Value = serde_json::from_slice(&ev.body).unwrap();
    assert_eq!(ev.routing_key, "fabrikam.fabrikam-fiber-git.git.push");
    assert_eq!(m["adoorigin"], "backfill");
    assert_eq!(m["data"]["pushId"], 2);
    assert_eq!(m["data"]["refUpdates"][0]["change"], "create");
    assert_eq!(
        m["data"]["commits"][0]["commitId"],
        "be67f8871a4d2c75f13a51c1d3c30ac0d74d4ef4"
    );
    assert_eq!(m["time"], "2014-01-29T23:34:00.1018737Z");
}
