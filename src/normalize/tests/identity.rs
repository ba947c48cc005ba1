//! Event ids: stable per change, distinct across changes, independent of the delivery (ids of
//! notifications, subscriptions and events, the canned "Test" ids reused across types).

use serde_json::{Value, json};

use super::support::{normalize_bytes, own, shared, shared_edited, shared_sample};

#[test]
fn same_payload_same_id_and_body() {
    let Some(bytes) = shared_sample("git.push.3.json") else {
        return;
    };
    let (a, ma) = normalize_bytes(&bytes);
    let (b, mb) = normalize_bytes(&bytes);
    assert_eq!(a.id, b.id);
    assert_eq!(ma, mb);
}

#[test]
fn delivery_metadata_does_not_change_the_id() {
    let Some((a, _)) = shared("build.complete.json") else {
        return;
    };
    let (b, _) = shared_edited("build.complete.json", |v| {
        v["subscriptionId"] = json!("00000000-0000-0000-0000-000000000000");
        v["notificationId"] = json!(7);
        v["id"] = json!("3b0e5b7e-6e55-4d8b-9b63-1f8e4a6f0c11");
        v["createdDate"] = json!("2030-01-01T00:00:00Z");
        v["message"] = Value::Null;
    })
    .unwrap();
    assert_eq!(a.id, b.id);
    // …but the collection is part of the identity: the same build id elsewhere is another change.
    let (c, _) = shared_edited("build.complete.json", |v| {
        v["resourceContainers"]["collection"]["id"] = json!("99999999-0000-4000-8000-000000000000")
    })
    .unwrap();
    assert_ne!(a.id, c.id);
}

#[test]
fn canned_test_ids_reused_across_types_do_not_collide() {
    // The PR-comment test notification reuses the PR-updated test event id af07be1b-….
    let Some((pr_updated, _)) = shared("git.pullrequest.updated.3.json") else {
        return;
    };
    let (comment, _) = shared("ms.vss-code.git-pullrequest-comment-event.2.json").unwrap();
    assert_ne!(pr_updated.id, comment.id);
    // Even when both are too thin to normalize (passthrough keyed by event id), the type keeps
    // them apart.
    let null_resource = |v: &mut Value| v["resource"] = Value::Null;
    let (a, ma) = shared_edited("git.pullrequest.updated.3.json", null_resource).unwrap();
    let (b, _) = shared_edited(
        "ms.vss-code.git-pullrequest-comment-event.2.json",
        null_resource,
    )
    .unwrap();
    assert_eq!(ma["type"], "ado.passthrough");
    assert_ne!(a.id, b.id);
    // A real delivery carrying the docs' canned id (merged.2) vs the docs sample (merged.4).
    let (real, _) = shared("git.pullrequest.merged.2.json").unwrap();
    let (docs, _) = shared("git.pullrequest.merged.4.json").unwrap();
    assert_ne!(real.id, docs.id);
}

#[test]
fn every_type_gets_distinct_ids_across_all_fixtures() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/fixtures/ado-samples"
    );
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut ids = std::collections::HashMap::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if !name.ends_with(".json") {
            continue;
        }
        let (ev, m) = normalize_bytes(&std::fs::read(e.path()).unwrap());
        assert_ne!(
            m["type"], "ado.passthrough",
            "{name} must have a dedicated normalizer"
        );
        if let Some(prev) = ids.insert(ev.id.clone(), name.clone()) {
            // The only legitimate duplicates are the same change delivered in two shapes.
            let pair = [prev.as_str(), name.as_str()];
            let same_comment = pair.iter().all(|n| {
                n.starts_with("ms.vss-code.git-pullrequest-comment-event.")
                    && !n.ends_with("event.json")
            });
            let same_canned_item = pair.iter().all(|n| n.starts_with("workitem.commented."));
            assert!(
                same_comment || same_canned_item,
                "unexpected id collision: {pair:?}"
            );
        }
    }
}

#[test]
fn unknown_and_none_resources_are_passthrough() {
    let (ev, m) = own("git.repo.created.unknown-type.json");
    assert_eq!(ev.event_type, "ado.passthrough");
    assert_eq!(ev.routing_key, "dependabot._.ado.passthrough");
    assert_eq!(m["subject"], "events/8e3a1f2b-51c4-4d4e-a6f2-7b2c9d0e1f23");
    assert_eq!(m["time"], "2023-02-01T08:00:00.5Z");
    assert_eq!(m["data"]["eventType"], "git.repo.created");
    assert_eq!(m["data"]["resourceVersion"], "1.0-preview.1");
    let (ev, m) = own("git.push.none-resource.json");
    assert_eq!(ev.event_type, "ado.passthrough");
    assert_eq!(m["data"]["resourceVersion"], Value::Null);
}
