//! tfvc.checkin, including multi-project changesets and on-prem `server` containers.

use serde_json::{Value, json};

use super::support::{expected_id, shared, shared_rest};
use crate::normalize::{Containers, NormalizeOptions, normalize_resource};

#[test]
fn multi_project_changeset_has_no_project() {
    let Some((ev, m)) = shared("tfvc.checkin.2.json") else {
        return;
    };
    assert_eq!(
        ev.id,
        expected_id(
            "80c24ec7-6164-46d7-9b2a-ab3d60d8dc71",
            "tfvc.checkin",
            &["22"]
        )
    );
    assert_eq!(ev.routing_key, "testsystem._.tfvc.checkin");
    assert_eq!(m.get("adoproject"), None);
    assert_eq!(m["sequence"], "22");
    assert_eq!(m["subject"], "changesets/22");
    assert_eq!(m["time"], "2017-03-08T20:54:34Z");
    let d = &m["data"];
    assert_eq!(
        d["teamProjectIds"],
        json!([
            "70cf8e3a-3ee1-4127-95d2-7f2563e5dc9e",
            "fdc49ee6-ec19-43a4-bd08-55800484b342"
        ])
    );
    assert_eq!(d["author"]["email"], "scavanaugh@nowhere.com");
    assert_eq!(d["comment"], Value::Null);
}

#[test]
fn on_prem_server_container() {
    let Some((ev, m)) = shared("tfvc.checkin.4.json") else {
        return;
    };
    assert_eq!(ev.routing_key, "defaultcollection._.tfvc.checkin");
    assert_eq!(m["adoproject"], "4428d01a-0a75-4cc6-aaea-cb9664bf113f");
    assert_eq!(
        m["source"],
        "http://tfsbox-2017:8080/tfs/DefaultCollection/4428d01a-0a75-4cc6-aaea-cb9664bf113f"
    );
    let d = &m["data"];
    assert_eq!(d["checkedInBy"]["uniqueName"], "tfsbox-2017\\versionone");
    assert_eq!(d["checkedInBy"]["email"], Value::Null);
    assert_eq!(d["comment"], "Updated Readme.txt");
}

#[test]
fn rest_changeset() {
    let Some(cs) = shared_rest("tfvc.changeset.get.json") else {
        return;
    };
    let opts = NormalizeOptions {
        include_raw: false,
        ..NormalizeOptions::default()
    };
    let ev = normalize_resource(
        "tfvc.checkin",
        Some("1.0"),
        &cs,
        &Containers::default(),
        None,
        &opts,
    )
    .unwrap();
    let m: Value = serde_json::from_slice(&ev.body).unwrap();
    assert_eq!(m["data"]["changesetId"], 16);
    assert_eq!(m["data"]["createdDate"], "2014-03-24T20:21:02.727Z");
    assert_eq!(m["sequence"], "16");
}
