//! A YAML run (a build: runId == buildId) and its timeline records in the shapes of the
//! `ms.vss-pipelines.*-state-changed-event` resources: `{run, pipeline}`, `{stage, run, pipeline}`
//! and `{job, stage, run, pipeline}`, one per state the REST objects prove was reached.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::super::super::ctx::{Ctx, Project, seg};
use super::{display_name, null_or, object, record_state};
use crate::normalize::NormalizedEvent;
use crate::normalize::extract::{as_int, link, str_at};

const RUN_EVENT: &str = "ms.vss-pipelines.run-state-changed-event";
const STAGE_EVENT: &str = "ms.vss-pipelines.stage-state-changed-event";
const JOB_EVENT: &str = "ms.vss-pipelines.job-state-changed-event";
const VERSION: &str = "5.1-preview.1";

pub(super) struct Run<'a> {
    project: &'a Project,
    build: &'a Value,
    pipeline: Value,
    links: Value,
    url: String,
    base_url: String,
}

impl<'a> Run<'a> {
    pub fn new(ctx: &Ctx, project: &'a Project, build: &'a Value) -> Self {
        let def = build.get("definition").unwrap_or(&Value::Null);
        let def_id = def.get("id").and_then(as_int).unwrap_or_default();
        let revision = def.get("revision").cloned().unwrap_or(Value::Null);
        let project_base = format!("{}{}", ctx.base_url, project.id);
        let pipeline_url = format!(
            "{project_base}/_apis/Pipelines/{def_id}?revision={}",
            revision.as_i64().unwrap_or_default()
        );
        let pipeline = json!({
            "url": pipeline_url,
            "id": def_id,
            "revision": revision,
            "name": def.get("name").cloned().unwrap_or(Value::Null),
            "folder": def.get("path").cloned().unwrap_or(Value::Null),
        });
        let id = build.get("id").and_then(as_int).unwrap_or_default();
        let web = link(build, "web")
            .map(str::to_string)
            .unwrap_or_else(|| format!("{project_base}/_build/results?buildId={id}"));
        let links = json!({
            "web": {"href": web},
            // The pipelines events name the project in this link (their only project reference).
            "pipeline.web": {"href": format!("{}{}/_build/definition?definitionId={def_id}", ctx.base_url, seg(&project.name))},
        });
        Self {
            project,
            build,
            pipeline,
            links,
            url: format!("{project_base}/_apis/Pipelines/{def_id}/runs/{id}"),
            base_url: ctx.base_url.clone(),
        }
    }

    pub fn project_id(&self) -> &str {
        &self.project.id
    }

    /// The `pipeline` object of the pipelines events.
    pub fn pipeline(&self) -> &Value {
        &self.pipeline
    }

    /// The `run` object in state `inProgress` or (`completed`) as it finished.
    pub fn run(&self, completed: bool, with_links: bool) -> Value {
        let b = self.build;
        let mut pairs = Vec::new();
        if with_links {
            // The run-state event's links name the project by id (unlike the stage/job links).
            let def = self.pipeline["id"].as_i64().unwrap_or_default();
            let project_base = format!("{}{}", self.base_url, self.project.id);
            let links = json!({
                "self": {"href": self.url},
                "web": self.links["web"],
                "pipeline.web": {"href": format!("{project_base}/_build/definition?definitionId={def}")},
                "pipeline": {"href": self.pipeline["url"]},
            });
            pairs.push(("_links", links));
        }
        pairs.push(("pipeline", self.pipeline.clone()));
        pairs.push((
            "state",
            json!(if completed { "completed" } else { "inProgress" }),
        ));
        if completed && let Some(r) = str_at(b, &["result"]) {
            pairs.push(("result", json!(r)));
        }
        pairs.push((
            "createdDate",
            b.get("queueTime").cloned().unwrap_or(Value::Null),
        ));
        if completed && let Some(f) = b.get("finishTime") {
            pairs.push(("finishedDate", f.clone()));
        }
        if with_links {
            pairs.push(("url", json!(self.url)));
        }
        pairs.push(("id", b.get("id").cloned().unwrap_or(Value::Null)));
        pairs.push(("name", b.get("buildNumber").cloned().unwrap_or(Value::Null)));
        object(pairs)
    }

    fn completed(&self) -> bool {
        str_at(self.build, &["status"]) == Some("completed")
    }

    /// The run's state changes: in progress (every run that started), completed.
    pub fn run_events(&self, ctx: &Ctx) -> Vec<NormalizedEvent> {
        let states: &[bool] = if self.completed() {
            &[false, true]
        } else {
            &[false]
        };
        states
            .iter()
            .filter_map(|done| {
                let resource = json!({"run": self.run(*done, true), "pipeline": self.pipeline});
                ctx.normalize(RUN_EVENT, VERSION, &resource, Some(&self.project.id), None)
            })
            .collect()
    }

    /// Stage and job state changes from the timeline: in progress once started, completed once
    /// finished; records that never started are left out.
    pub fn timeline_events(&self, ctx: &Ctx, timeline: &Value) -> Vec<NormalizedEvent> {
        let records: Vec<&Value> = timeline
            .get("records")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter(|x| x.is_object()).collect())
            .unwrap_or_default();
        let by_id: HashMap<&str, &Value> = records
            .iter()
            .filter_map(|r| str_at(r, &["id"]).map(|id| (id, *r)))
            .collect();
        let run = self.run(false, false);
        let mut events = Vec::new();
        for r in &records {
            if r.get("startTime").is_none_or(Value::is_null) {
                continue;
            }
            let finished = record_state(r) == "completed";
            match str_at(r, &["type"]) {
                Some("Stage") => {
                    for done in [false, true].into_iter().filter(|d| !d || finished) {
                        let resource = json!({
                            "stage": self.stage(r, done, true),
                            "run": run,
                            "pipeline": self.pipeline,
                        });
                        // The stage object of these events has no times: the event's own time
                        // (the hook's `createdDate`) is when the record started or finished.
                        events.extend(ctx.normalize(
                            STAGE_EVENT,
                            VERSION,
                            &resource,
                            Some(&self.project.id),
                            when(r, done),
                        ));
                    }
                }
                // Job state events are raised by Azure DevOps Services only.
                Some("Job") if ctx.hosted => {
                    let Some(stage) = stage_of(r, &by_id) else {
                        continue;
                    };
                    for done in [false, true].into_iter().filter(|d| !d || finished) {
                        let resource = json!({
                            "job": self.job(r, done),
                            "stage": self.stage(stage, record_state(stage) == "completed", false),
                            "run": run,
                            "pipeline": self.pipeline,
                        });
                        events.extend(ctx.normalize(
                            JOB_EVENT,
                            VERSION,
                            &resource,
                            Some(&self.project.id),
                            when(r, done),
                        ));
                    }
                }
                _ => {}
            }
        }
        events
    }

    /// The `stage` object: with links (stage events, no times) or with times (job events).
    fn stage(&self, r: &Value, completed: bool, with_links: bool) -> Value {
        let id = str_at(r, &["id"]).unwrap_or_default();
        let name = str_at(r, &["identifier"])
            .or_else(|| str_at(r, &["name"]))
            .unwrap_or_default();
        let mut pairs = Vec::new();
        if with_links {
            pairs.push(("_links", self.links.clone()));
        }
        pairs.push(("id", json!(id)));
        pairs.push(("name", json!(name)));
        pairs.push(("displayName", display_name(name, id)));
        pairs.push((
            "state",
            json!(if completed { "completed" } else { "inProgress" }),
        ));
        pairs.push((
            "result",
            if completed {
                null_or(str_at(r, &["result"]))
            } else {
                Value::Null
            },
        ));
        if !with_links {
            pairs.push((
                "startTime",
                r.get("startTime").cloned().unwrap_or(Value::Null),
            ));
            pairs.push((
                "finishTime",
                if completed {
                    r.get("finishTime").cloned().unwrap_or(Value::Null)
                } else {
                    Value::Null
                },
            ));
        }
        object(pairs)
    }

    fn job(&self, r: &Value, completed: bool) -> Value {
        json!({
            "_links": self.links,
            "id": str_at(r, &["id"]),
            "name": str_at(r, &["name"]),
            "state": if completed { "completed" } else { "inProgress" },
            "result": if completed { null_or(str_at(r, &["result"])) } else { Value::Null },
            "startTime": r.get("startTime").cloned().unwrap_or(Value::Null),
            "finishTime": if completed { r.get("finishTime").cloned().unwrap_or(Value::Null) } else { Value::Null },
        })
    }
}

/// When a record reached the state: its start (in progress) or finish (completed).
fn when(r: &Value, completed: bool) -> Option<&str> {
    let key = if completed { "finishTime" } else { "startTime" };
    r.get(key).and_then(Value::as_str)
}

/// The stage a job belongs to (through a phase record where Azure DevOps has one).
fn stage_of<'a>(job: &Value, by_id: &HashMap<&str, &'a Value>) -> Option<&'a Value> {
    let mut cur = str_at(job, &["parentId"]);
    for _ in 0..8 {
        let r = *by_id.get(cur?)?;
        if str_at(r, &["type"]) == Some("Stage") {
            return Some(r);
        }
        cur = str_at(r, &["parentId"]);
    }
    None
}
