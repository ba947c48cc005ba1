//! The objects of the pipelines events (`ms.vss-pipelines.*`, approvals): pipeline, run, stage, job.

use serde_json::{Map, Value, json};

use super::build::build_web_url;
use super::{href, url_name};
use crate::clock::{ts, ts_ticks};
use crate::model::build::{Job, RunState, Stage};
use crate::model::{Build, Definition, Org};

/// The `pipeline` object of the pipelines events.
pub fn pipeline(org: &Org, d: &Definition) -> Value {
    let project = &org.projects[d.project];
    json!({
        "url": format!("{}{}/_apis/Pipelines/{}?revision={}", org.base_url, project.id, d.id, d.revision),
        "id": d.id,
        "revision": d.revision,
        "name": d.name,
        "folder": "\\",
    })
}

/// The `run` object: with `_links` and `url` for run-state events, without for stage/job events.
pub fn run(org: &Org, b: &Build, with_links: bool) -> Value {
    let d = &org.definitions[b.definition];
    let project = &org.projects[b.project];
    let base = format!("{}{}", org.base_url, project.id);
    let run_url = format!("{base}/_apis/Pipelines/{}/runs/{}", d.id, b.id);
    let mut m = Map::new();
    if with_links {
        m.insert(
            "_links".into(),
            json!({
                "self": href(run_url.clone()),
                "web": href(build_web_url(org, b)),
                "pipeline.web": href(format!("{base}/_build/definition?definitionId={}", d.id)),
                "pipeline": href(format!("{base}/_apis/Pipelines/{}?revision={}", d.id, d.revision)),
            }),
        );
    }
    m.insert("pipeline".into(), pipeline(org, d));
    m.insert(
        "state".into(),
        json!(if b.status == RunState::Completed {
            "completed"
        } else {
            "inProgress"
        }),
    );
    if let Some(r) = b.result {
        m.insert("result".into(), json!(r.as_str()));
    }
    m.insert("createdDate".into(), json!(ts(b.queue_time)));
    if let Some(f) = b.finish_time {
        m.insert("finishedDate".into(), json!(ts(f)));
    }
    if with_links {
        m.insert("url".into(), json!(run_url));
    }
    m.insert("id".into(), json!(b.id));
    m.insert("name".into(), json!(b.number));
    Value::Object(m)
}

fn web_links(org: &Org, b: &Build) -> Value {
    let d = &org.definitions[b.definition];
    let project = &org.projects[b.project];
    json!({
        "web": href(build_web_url(org, b)),
        "pipeline.web": href(format!("{}{}/_build/definition?definitionId={}", org.base_url, url_name(&project.name), d.id)),
    })
}

fn state_str(s: RunState) -> &'static str {
    match s {
        RunState::NotStarted => "notStarted",
        RunState::InProgress => "inProgress",
        RunState::Completed => "completed",
    }
}

/// The `stage` object of stage/job events.
pub fn stage(org: &Org, b: &Build, s: &Stage, with_links: bool) -> Value {
    let mut m = Map::new();
    if with_links {
        m.insert("_links".into(), web_links(org, b));
    }
    m.insert("id".into(), json!(s.id));
    m.insert("name".into(), json!(s.name));
    m.insert(
        "displayName".into(),
        if s.name == "__default" {
            Value::Null
        } else {
            json!(s.name)
        },
    );
    m.insert("state".into(), json!(state_str(s.state)));
    m.insert(
        "result".into(),
        s.result.map(|r| json!(r.as_str())).unwrap_or(Value::Null),
    );
    if !with_links {
        m.insert("startTime".into(), json!(s.start.map(ts_ticks)));
        m.insert("finishTime".into(), json!(s.finish.map(ts_ticks)));
    }
    Value::Object(m)
}

/// The `job` object of job events.
pub fn job(org: &Org, b: &Build, j: &Job) -> Value {
    json!({
        "_links": web_links(org, b),
        "id": j.id,
        "name": j.name,
        "state": state_str(j.state),
        "result": j.result.map(|r| r.as_str()),
        "startTime": j.start.map(ts_ticks),
        "finishTime": j.finish.map(ts_ticks),
    })
}
