//! Builds (REST and `build.complete` 1.0/2.0) and their timelines.

use serde_json::{Map, Value, json};

use super::{href, identity, identity_basic, project_ref_build};
use crate::clock::{ts, ts_ticks};
use crate::model::build::{Approval, RunResult, RunState, Stage};
use crate::model::{Build, Definition, Org};

/// Which API a build is rendered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildFlavor {
    /// `build.complete` resourceVersion 2.0.
    Hook,
    /// REST `build/builds` (list and get).
    Rest,
}

pub(crate) fn project_base(org: &Org, b: &Build) -> String {
    format!("{}{}", org.base_url, org.projects[b.project].id)
}

pub fn build_url(org: &Org, b: &Build) -> String {
    format!("{}/_apis/build/Builds/{}", project_base(org, b), b.id)
}

pub fn build_web_url(org: &Org, b: &Build) -> String {
    format!("{}/_build/results?buildId={}", project_base(org, b), b.id)
}

pub fn status_str(s: RunState) -> &'static str {
    match s {
        RunState::NotStarted => "notStarted",
        RunState::InProgress => "inProgress",
        RunState::Completed => "completed",
    }
}

/// Build objects carry the project with revision; REST ones also with its description.
fn build_project(org: &Org, project: &crate::model::Project, flavor: BuildFlavor) -> Value {
    let mut v = project_ref_build(org, project);
    if flavor == BuildFlavor::Rest {
        v["description"] = json!(project.description);
    }
    v
}

fn definition_ref(org: &Org, d: &Definition, flavor: BuildFlavor) -> Value {
    let project = &org.projects[d.project];
    json!({
        "drafts": [],
        "id": d.id,
        "name": d.name,
        "url": format!("{}{}/_apis/build/Definitions/{}?revision={}", org.base_url, project.id, d.id, d.revision),
        "uri": format!("vstfs:///Build/Definition/{}", d.id),
        "path": "\\",
        "type": "build",
        "queueStatus": "enabled",
        "revision": d.revision,
        "project": build_project(org, project, flavor),
    })
}

/// The Build object (REST and build.complete 2.0).
pub fn build(org: &Org, b: &Build, flavor: BuildFlavor) -> Value {
    let d = &org.definitions[b.definition];
    let project = &org.projects[b.project];
    let repo = &org.repos[d.repo];
    let base = project_base(org, b);
    let requested = identity(org, &org.people[b.requested_for]);
    let mut m = Map::new();
    m.insert(
        "_links".into(),
        json!({
            "self": href(build_url(org, b)),
            "web": href(build_web_url(org, b)),
            "sourceVersionDisplayUri": href(format!("{base}/_apis/build/builds/{}/sources", b.id)),
            "timeline": href(format!("{base}/_apis/build/builds/{}/Timeline", b.id)),
            "badge": href(format!("{base}/_apis/build/status/{}", d.id)),
        }),
    );
    m.insert("properties".into(), json!({}));
    m.insert("tags".into(), json!(b.tags));
    m.insert("validationResults".into(), json!([]));
    m.insert("plans".into(), json!([{ "planId": b.plan_id }]));
    m.insert("triggerInfo".into(), json!({}));
    m.insert("id".into(), json!(b.id));
    m.insert("buildNumber".into(), json!(b.number));
    if flavor == BuildFlavor::Hook {
        m.insert("buildNumberRevision".into(), json!(1));
    }
    m.insert("status".into(), json!(status_str(b.status)));
    if let Some(r) = b.result {
        m.insert("result".into(), json!(r.as_str()));
    }
    m.insert("queueTime".into(), json!(ts_ticks(b.queue_time)));
    if let Some(t) = b.start_time {
        m.insert("startTime".into(), json!(ts_ticks(t)));
    }
    if let Some(t) = b.finish_time {
        m.insert("finishTime".into(), json!(ts_ticks(t)));
    }
    m.insert("url".into(), json!(build_url(org, b)));
    m.insert("definition".into(), definition_ref(org, d, flavor));
    m.insert("project".into(), build_project(org, project, flavor));
    m.insert(
        "uri".into(),
        json!(format!("vstfs:///Build/Build/{}", b.id)),
    );
    m.insert("sourceBranch".into(), json!(b.source_branch));
    m.insert("sourceVersion".into(), json!(b.source_version));
    let mut pool = json!({ "id": 1, "name": "Azure Pipelines" });
    if flavor == BuildFlavor::Hook {
        pool["isHosted"] = json!(true);
    }
    m.insert(
        "queue".into(),
        json!({ "id": 10 + b.project as u64, "name": "Azure Pipelines", "pool": pool }),
    );
    m.insert("priority".into(), json!("normal"));
    m.insert("reason".into(), json!(b.reason));
    m.insert("requestedFor".into(), requested.clone());
    m.insert("requestedBy".into(), requested.clone());
    m.insert("lastChangedDate".into(), json!(ts_ticks(b.last_changed)));
    m.insert("lastChangedBy".into(), requested);
    if flavor == BuildFlavor::Rest {
        m.insert("parameters".into(), json!("{\"system.debug\":\"false\"}"));
    }
    m.insert("orchestrationPlan".into(), json!({ "planId": b.plan_id }));
    m.insert(
        "logs".into(),
        json!({"id": 0, "type": "Container", "url": format!("{base}/_apis/build/builds/{}/logs", b.id)}),
    );
    m.insert(
        "repository".into(),
        json!({
            "id": repo.id,
            "type": "TfsGit",
            "name": repo.name,
            "url": super::git::web_url(org, repo),
            "clean": null,
            "checkoutSubmodules": false,
        }),
    );
    if flavor == BuildFlavor::Hook {
        m.insert("appendCommitMessageToRunName".into(), json!(true));
    } else {
        m.insert("keepForever".into(), json!(false));
    }
    m.insert("retainedByRelease".into(), json!(b.release_after));
    m.insert("triggeredByBuild".into(), Value::Null);
    Value::Object(m)
}

/// `build.complete` resourceVersion 1.0: the legacy XAML-era shape.
pub fn build_v1(org: &Org, b: &Build) -> Value {
    let d = &org.definitions[b.definition];
    let base = project_base(org, b);
    let who = identity_basic(org, &org.people[b.requested_for]);
    let containers = format!("{}_apis/resources/Containers/{}", org.base_url, b.id);
    let status = b.result.map(|r| r.as_str()).unwrap_or("inProgress");
    json!({
        "uri": format!("vstfs:///Build/Build/{}", b.id),
        "id": b.id,
        "buildNumber": b.number,
        "url": format!("{base}/_apis/build-release/Builds/{}", b.id),
        "startTime": b.start_time.map(ts),
        "finishTime": b.finish_time.map(ts),
        "reason": b.reason,
        "status": status,
        "dropLocation": format!("#/{}/drop", b.id),
        "drop": {
            "location": format!("#/{}/drop", b.id),
            "type": "container",
            "url": format!("{containers}/drop"),
            "downloadUrl": format!("{containers}/drop?$format=zip"),
        },
        "log": {
            "type": "container",
            "url": format!("{containers}/logs"),
            "downloadUrl": format!("{containers}/logs?$format=zip"),
        },
        "sourceGetVersion": format!("LG:{}:{}", b.source_branch, b.source_version),
        "lastChangedBy": who.clone(),
        "retainIndefinitely": false,
        "hasDiagnostics": true,
        "definition": {
            "batchSize": 1,
            "triggerType": "none",
            "definitionType": "build",
            "id": d.id,
            "name": d.name,
            "url": format!("{base}/_apis/build-release/Definitions/{}", d.id),
        },
        "queue": {
            "queueType": "buildController",
            "id": 10 + b.project as u64,
            "name": "Azure Pipelines",
            "url": format!("{}_apis/build-release/Queues/{}", org.base_url, 10 + b.project as u64),
        },
        "requests": [{
            "id": b.id,
            "url": format!("{base}/_apis/build-release/Requests/{}", b.id),
            "requestedFor": who,
        }],
    })
}

/// A stage's approval in the timeline: `Stage → Checkpoint → Checkpoint.Approval`, the approval
/// record's id being the approval id (`inProgress` while pending, `completed` once answered).
/// The timeline does not say who answered: that is in `pipelines/approvals/{id}`.
fn checkpoint_records(s: &Stage, a: &Approval) -> [Value; 2] {
    let pending = a.status == "pending";
    let (state, result, finish) = if pending {
        (RunState::InProgress, None, None)
    } else if a.status == "approved" {
        (
            RunState::Completed,
            Some(RunResult::Succeeded),
            Some(a.modified_on),
        )
    } else {
        (
            RunState::Completed,
            Some(RunResult::Failed),
            Some(a.modified_on),
        )
    };
    let record = |id, parent, kind| Record {
        id,
        parent: Some(parent),
        kind,
        name: kind,
        state,
        result,
        start: Some(a.created_on),
        finish,
        change_id: s.change_id,
        order: 1,
        worker: None,
    };
    [
        record(&a.checkpoint_id, &s.id, "Checkpoint").to_json(),
        record(&a.id, &a.checkpoint_id, "Checkpoint.Approval").to_json(),
    ]
}

/// One timeline record (stage or job) of `GET …/builds/{id}/timeline`.
struct Record<'a> {
    id: &'a str,
    parent: Option<&'a str>,
    kind: &'a str,
    name: &'a str,
    state: RunState,
    result: Option<RunResult>,
    start: Option<chrono::DateTime<chrono::Utc>>,
    finish: Option<chrono::DateTime<chrono::Utc>>,
    change_id: u64,
    order: usize,
    worker: Option<&'a str>,
}

impl Record<'_> {
    fn to_json(&self) -> Value {
        let state = match self.state {
            RunState::NotStarted => "pending",
            RunState::InProgress => "inProgress",
            RunState::Completed => "completed",
        };
        json!({
            "previousAttempts": "",
            "id": self.id,
            "parentId": self.parent,
            "type": self.kind,
            "name": self.name,
            "startTime": self.start.map(ts_ticks),
            "finishTime": self.finish.map(ts_ticks),
            "currentOperation": null,
            "percentComplete": null,
            "state": state,
            "result": self.result.map(|r| r.as_str()),
            "resultCode": null,
            "changeId": self.change_id,
            "lastModified": "0001-01-01T00:00:00",
            "workerName": self.worker,
            "order": self.order,
            "details": null,
            "errorCount": 0,
            "warningCount": 0,
            "url": null,
            "log": null,
            "task": null,
            "attempt": 1,
            "identifier": self.name,
        })
    }
}

/// `GET …/build/builds/{id}/timeline`: one record per stage and per job.
pub fn timeline(org: &Org, b: &Build) -> Value {
    let mut records = Vec::new();
    for (i, s) in b.stages.iter().enumerate() {
        let stage = Record {
            id: &s.id,
            parent: None,
            kind: "Stage",
            name: &s.name,
            state: s.state,
            result: s.result,
            start: s.start,
            finish: s.finish,
            change_id: s.change_id,
            order: i + 1,
            worker: None,
        };
        records.push(stage.to_json());
        if let Some(a) = &s.approval {
            records.extend(checkpoint_records(s, a));
        }
        for (j, job) in s.jobs.iter().enumerate() {
            let rec = Record {
                id: &job.id,
                parent: Some(&s.id),
                kind: "Job",
                name: &job.name,
                state: job.state,
                result: job.result,
                start: job.start,
                finish: job.finish,
                change_id: job.change_id,
                order: j + 1,
                worker: Some(&job.worker),
            };
            records.push(rec.to_json());
        }
    }
    json!({
        "records": records,
        "lastChangedBy": org.service_identity.id,
        "lastChangedOn": ts(b.last_changed),
        "id": b.timeline_id,
        "changeId": b.change_id,
        "url": format!("{}/_apis/build/builds/{}/Timeline/{}", project_base(org, b), b.id, b.timeline_id),
    })
}
