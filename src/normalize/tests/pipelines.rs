//! pipeline.run/stage/job.state_changed and pipeline.approval.*.

use serde_json::{Value, json};

use super::support::{expected_id, own, shared, shared_edited};

const CANNED: &str = "c12d0eb8-e382-443b-9f9c-c52cba5014c2";

#[test]
fn run_state_changed() {
    let Some((ev, m)) = shared("ms.vss-pipelines.run-state-changed-event.json") else {
        return;
    };
    assert_eq!(
        ev.id,
        expected_id(
            CANNED,
            "pipeline.run.state_changed",
            &["11", "completed", "succeeded"]
        )
    );
    assert_eq!(
        ev.routing_key,
        format!("{CANNED}._.pipeline.run.state_changed")
    );
    assert_eq!(m["subject"], "runs/11");
    assert_eq!(m["partitionkey"], "builds/11");
    assert_eq!(m["time"], "2019-12-13T04:46:13.613Z");
    let d = &m["data"];
    assert_eq!(
        (d["state"].as_str(), d["result"].as_str()),
        (Some("completed"), Some("succeeded"))
    );
    assert_eq!(
        d["pipeline"],
        json!({"id": 11, "name": "TEST-CI", "folder": "\\", "revision": 1})
    );
    assert_eq!(d["runName"], "11");
    // inProgress → completed are two events of one run.
    let (running, m) = shared_edited("ms.vss-pipelines.run-state-changed-event.json", |v| {
        v["resource"]["run"]["state"] = json!("inProgress");
        v["resource"]["run"]["result"] = Value::Null;
        v["resource"]["run"]["finishedDate"] = Value::Null;
    })
    .unwrap();
    assert_ne!(running.id, ev.id);
    assert_eq!(
        running.id,
        expected_id(
            CANNED,
            "pipeline.run.state_changed",
            &["11", "inProgress", ""]
        )
    );
    assert_eq!(m["data"]["result"], Value::Null);
}

#[test]
fn stage_state_changed_default_and_named() {
    let Some((ev, m)) = shared("ms.vss-pipelines.stage-state-changed-event.json") else {
        return;
    };
    // The implicit stage has the zero GUID: its name identifies it.
    assert_eq!(
        ev.id,
        expected_id(
            CANNED,
            "pipeline.stage.state_changed",
            &["2", "__default", "completed", "succeeded"]
        )
    );
    assert_eq!(m["subject"], "runs/2/stages/__default");
    assert_eq!(m["data"]["stageKey"], "__default");

    let (ev, m) = own("ms.vss-pipelines.stage-state-changed-event.named-stage.json");
    let stage = "5b5d4c3a-2e1f-4a6b-9c8d-7e6f5a4b3c2d";
    assert_eq!(
        ev.id,
        expected_id(
            "4a5b6c7d-8e9f-4a0b-9c1d-2e3f4a5b6c7d",
            "pipeline.stage.state_changed",
            &["812", stage, "completed", "failed"]
        )
    );
    // Project name read from the web link, since pipelines events carry no project object.
    assert_eq!(
        ev.routing_key,
        "fabrikamfiber.fabrikam-fiber.pipeline.stage.state_changed"
    );
    assert_eq!(m["time"], "2023-05-04T11:26:40.75Z");
    let d = &m["data"];
    assert_eq!(d["stageName"], "Deploy");
    assert_eq!(d["stageDisplayName"], "Deploy to staging");
    assert_eq!(d["result"], "failed");
    assert_eq!(d["startTime"], "2023-05-04T11:20:00.25Z");
    assert_eq!(d["runName"], "20230504.3");
    // The run's state at that moment is not data (REST could not reproduce it later).
    assert!(d.get("runState").is_none() && d.get("run").is_none());
}

#[test]
fn job_state_changed() {
    let Some((ev, m)) = shared("ms.vss-pipelines.job-state-changed-event.json") else {
        return;
    };
    assert_eq!(
        ev.id,
        expected_id(
            CANNED,
            "pipeline.job.state_changed",
            &["2", "__default/__default", "completed", "succeeded"]
        )
    );
    assert_eq!(m["subject"], "runs/2/jobs/__default/__default");
    assert_eq!(m["partitionkey"], "builds/2");
    assert_eq!(m["time"], "2022-11-21T16:42:52.7761408Z");
    assert_eq!(m["data"]["jobName"], "__default");
    assert_eq!(m["data"]["stageName"], "__default");
    let (real, m) = shared_edited("ms.vss-pipelines.job-state-changed-event.json", |v| {
        v["resource"]["job"]["id"] = json!("12f1170f-54f2-53f3-20dd-22fc7dff55f9")
    })
    .unwrap();
    assert_eq!(m["data"]["jobKey"], "12f1170f-54f2-53f3-20dd-22fc7dff55f9");
    assert_ne!(real.id, ev.id);
}

#[test]
fn approvals_pending_then_completed() {
    let Some((pending, mp)) = shared("ms.vss-pipelinechecks-events.approval-pending.json") else {
        return;
    };
    let (completed, mc) = shared("ms.vss-pipelinechecks-events.approval-completed.json").unwrap();
    let id = "0f027b05-0942-4a35-9218-26fa07d8760a";
    assert_eq!(
        pending.id,
        expected_id(CANNED, "pipeline.approval.pending", &[id, "pending"])
    );
    assert_eq!(
        completed.id,
        expected_id(CANNED, "pipeline.approval.completed", &[id, "approved"])
    );
    assert_eq!(mp["subject"], format!("approvals/{id}"));
    assert_eq!(mc["data"]["status"], "approved");
    assert_eq!(
        mc["data"]["steps"][0]["assignedApprover"]["id"],
        "f8482ec0-3e2f-489b-ba62-ea01cf84afa8"
    );
    assert_eq!(mc["data"]["steps"][0]["comment"], "Sample comment");
    assert_eq!(mc["data"]["minRequiredApprovers"], 2);
    assert_eq!(mc["time"], "2019-12-13T06:18:22.46Z");
    // projectId is the zero GUID in the sample: the project container is used instead.
    assert_eq!(mp["adoproject"], "be9b3917-87e6-42a4-a549-2bc06a7a878f");
}
