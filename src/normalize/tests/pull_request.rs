//! Pull requests (created / updated fingerprint / merge attempted) and PR comments (rv 2.0 and 1.0).

use serde_json::{Value, json};

use super::support::{expected_id, shared, shared_edited, shared_rest};
use crate::normalize::{Containers, NormalizeOptions, normalize_resource};

const TINGLE_COLLECTION: &str = "3fba1bb9-6e8c-4087-b435-29157f94e9a1";

#[test]
fn pull_request_updated_state_and_fingerprint() {
    let Some((ev, m)) = shared("git.pullrequest.updated.json") else {
        return;
    };
    // Schema version 2: no merge status in the fingerprint.
    let fp = "completed|6258a2efa589c277ed97e3246b6a59faf0e29859|ddc45be0-f1fe-6042-87ac-e6dbbdbc3b45=10|false|2023-01-18T04:03:21.203845Z";
    assert_eq!(
        ev.id,
        expected_id(TINGLE_COLLECTION, "git.pullrequest.updated", &["22568", fp])
    );
    assert_eq!(ev.routing_key, "dependabot.core.git.pullrequest.updated");
    assert_eq!(m["subject"], "pullrequests/22568");
    assert_eq!(m["time"], "2023-01-18T04:03:21.203845Z");
    let d = &m["data"];
    assert_eq!(d["status"], "completed");
    // An update carries no merge attempt's fields; a completed one its merge commit.
    assert!(d.get("mergeStatus").is_none() && d.get("lastMergeTargetCommit").is_none());
    assert_eq!(
        m["dataschema"],
        "urn:ado-ingest:schema:git.pullrequest.updated:2"
    );
    assert_eq!(d["closedBy"]["email"], "dependabot@tingle.software");
    assert_eq!(d["creationDate"], "2023-01-18T02:05:34.3260021Z");
    assert_eq!(
        d["lastMergeSourceCommit"],
        "6258a2efa589c277ed97e3246b6a59faf0e29859"
    );
    assert_eq!(
        d["lastMergeCommit"],
        "74f9ceb316ef52762eea289d63fbac6c8f2a224d"
    );
    assert_eq!(d["targetRefName"], "refs/heads/main");
    assert_eq!(d["reviewers"][0]["vote"], 10);
    assert_eq!(d["reviewers"][0]["isRequired"], true);
    assert_eq!(d["reviewers"][0]["email"], "mburumaxwell@tingle.software");
}

#[test]
fn pull_request_vote_change_is_a_new_event_reviewer_order_is_not() {
    let Some((base, _)) = shared("git.pullrequest.updated.json") else {
        return;
    };
    let Some((voted, m)) = shared_edited("git.pullrequest.updated.json", |v| {
        v["resource"]["reviewers"][0]["vote"] = json!(-10)
    }) else {
        return;
    };
    assert_ne!(base.id, voted.id);
    assert_eq!(m["data"]["reviewers"][0]["vote"], -10);
    let other =
        json!({"id": "aaaa0000-0000-0000-0000-000000000001", "displayName": "Zed", "vote": 5});
    let add = |first: bool| {
        let other = other.clone();
        move |v: &mut Value| {
            let list = v["resource"]["reviewers"].as_array_mut().unwrap();
            if first {
                list.insert(0, other)
            } else {
                list.push(other)
            }
        }
    };
    let (a, _) = shared_edited("git.pullrequest.updated.json", add(true)).unwrap();
    let (b, _) = shared_edited("git.pullrequest.updated.json", add(false)).unwrap();
    assert_eq!(a.id, b.id);
    assert_ne!(a.id, base.id);
    // isDraft and the source commit are part of the state too.
    let (draft, _) = shared_edited("git.pullrequest.updated.json", |v| {
        v["resource"]["isDraft"] = json!(true)
    })
    .unwrap();
    assert_ne!(draft.id, base.id);
}

#[test]
fn merge_attempted_and_created() {
    let Some((ev, m)) = shared("git.pullrequest.merged.2.json") else {
        return;
    };
    assert_eq!(ev.event_type, "git.pullrequest.merge_attempted");
    assert_eq!(
        ev.id,
        expected_id(
            TINGLE_COLLECTION,
            "git.pullrequest.merge_attempted",
            &[
                "22568",
                "succeeded",
                "6258a2efa589c277ed97e3246b6a59faf0e29859"
            ]
        )
    );
    assert_eq!(
        m["dataschema"],
        "urn:ado-ingest:schema:git.pullrequest.merge_attempted:1"
    );
    // Same resource as git.pullrequest.updated.json, different change.
    let (updated, _) = shared("git.pullrequest.updated.json").unwrap();
    assert_ne!(updated.id, ev.id);

    let Some((ev, m)) = shared("git.pullrequest.created.3.json") else {
        return;
    };
    assert_eq!(
        ev.id,
        expected_id(
            "c12d0eb8-e382-443b-9f9c-c52cba5014c2",
            "git.pullrequest.created",
            &["1"]
        )
    );
    assert_eq!(m["time"], "2014-06-17T16:55:46.589889Z");
    assert_eq!(m["data"]["createdBy"]["name"], "Jamal Hartnett");
    assert_eq!(m["data"]["reviewers"][0]["name"], "[Mobile]\\Mobile Team");
    assert_eq!(m["data"]["reviewers"][0]["email"], Value::Null);
    // No resourceContainers at all (old test notification): the collection is known only by URL.
    let (ev, m) = shared("git.pullrequest.created.2.json").unwrap();
    assert_eq!(
        m["adocollection"],
        "https://fabrikam.visualstudio.com/DefaultCollection/"
    );
    assert_eq!(ev.routing_key, "fabrikam.fabrikam.git.pullrequest.created");
}

#[test]
fn rest_pull_request_gets_the_hook_fingerprint() {
    let Some(pr) = shared_rest("git.pullrequest.get.json") else {
        return;
    };
    let opts = NormalizeOptions {
        include_raw: false,
        ..NormalizeOptions::default()
    };
    let c = Containers::default();
    let ev = normalize_resource(
        "git.pullrequest.updated",
        None,
        &pr,
        &c,
        Some("2016-11-02T00:00:00Z"),
        &opts,
    )
    .unwrap();
    let fp = "active|b60280bc6e62e2f880f1b63c1e24987664d3bda3|d6245f20-2af8-44f4-9451-8107cb2767db=0|false|";
    assert_eq!(
        ev.id,
        expected_id(
            "https://dev.azure.com/fabrikam/",
            "git.pullrequest.updated",
            &["22", fp]
        )
    );
    let m: Value = serde_json::from_slice(&ev.body).unwrap();
    assert_eq!(
        m["time"], "2016-11-02T00:00:00Z",
        "an active PR has no change time of its own"
    );
}

#[test]
fn pr_comment_v2_and_v1_shapes() {
    let Some((ev, m)) = shared("ms.vss-code.git-pullrequest-comment-event.json") else {
        return;
    };
    assert_eq!(ev.event_type, "git.pullrequest.commented");
    assert_eq!(ev.routing_key, "dependabot.core.git.pullrequest.commented");
    assert_eq!(
        ev.id,
        expected_id(
            TINGLE_COLLECTION,
            "git.pullrequest.commented",
            &["22568", "109903", "1", "2023-01-21T13:54:51.827Z"]
        )
    );
    assert_eq!(m["subject"], "pullrequests/22568/threads/109903/comments/1");
    assert_eq!(m["time"], "2023-01-21T13:54:51.827Z");
    let d = &m["data"];
    assert_eq!(
        (d["threadId"].as_i64(), d["commentId"].as_i64()),
        (Some(109903), Some(1))
    );
    assert_eq!(d["parentCommentId"], Value::Null);
    assert_eq!(d["author"]["email"], "dependabot@tingle.software");
    assert_eq!(d["content"], "Deployment to your Review App succeeded.");
    assert_eq!(
        d["repository"]["id"],
        "d5bb1147-bd9f-4ae1-8554-aec3d164f94c"
    );

    // The same comment (PR 1, thread 5, comment 2) as resourceVersion 2.0 and 1.0: one change, one id.
    let (v2, m2) = shared("ms.vss-code.git-pullrequest-comment-event.2.json").unwrap();
    let (v1, m1) = shared("ms.vss-code.git-pullrequest-comment-event.3.json").unwrap();
    assert_eq!(v2.id, v1.id);
    assert_eq!(m1["data"]["pullRequestId"], 1);
    assert_eq!(m1["data"]["threadId"], 5);
    assert_eq!(
        m1["data"]["repository"]["id"],
        "4bc14d40-c903-45e2-872e-0462c7748079"
    );
    assert_eq!(m2["data"]["parentCommentId"], 1);
    assert_eq!(
        v1.routing_key,
        "c12d0eb8-e382-443b-9f9c-c52cba5014c2._.git.pullrequest.commented"
    );
    // An edit (new lastUpdatedDate) is a new event.
    let (edited, _) = shared_edited("ms.vss-code.git-pullrequest-comment-event.3.json", |v| {
        v["resource"]["lastUpdatedDate"] = json!("2014-06-18T10:00:00Z")
    })
    .unwrap();
    assert_ne!(edited.id, v1.id);
}
