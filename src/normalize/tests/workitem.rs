//! workitem.created / updated / deleted / restored / commented, link-only updates, and the
//! REST (reporting revisions) path producing the same event.

use serde_json::{Value, json};

use super::support::{expected_id, own, shared, shared_edited, shared_rest};
use crate::normalize::rest_shapes::workitem_update_from_revisions;
use crate::normalize::{Containers, NormalizeOptions, normalize_resource, parse_envelope};

const OUNO: &str = "2245531e-4735-4f13-81d1-a4a33d5532a1";
const CANNED: &str = "c12d0eb8-e382-443b-9f9c-c52cba5014c2";

#[test]
fn updated_state_transition() {
    let Some((ev, m)) = shared("workitem.updated.2.json") else {
        return;
    };
    assert_eq!(ev.id, expected_id(OUNO, "workitem.updated", &["13", "2"]));
    assert_eq!(ev.routing_key, "ouno.virtual-currency.workitem.updated");
    assert_eq!(m["subject"], "workitems/13");
    assert_eq!(m["sequence"], "2");
    assert_eq!(m["time"], "2021-08-07T15:41:50.23Z");
    let d = &m["data"];
    // `id` of the resource is the update number (2); the item is `workItemId`.
    assert_eq!(
        (d["workItemId"].as_i64(), d["rev"].as_i64()),
        (Some(13), Some(2))
    );
    assert_eq!(
        d["changes"]["System.State"],
        json!({"oldValue": "New", "newValue": "Approved"})
    );
    assert_eq!(
        d["changes"]["System.Reason"],
        json!({"oldValue": "New defect reported", "newValue": "Approved by the Product Owner"})
    );
    assert!(
        d["changes"].get("System.Rev").is_none() && d["changes"].get("System.Watermark").is_none()
    );
    assert_eq!(
        d["changedBy"],
        json!({"id": null, "name": "欧俊", "email": "luacloud@gmail.com", "uniqueName": "luacloud@gmail.com"})
    );
    assert_eq!(d["assignedTo"]["email"], "oujun@housecool.com");
    assert_eq!(
        (d["state"].as_str(), d["workItemType"].as_str()),
        (Some("Approved"), Some("Bug"))
    );
    assert_eq!(d["linkOnly"], false);
}

#[test]
fn updated_canned_payload_with_string_revs_and_zero_item_id() {
    let Some((ev, m)) = shared("workitem.updated.3.json") else {
        return;
    };
    // workItemId is 0 in the canned payload; the item id comes from `revision.id`.
    assert_eq!(ev.id, expected_id(CANNED, "workitem.updated", &["5", "2"]));
    assert_eq!(
        m["data"]["changes"]["System.AssignedTo"],
        json!({"oldValue": null, "newValue": {"id": null, "name": "Jamal Hartnet", "email": null, "uniqueName": null}})
    );
    assert_eq!(
        m["data"]["changes"]["Microsoft.VSTS.Common.Severity"]["newValue"],
        "2 - High"
    );
    assert_eq!(m["time"], "2014-07-15T17:42:44.663Z");
}

#[test]
fn two_updates_of_one_item_differ_redelivery_does_not() {
    let Some((a, _)) = shared("workitem.updated.2.json") else {
        return;
    };
    let (b, _) = shared_edited("workitem.updated.2.json", |v| {
        v["resource"]["rev"] = json!(3);
        v["resource"]["id"] = json!(3);
        v["resource"]["fields"]["System.Rev"] = json!({"oldValue": 2, "newValue": 3});
    })
    .unwrap();
    assert_ne!(a.id, b.id);
    // A retry / another subscription: new notification and event ids, same change.
    let (c, _) = shared_edited("workitem.updated.2.json", |v| {
        v["notificationId"] = json!(99);
        v["subscriptionId"] = json!("11111111-2222-4333-8444-555555555555");
        v["id"] = json!("99999999-8888-4777-8666-555555555555");
    })
    .unwrap();
    assert_eq!(a.id, c.id);
}

#[test]
fn link_only_update_adds_its_relation_changes() {
    let (ev, m) = own("workitem.updated.link-only.json");
    let coll = "a0b1c2d3-0000-4000-8000-000000000001";
    assert_eq!(
        ev.id,
        expected_id(
            coll,
            "workitem.updated",
            &["1", "2", "+System.LinkTypes.Hierarchy-Reverse>2"]
        )
    );
    assert_eq!(ev.routing_key, "fabrikam.myagilepro1.workitem.updated");
    assert_eq!(m["time"], "2017-09-04T02:33:39.23Z");
    let d = &m["data"];
    assert_eq!(d["linkOnly"], true);
    assert!(d.get("updateId").is_none());
    assert_eq!(d["changes"], json!({}));
    assert_eq!(
        d["relations"]["added"],
        json!([{"rel": "System.LinkTypes.Hierarchy-Reverse", "workItemId": 2, "url": null}])
    );
    assert_eq!(d["assignedTo"]["email"], "fabrikamfiber4@hotmail.com");
    let sample: Value = serde_json::from_slice(&super::support::own_sample(
        "workitem.updated.link-only.json",
    ))
    .unwrap();
    let id_of = |edit: &dyn Fn(&mut Value)| {
        let mut v = sample.clone();
        edit(&mut v);
        super::support::normalize_bytes(&serde_json::to_vec(&v).unwrap())
            .0
            .id
    };
    // Another relation change on the same rev is another event.
    let other = id_of(&|v| {
        v["resource"]["relations"]["added"][0]["url"] =
            json!("https://dev.azure.com/fabrikam/_apis/wit/workItems/7")
    });
    assert_ne!(other, ev.id);
    let removed = id_of(&|v| {
        let r = v["resource"]["relations"]["added"].take();
        v["resource"]["relations"] = json!({ "removed": r });
    });
    assert_ne!(removed, ev.id);
    // The same change found by REST (no update number, the host spelled differently) is the
    // same event.
    let from_rest = id_of(&|v| {
        v["resource"].as_object_mut().unwrap().remove("id");
        v["resource"]["relations"]["added"][0]["url"] =
            json!("https://fabrikam.visualstudio.com/_apis/wit/workitems/2");
    });
    assert_eq!(from_rest, ev.id);
}

#[test]
fn relation_targets_are_work_item_ids_or_urls() {
    use crate::normalize::workitem::linked_work_item;
    assert_eq!(
        linked_work_item("https://dev.azure.com/o/_apis/wit/workItems/42"),
        Some(42)
    );
    assert_eq!(
        linked_work_item("https://tfs.example.com/tfs/C/_apis/wit/WorkItems/7/"),
        Some(7)
    );
    assert_eq!(
        linked_work_item("https://dev.azure.com/o/_apis/wit/attachments/42"),
        None
    );
    assert_eq!(linked_work_item("vstfs:///Git/Commit/x"), None);
}

#[test]
fn minimal_update_is_passthrough() {
    let (ev, m) = own("workitem.updated.minimal.json");
    assert_eq!(ev.event_type, "ado.passthrough");
    assert_eq!(m["data"]["eventType"], "workitem.updated");
    assert_eq!(ev.routing_key, "ouno._.ado.passthrough");
    assert_eq!(
        ev.id,
        expected_id(
            OUNO,
            "ado.passthrough",
            &["workitem.updated", "c9d2e3f4-1a2b-4c3d-8e4f-5a6b7c8d9e0f"]
        )
    );
}

#[test]
fn created_deleted_restored_commented() {
    let Some((created, m)) = shared("workitem.created.json") else {
        return;
    };
    assert_eq!(
        created.id,
        expected_id(CANNED, "workitem.created", &["5", "1"])
    );
    assert_eq!(
        created.routing_key,
        "defaultcollection.goodcompanycloud.workitem.created"
    );
    assert_eq!(m["time"], "2014-07-15T17:42:44.663Z");
    let d = &m["data"];
    assert_eq!(
        d["createdBy"],
        json!({"id": null, "name": "Jamal Hartnett", "email": null, "uniqueName": null})
    );
    assert_eq!(d["iterationPath"], "GoodCompanyCloud\\Release 1\\Sprint 1");
    assert_eq!(d["title"], "Some great new idea!");

    // Deleted and restored at the same rev are different changes (the kind is in the type).
    let (deleted, md) = shared("workitem.deleted.json").unwrap();
    let (restored, mr) = shared("workitem.restored.json").unwrap();
    assert_eq!(
        deleted.id,
        expected_id(CANNED, "workitem.deleted", &["5", "1"])
    );
    assert_ne!(deleted.id, restored.id);
    assert_ne!(deleted.id, created.id);
    // A deletion happens when the event is raised, not at the last edit.
    assert_eq!(md["time"], "2016-05-02T19:17:28.3644564Z");
    assert_eq!(mr["time"], "2016-05-02T19:18:15.5707279Z");

    let (commented, mc) = shared("workitem.commented.2.json").unwrap();
    assert_eq!(
        commented.id,
        expected_id(CANNED, "workitem.commented", &["5", "4"])
    );
    assert_eq!(mc["data"]["comment"], "This is a great new idea");
    assert_eq!(mc["sequence"], "4");
}

#[test]
fn reporting_revisions_reproduce_the_hook_event() {
    let Some(bytes) = super::support::shared_sample("workitem.updated.2.json") else {
        return;
    };
    let env = parse_envelope(&bytes).unwrap();
    let opts = NormalizeOptions {
        include_raw: false,
        ..NormalizeOptions::default()
    };
    let hook = crate::normalize::normalize_hook(&env, &opts);
    // What the reporting API returns for rev 2 (the revision) and rev 1 (old values applied back).
    let cur = json!({"id": 13, "rev": 2, "fields": env.resource["revision"]["fields"].clone()});
    let mut prev = cur.clone();
    prev["rev"] = json!(1);
    for (name, change) in env.resource["fields"].as_object().unwrap() {
        if let Some(old) = change.get("oldValue") {
            prev["fields"][name] = old.clone();
        }
    }
    let update = workitem_update_from_revisions(Some(&prev), cur.clone());
    let rest = normalize_resource(
        "workitem.updated",
        Some("1.0"),
        &update,
        &env.containers,
        None,
        &opts,
    )
    .unwrap();
    assert_eq!(rest.id, hook.id);
    assert_eq!(rest.time, hook.time);
    let (h, r): (Value, Value) = (
        serde_json::from_slice(&hook.body).unwrap(),
        serde_json::from_slice(&rest.body).unwrap(),
    );
    assert_eq!(h["data"], r["data"]);
}

#[test]
fn reporting_revision_row_as_created() {
    let Some(page) = shared_rest("wit.reporting.workitemrevisions.get.json") else {
        return;
    };
    let row = page["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rev"] == 1)
        .unwrap()
        .clone();
    let opts = NormalizeOptions {
        include_raw: false,
        ..NormalizeOptions::default()
    };
    let ev = normalize_resource(
        "workitem.created",
        Some("1.0"),
        &row,
        &Containers::default(),
        None,
        &opts,
    )
    .unwrap();
    let m: Value = serde_json::from_slice(&ev.body).unwrap();
    assert_eq!(m["data"]["workItemId"], row["id"]);
    assert_eq!(m["data"]["rev"], 1);
    assert_eq!(
        m["data"]["workItemType"],
        row["fields"]["System.WorkItemType"]
    );
}
