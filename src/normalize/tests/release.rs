//! release.deployment.started / .completed.

use serde_json::json;

use super::support::{expected_id, own, shared};

#[test]
fn deployment_completed_docs_sample() {
    let Some((ev, m)) = shared("ms.vss-release.deployment-completed-event.json") else {
        return;
    };
    // No deploySteps: the release environment and (unknown) attempt identify it.
    assert_eq!(
        ev.id,
        expected_id(
            "c12d0eb8-e382-443b-9f9c-c52cba5014c2",
            "release.deployment.completed",
            &["environment", "5", ""]
        )
    );
    assert_eq!(
        ev.routing_key,
        "c12d0eb8-e382-443b-9f9c-c52cba5014c2.fabrikam.release.deployment.completed"
    );
    assert_eq!(m["subject"], "releases/1/environments/5");
    let d = &m["data"];
    assert_eq!(d["status"], "succeeded");
    assert_eq!(
        d["environment"],
        json!({"id": 5, "name": "Dev", "definitionEnvironmentId": 1})
    );
    assert_eq!(d["release"], json!({"id": 1, "name": "Release-1"}));
    assert_eq!(d["project"]["name"], "Fabrikam");
    assert_eq!(
        d["project"]["id"],
        serde_json::Value::Null,
        "zero GUID is no id"
    );
}

#[test]
fn deployment_started_uses_latest_attempt() {
    let (ev, m) = own("ms.vss-release.deployment-started-event.json");
    assert_eq!(ev.event_type, "release.deployment.started");
    assert_eq!(
        ev.id,
        expected_id(
            "c12d0eb8-e382-443b-9f9c-c52cba5014c2",
            "release.deployment.started",
            &["deployment", "32"]
        )
    );
    assert_eq!(
        ev.routing_key,
        "fabfiber.fabrikam-fiber-git.release.deployment.started"
    );
    assert_eq!(m["time"], "2023-03-01T10:15:30.5Z");
    assert_eq!(m["subject"], "releases/7/environments/5");
    let d = &m["data"];
    assert_eq!(
        (d["deploymentId"].as_i64(), d["attempt"].as_i64()),
        (Some(32), Some(2))
    );
    assert_eq!(d["requestedFor"]["email"], "fabrikamfiber16@hotmail.com");
    assert_eq!(
        d["releaseDefinition"],
        json!({"id": 1, "name": "Fabrikam.CD"})
    );
    assert_eq!(d["deploymentStatus"], "inProgress");
}
