//! Build and pipeline runs, one step per action: queue a run, then (approval →) stage start →
//! job start → job finish … → stage finish, and finally run completion with `build.complete`
//! and, for some classic builds, a release deployment. Classic builds raise only build.complete.

use super::Gen;
use crate::hooks;
use crate::model::build::{Approval, Job, RunResult, RunState, Stage};
use crate::model::{Build, Deployment};

fn queue(g: &mut Gen<'_>) -> &'static str {
    let d = g.rng.index(g.org.definitions.len());
    let def = g.org.definitions[d].clone();
    let repo = &g.org.repos[def.repo];
    let branches: Vec<String> = repo
        .branches
        .keys()
        .filter(|b| b.starts_with("refs/heads/"))
        .cloned()
        .collect();
    let branch = if branches.is_empty() || g.rng.chance(0.6) {
        repo.default_branch.clone()
    } else {
        g.rng.pick(&branches).clone()
    };
    let version = repo
        .branches
        .get(&branch)
        .cloned()
        .unwrap_or_else(|| g.rng.sha());
    let reason = if branch == repo.default_branch {
        *g.rng.pick(&["individualCI", "manual", "schedule"])
    } else {
        "pullRequest"
    };
    let id = g.org.next_build_id;
    g.org.next_build_id += 1;
    let queued = g.now();
    let start = g.later();
    let requested_for = g.person();
    let stages = def
        .stages
        .iter()
        .map(|s| Stage {
            id: if s.name == "__default" {
                crate::ids::ZERO_GUID.to_string()
            } else {
                g.rng.guid()
            },
            name: s.name.clone(),
            state: RunState::NotStarted,
            result: None,
            start: None,
            finish: None,
            change_id: 0,
            jobs: s
                .jobs
                .iter()
                .map(|j| Job {
                    id: g.rng.guid(),
                    name: j.clone(),
                    state: RunState::NotStarted,
                    result: None,
                    start: None,
                    finish: None,
                    change_id: 0,
                    worker: format!("Azure Pipelines {}", g.rng.between(1, 9)),
                })
                .collect(),
            approval: None,
            needs_approval: s.approval,
        })
        .collect();
    let b = Build {
        id,
        number: format!("{}.{}", queued.format("%Y%m%d"), g.rng.between(1, 20)),
        definition: d,
        project: def.project,
        status: RunState::InProgress,
        result: None,
        queue_time: queued,
        start_time: Some(start),
        finish_time: None,
        source_branch: branch,
        source_version: version,
        reason,
        requested_for,
        last_changed: start,
        plan_id: g.rng.guid(),
        timeline_id: g.rng.guid(),
        change_id: 1,
        stages,
        tags: Vec::new(),
        release_after: !def.yaml && g.rng.chance(0.5),
    };
    g.org.builds.push(b);
    if def.yaml {
        let ev = hooks::build::run_state(g.org, g.org.builds.last().expect("just queued"));
        g.emit(ev);
    }
    "build.queue"
}

fn job_result(g: &mut Gen<'_>) -> RunResult {
    match g.rng.between(0, 99) {
        0..=84 => RunResult::Succeeded,
        85..=96 => RunResult::Failed,
        _ => RunResult::Canceled,
    }
}

/// Advances build `bi` by one step; emits the events of that step.
fn advance(g: &mut Gen<'_>, bi: usize) -> &'static str {
    let yaml = g.org.definitions[g.org.builds[bi].definition].yaml;
    let now = g.later();
    let first_open = g.org.builds[bi]
        .stages
        .iter()
        .position(|s| s.state != RunState::Completed);
    let failed = g.org.builds[bi]
        .stages
        .iter()
        .any(|s| matches!(s.result, Some(RunResult::Failed | RunResult::Canceled)));
    let Some(si) = first_open.filter(|_| !failed) else {
        return finish(g, bi, now);
    };
    let change = {
        let b = &mut g.org.builds[bi];
        b.change_id += 1;
        b.last_changed = now;
        b.change_id
    };
    let (state, needs_approval, approval) = {
        let s = &g.org.builds[bi].stages[si];
        (
            s.state,
            s.needs_approval,
            s.approval.as_ref().map(|a| a.status),
        )
    };
    if state == RunState::NotStarted {
        match (needs_approval, approval) {
            (true, None) => {
                let approver = (g.org.builds[bi].requested_for + 1) % g.org.people.len();
                let id = g.rng.guid();
                let checkpoint_id = g.rng.guid();
                g.org.builds[bi].stages[si].approval = Some(Approval {
                    id,
                    checkpoint_id,
                    status: "pending",
                    approver,
                    created_on: now,
                    modified_on: now,
                    comment: String::new(),
                });
                if let Some(ev) = hooks::build::approval(g.org, &g.org.builds[bi], si, false) {
                    g.emit(ev);
                }
                return "build.approval_pending";
            }
            (true, Some("pending")) => {
                let approve = g.rng.chance(0.85);
                let stage = &mut g.org.builds[bi].stages[si];
                if let Some(a) = &mut stage.approval {
                    a.status = if approve { "approved" } else { "rejected" };
                    a.modified_on = now;
                    a.comment = if approve {
                        "Ship it".into()
                    } else {
                        "Not this one".into()
                    };
                }
                if !approve {
                    stage.state = RunState::Completed;
                    stage.result = Some(RunResult::Failed);
                    stage.finish = Some(now);
                    stage.change_id = change;
                }
                if let Some(ev) = hooks::build::approval(g.org, &g.org.builds[bi], si, true) {
                    g.emit(ev);
                }
                return "build.approval_completed";
            }
            _ => {}
        }
        let stage = &mut g.org.builds[bi].stages[si];
        stage.state = RunState::InProgress;
        stage.start = Some(now);
        stage.change_id = change;
        if yaml {
            let ev = hooks::build::stage_state(g.org, &g.org.builds[bi], si);
            g.emit(ev);
        }
        return "build.stage_start";
    }
    // Stage in progress: the next job step, or finish the stage.
    let next_job = g.org.builds[bi].stages[si]
        .jobs
        .iter()
        .position(|j| j.state != RunState::Completed);
    if let Some(ji) = next_job {
        let result = job_result(g);
        let job = &mut g.org.builds[bi].stages[si].jobs[ji];
        job.change_id = change;
        if job.state == RunState::NotStarted {
            job.state = RunState::InProgress;
            job.start = Some(now);
        } else {
            job.state = RunState::Completed;
            job.result = Some(result);
            job.finish = Some(now);
        }
        if yaml {
            let ev = hooks::build::job_state(g.org, &g.org.builds[bi], si, ji);
            g.emit(ev);
        }
        return "build.job_step";
    }
    let stage = &mut g.org.builds[bi].stages[si];
    let worst = stage
        .jobs
        .iter()
        .filter_map(|j| j.result)
        .find(|r| *r != RunResult::Succeeded)
        .unwrap_or(RunResult::Succeeded);
    stage.state = RunState::Completed;
    stage.result = Some(worst);
    stage.finish = Some(now);
    stage.change_id = change;
    if yaml {
        let ev = hooks::build::stage_state(g.org, &g.org.builds[bi], si);
        g.emit(ev);
    }
    "build.stage_finish"
}

fn finish(g: &mut Gen<'_>, bi: usize, now: chrono::DateTime<chrono::Utc>) -> &'static str {
    let yaml = g.org.definitions[g.org.builds[bi].definition].yaml;
    let b = &mut g.org.builds[bi];
    let mut result = RunResult::Succeeded;
    for s in &mut b.stages {
        match s.result {
            Some(RunResult::Failed) => result = RunResult::Failed,
            Some(RunResult::Canceled) if result == RunResult::Succeeded => {
                result = RunResult::Canceled
            }
            Some(RunResult::Succeeded) | Some(_) => {}
            None => {
                // Stages after a failure are skipped.
                s.state = RunState::Completed;
                s.result = Some(RunResult::Skipped);
                for j in &mut s.jobs {
                    j.state = RunState::Completed;
                    j.result = Some(RunResult::Skipped);
                }
            }
        }
    }
    b.status = RunState::Completed;
    b.result = Some(result);
    b.finish_time = Some(now);
    b.last_changed = now;
    b.change_id += 1;
    let release = b.release_after && result == RunResult::Succeeded;
    if yaml {
        let ev = hooks::build::run_state(g.org, &g.org.builds[bi]);
        g.emit(ev);
    }
    let ev = hooks::build::build_complete(g.org, &g.org.builds[bi]);
    g.emit(ev);
    if release {
        deploy(g, bi);
    }
    "build.complete"
}

/// A classic release of a finished build to one environment: started, then completed.
fn deploy(g: &mut Gen<'_>, bi: usize) {
    let b = &g.org.builds[bi];
    let release_id = g.org.next_release_id;
    g.org.next_release_id += 2;
    let env = g.rng.between(0, 1);
    let status = if g.rng.chance(0.85) {
        "succeeded"
    } else {
        "rejected"
    };
    let def = &g.org.definitions[b.definition];
    let (definition_id, definition_name, project, owner) = (
        def.id,
        format!("{} release", def.name),
        b.project,
        b.requested_for,
    );
    let queued_on = g.now();
    let started_on = g.later();
    let dep = Deployment {
        id: release_id + 1,
        release_id,
        release_name: format!("Release-{release_id}"),
        environment_id: release_id * 10 + env,
        environment_name: if env == 0 {
            "Dev".into()
        } else {
            "Prod".into()
        },
        definition_id,
        definition_name,
        definition_environment_id: env + 1,
        project,
        build: bi,
        attempt: 1,
        status,
        owner,
        queued_on,
        started_on,
        modified_on: started_on,
    };
    g.org.deployments.push(dep);
    let ev =
        hooks::build::deployment_started(g.org, g.org.deployments.last().expect("just queued"));
    g.emit(ev);
    let done = g.later();
    if let Some(d) = g.org.deployments.last_mut() {
        d.modified_on = done;
    }
    let ev =
        hooks::build::deployment_completed(g.org, g.org.deployments.last().expect("just deployed"));
    g.emit(ev);
}

pub(super) fn action(g: &mut Gen<'_>) -> &'static str {
    let running: Vec<usize> = (0..g.org.builds.len())
        .filter(|i| g.org.builds[*i].status != RunState::Completed)
        .collect();
    if running.is_empty() || (running.len() < 4 && g.rng.chance(0.3)) {
        return queue(g);
    }
    let bi = *g.rng.pick(&running);
    advance(g, bi)
}
