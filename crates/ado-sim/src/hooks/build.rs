//! build.complete, the pipelines run/stage/job state events, stage approvals and classic release
//! deployments.

use serde_json::{Value, json};

use super::{NewEvent, filter_case};
use crate::clock::ts;
use crate::event::Message;
use crate::model::build::{RunResult, RunState};
use crate::model::{Build, Deployment, Org};
use crate::render::build::{BuildFlavor, build, build_v1, build_web_url};
use crate::render::pipelines::{job, pipeline, run, stage};

fn state_word(state: RunState, result: Option<RunResult>) -> String {
    match (state, result) {
        (RunState::Completed, Some(r)) => r.as_str().to_string(),
        (RunState::Completed, None) => "completed".into(),
        (RunState::InProgress, _) => "started".into(),
        (RunState::NotStarted, _) => "waiting".into(),
    }
}

fn run_state_filter(state: RunState) -> &'static str {
    match state {
        RunState::Completed => "Completed",
        RunState::InProgress => "InProgress",
        RunState::NotStarted => "NotStarted",
    }
}

fn base(
    org: &Org,
    b: &Build,
    event_type: &'static str,
    resource: Value,
    text: String,
    summary: String,
) -> NewEvent {
    let project = &org.projects[b.project];
    let d = &org.definitions[b.definition];
    let msg = Message::linked("", &text, "", &build_web_url(org, b));
    NewEvent::new(event_type, resource, msg, summary)
        .project(b.project, &project.id)
        .fact("definitionName", d.name.clone())
        .fact("pipelineId", d.id.to_string())
}

pub fn build_complete(org: &Org, b: &Build) -> NewEvent {
    let result = b.result.map(|r| r.as_str()).unwrap_or("none");
    let status = match b.result {
        Some(RunResult::Canceled) => "Stopped".to_string(),
        Some(r) => filter_case(r.as_str()),
        None => String::new(),
    };
    let mut ev = base(
        org,
        b,
        "build.complete",
        build(org, b, BuildFlavor::Hook),
        format!("Build {} {result}", b.number),
        format!("build {} ({}) completed: {result}", b.id, b.number),
    )
    .fact("buildStatus", status)
    .id_part("buildId", b.id);
    ev.resources.push(build_v1(org, b));
    ev
}

pub fn run_state(org: &Org, b: &Build) -> NewEvent {
    let d = &org.definitions[b.definition];
    let word = state_word(b.status, b.result);
    let resource = json!({ "run": run(org, b, true), "pipeline": pipeline(org, d) });
    let mut ev = base(
        org,
        b,
        "ms.vss-pipelines.run-state-changed-event",
        resource,
        format!("Run {} {word}.", b.number),
        format!("run {} {word}", b.id),
    )
    .fact("runStateId", run_state_filter(b.status))
    .id_part("runId", b.id)
    .id_part(
        "state",
        if b.status == RunState::Completed {
            "completed"
        } else {
            "inProgress"
        },
    )
    .id_part("result", b.result.map(|r| r.as_str()));
    if let Some(r) = b.result {
        ev = ev.fact("runResultId", filter_case(r.as_str()));
    }
    ev
}

pub fn stage_state(org: &Org, b: &Build, s_idx: usize) -> NewEvent {
    let d = &org.definitions[b.definition];
    let s = &b.stages[s_idx];
    let word = state_word(s.state, s.result);
    let resource = json!({ "stage": stage(org, b, s, true), "run": run(org, b, false), "pipeline": pipeline(org, d) });
    let mut ev = base(
        org,
        b,
        "ms.vss-pipelines.stage-state-changed-event",
        resource,
        format!("Run {} stage {} {word}.", b.number, s.name),
        format!("run {} stage {} {word}", b.id, s.name),
    )
    .fact("stageNameId", s.name.clone())
    .fact("stageStateId", run_state_filter(s.state))
    .id_part("runId", b.id)
    .id_part("stage", s.name.clone())
    .id_part("state", crate::render::build::status_str(s.state))
    .id_part("result", s.result.map(|r| r.as_str()));
    if let Some(r) = s.result {
        ev = ev.fact("stageResultId", filter_case(r.as_str()));
    }
    ev
}

pub fn job_state(org: &Org, b: &Build, s_idx: usize, j_idx: usize) -> NewEvent {
    let d = &org.definitions[b.definition];
    let repo = &org.repos[d.repo];
    let s = &b.stages[s_idx];
    let j = &s.jobs[j_idx];
    let who = &org.people[b.requested_for];
    let date = crate::clock::ts_secs(b.queue_time);
    let change = org.repos[d.repo]
        .commit(&b.source_version)
        .map(|c| c.comment.clone())
        .unwrap_or_default();
    let resource = json!({
        "job": job(org, b, j),
        "stage": stage(org, b, s, false),
        "run": run(org, b, false),
        "pipeline": pipeline(org, d),
        "repositories": [{
            "type": "Git",
            "change": {
                "author": crate::render::signature(who, &date),
                "committer": crate::render::signature(who, &date),
                "message": change,
            },
            "url": crate::render::git::web_url(org, repo),
        }],
    });
    let word = state_word(j.state, j.result);
    let mut ev = base(
        org,
        b,
        "ms.vss-pipelines.job-state-changed-event",
        resource,
        format!("Run {} stage {} job {} {word}.", b.number, s.name, j.name),
        format!("run {} job {} {word}", b.id, j.name),
    )
    .fact("stageNameId", s.name.clone())
    .fact("jobNameId", j.name.clone())
    .fact("jobStateId", run_state_filter(j.state))
    .id_part("runId", b.id)
    .id_part("jobId", j.id.clone())
    .id_part("state", crate::render::build::status_str(j.state))
    .id_part("result", j.result.map(|r| r.as_str()));
    if let Some(r) = j.result {
        ev = ev.fact("jobResultId", filter_case(r.as_str()));
    }
    ev
}

/// approval-pending (`completed == false`) or approval-completed for the stage's approval.
pub fn approval(org: &Org, b: &Build, s_idx: usize, completed: bool) -> Option<NewEvent> {
    let d = &org.definitions[b.definition];
    let s = &b.stages[s_idx];
    let a = s.approval.as_ref()?;
    let approver = &org.people[a.approver];
    let requester = &org.people[b.requested_for];
    let resource = json!({
        "approval": {
            "id": a.id,
            "steps": [{
                "assignedApprover": { "displayName": approver.display_name, "id": approver.id },
                "status": a.status,
                "comment": a.comment,
                "initiatedOn": ts(a.created_on),
            }],
            "status": a.status,
            "createdOn": ts(a.created_on),
            "lastModifiedOn": ts(a.modified_on),
            "instructions": crate::model::build::approval_instructions(b, s),
            "minRequiredApprovers": 1,
            "blockedApprovers": [{ "displayName": requester.display_name, "id": requester.id }],
            "_links": {},
        },
        "projectId": org.projects[b.project].id,
        "pipeline": pipeline(org, d),
        "stage": stage(org, b, s, false),
        "run": run(org, b, true),
        "resource": null,
        "id": b.id,
        "url": build_web_url(org, b),
        "stageName": s.name,
        "attemptId": 1,
    });
    let (event_type, word) = if completed {
        ("ms.vss-pipelinechecks-events.approval-completed", a.status)
    } else {
        (
            "ms.vss-pipelinechecks-events.approval-pending",
            "waiting for approval",
        )
    };
    Some(
        base(
            org,
            b,
            event_type,
            resource,
            format!("Run {} stage {} {word}.", b.number, s.name),
            format!("run {} stage {} approval {}", b.id, s.name, a.status),
        )
        .fact("stageNameId", s.name.clone())
        .id_part("approvalId", a.id.clone())
        .id_part("status", a.status),
    )
}

fn deployment_status_flag(status: &str) -> &'static str {
    match status {
        "succeeded" => "4",
        "canceled" => "8",
        "rejected" => "16",
        "inProgress" => "2",
        _ => "128",
    }
}

/// ms.vss-release.deployment-started-event (rv 3.0-preview.1): the environment in progress,
/// its deploy step queued.
pub fn deployment_started(org: &Org, dep: &Deployment) -> NewEvent {
    deployment_event(org, dep, false)
}

/// ms.vss-release.deployment-completed-event (rv 3.0-preview.1).
pub fn deployment_completed(org: &Org, dep: &Deployment) -> NewEvent {
    deployment_event(org, dep, true)
}

fn deployment_event(org: &Org, dep: &Deployment, completed: bool) -> NewEvent {
    let project = &org.projects[dep.project];
    let owner = &org.people[dep.owner];
    let (env_status, step_status, operation, modified) = if completed {
        (
            dep.status,
            dep.deployment_status(),
            dep.operation_status(),
            dep.modified_on,
        )
    } else {
        ("inProgress", "inProgress", "Queued", dep.started_on)
    };
    let who = json!({ "id": owner.id, "displayName": owner.display_name, "uniqueName": owner.unique_name });
    let release_url = format!(
        "{}{}/_apis/Release/releases/{}",
        org.base_url, project.id, dep.release_id
    );
    let resource = json!({
        "environment": {
            "id": dep.environment_id,
            "releaseId": dep.release_id,
            "name": dep.environment_name,
            "status": env_status,
            "variables": {},
            "preDeployApprovals": [],
            "postDeployApprovals": [],
            "preApprovalsSnapshot": {
                "approvals": [],
                "approvalOptions": { "requiredApproverCount": 0, "releaseCreatorCanBeApprover": true },
            },
            "postApprovalsSnapshot": { "approvals": [] },
            "deploySteps": [{
                "id": dep.id,
                "deploymentId": dep.id,
                "attempt": dep.attempt,
                "reason": "automated",
                "status": step_status,
                "operationStatus": operation,
                "releaseDeployPhases": [],
                "requestedBy": who,
                "requestedFor": who,
                "queuedOn": ts(dep.queued_on),
                "lastModifiedBy": who,
                "lastModifiedOn": ts(modified),
                "hasStarted": true,
                "tasks": [],
                "runPlanId": null,
                "issues": [],
            }],
            "rank": 1,
            "definitionEnvironmentId": dep.definition_environment_id,
            "queueId": 10 + dep.project as u64,
            "environmentOptions": {
                "emailNotificationType": "OnlyOnFailure",
                "emailRecipients": "release.environment.owner;release.creator",
                "skipArtifactsDownload": false,
                "timeoutInMinutes": 0,
                "enableAccessToken": false,
            },
            "demands": [],
            "conditions": [],
            "modifiedOn": ts(modified),
            "workflowTasks": [{
                "taskId": "497d490f-eea7-4f2b-ab94-48d9c1acdcb1",
                "version": "4.*",
                "name": "Deploy Azure App Service",
                "enabled": true,
                "alwaysRun": false,
                "continueOnError": false,
                "timeoutInMinutes": 0,
                "definitionType": null,
                "inputs": {
                    "ConnectedServiceName": format!("{}-azure", project.name.replace(' ', "-").to_ascii_lowercase()),
                    "WebSiteName": "$(webAppName)",
                    "WebSiteLocation": "West Europe",
                    "Slot": "",
                    "Package": "$(System.DefaultWorkingDirectory)\\**\\*.zip",
                },
            }],
            "deployPhasesSnapshot": [],
            "owner": { "id": owner.id, "displayName": owner.display_name },
            "scheduledDeploymentTime": ts(dep.queued_on),
            "schedules": [],
            "release": { "id": dep.release_id, "name": dep.release_name, "url": release_url },
        },
        "project": { "id": project.id, "name": project.name },
    });
    let msg = Message::linked(
        &format!("Deployment of release {} on environment ", dep.release_name),
        &dep.environment_name,
        &if completed {
            format!(" {}.", super::filter_case(dep.status))
        } else {
            " started.".to_string()
        },
        &release_url,
    );
    let event_type = if completed {
        "ms.vss-release.deployment-completed-event"
    } else {
        "ms.vss-release.deployment-started-event"
    };
    let mut ev = NewEvent::new(
        event_type,
        resource,
        msg,
        format!(
            "release {} deployed to {}: {env_status}",
            dep.release_name, dep.environment_name
        ),
    )
    .fact("projectId", project.id.clone())
    .fact("releaseDefinitionId", dep.definition_id.to_string())
    .fact(
        "releaseEnvironmentId",
        dep.definition_environment_id.to_string(),
    )
    .fact(
        "releaseEnvironmentStatus",
        deployment_status_flag(env_status),
    )
    .id_part("deploymentId", dep.id);
    // Release events carry no project container (docs/contract.md#payloads), but filters still
    // see the project.
    ev.project = None;
    ev
}
