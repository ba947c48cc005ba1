//! build.completed from resourceVersion 2.0, legacy 1.0 and the REST Build object.

use serde_json::{Value, json};

use super::support::{expected_id, shared, shared_rest};
use crate::normalize::{Containers, NormalizeOptions, normalize_resource};

#[test]
fn build_v2() {
    let Some((ev, m)) = shared("build.complete.json") else {
        return;
    };
    assert_eq!(ev.event_type, "build.completed");
    assert_eq!(
        ev.id,
        expected_id(
            "54d02617-2e2d-42b0-b1e2-257059c4c03d",
            "build.completed",
            &["2727068"]
        )
    );
    assert_eq!(
        ev.routing_key,
        "fabrikamfiber.fabrikamfiberchat.build.completed"
    );
    assert_eq!(m["subject"], "builds/2727068");
    assert_eq!(m["time"], "2022-12-02T12:21:08.520904Z");
    assert_eq!(m.get("sequence"), None);
    let d = &m["data"];
    assert_eq!(d["buildNumber"], "20221202.1");
    assert_eq!(
        (d["status"].as_str(), d["result"].as_str()),
        (Some("completed"), Some("succeeded"))
    );
    assert_eq!(
        d["definition"],
        json!({"id": 4658, "name": "MainRepo (1)", "path": "\\"})
    );
    assert_eq!(d["sourceBranch"], "refs/heads/main");
    assert_eq!(
        d["sourceVersion"],
        "6e12f6141917f66a2964af55952ee33914d2d91f"
    );
    assert_eq!(
        d["repository"],
        json!({"id": "e5994ecb-b917-4d23-aa75-d52205c3c19b", "type": "TfsGit", "name": "MainRepo"})
    );
    assert_eq!(d["requestedFor"]["email"], "jack@FabrikamFiber.com");
    assert_eq!(d["queueTime"], "2022-12-02T12:18:45.7367977Z");
    assert_eq!(
        d["webUrl"],
        "https://dev.azure.com/FabrikamFiber/16dcfeeb-d8fd-495c-917b-fec46cb44fbb/_build/results?buildId=2727068"
    );
}

#[test]
fn build_legacy_v1() {
    let Some((ev, m)) = shared("build.complete.3.json") else {
        return;
    };
    let d = &m["data"];
    // 1.0 "status: succeeded" is the result of a completed build.
    assert_eq!(
        (d["status"].as_str(), d["result"].as_str()),
        (Some("completed"), Some("succeeded"))
    );
    assert_eq!(d["sourceBranch"], "refs/heads/master");
    assert_eq!(
        d["sourceVersion"],
        "600c52d2d5b655caa111abfd863e5a9bd304bb0e"
    );
    assert_eq!(d["requestedFor"]["name"], "Normal Paulk");
    assert_eq!(d["project"]["id"], "71777fbc-1cf2-4bd1-9540-128c1c71f766");
    assert_eq!(m["time"], "2015-04-07T18:06:10.69Z");
    assert_eq!(ev.routing_key, "fabrikam-fiber-inc._.build.completed");
    assert_eq!(
        m["source"],
        "https://dev.azure.com/fabrikam-fiber-inc/DefaultCollection/71777fbc-1cf2-4bd1-9540-128c1c71f766"
    );
}

#[test]
fn rest_build_object_is_the_v2_resource() {
    let Some(build) = shared_rest("build.build.get.json") else {
        return;
    };
    let opts = NormalizeOptions {
        include_raw: false,
        ..NormalizeOptions::default()
    };
    let ev = normalize_resource(
        "build.complete",
        Some("2.0"),
        &build,
        &Containers::default(),
        None,
        &opts,
    )
    .unwrap();
    let m: Value = serde_json::from_slice(&ev.body).unwrap();
    assert_eq!(m["data"]["buildId"], 2272);
    assert_eq!(m["data"]["status"], "inProgress");
    assert_eq!(m["data"]["project"]["name"], "Team Module");
    assert_eq!(ev.routing_key, "loecda.team-module.build.completed");
}
