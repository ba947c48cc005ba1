//! The fidelity rules of the simulator's hook payloads against ../shared/fixtures/ado-samples: which
//! samples are evidence for which payloads, which differences a kind of change explains, and the
//! per-field checks of work-item field maps (see `shape` for the structural rules).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::shape::{Shape, invented, missing, shape, under, union};

/// Envelope keys real deliveries carry inconsistently: `scope` ("all") is in the 2023 real
/// `git.pullrequest.merged.2.json` but not in the 2023 real `git.pullrequest.updated.json` from the
/// same organization, nor in the 2020 real git.push deliveries. The simulator does not send it.
pub const ENVELOPE_OPTIONAL: &[&str] = &["scope"];

/// Known defects of particular samples, ignored for containment (with the reason).
pub const SAMPLE_DEFECTS: &[(&str, &str)] = &[
    // The docs' product rename replaced "VSTS" inside a field reference name.
    (
        "workitem.commented.3.json",
        "⟨fields⟩/Microsoft.Azure DevOps Services.Common.Severity",
    ),
    // A canned "Test" notification; real TFVC deliveries (tfvc.checkin.json, .2, .4) have no
    // project container because a changeset can span projects (docs/contract.md#payloads).
    ("tfvc.checkin.5.json", "resourceContainers/project"),
];

/// Fields every save changes (the rest of a `workitem.updated` diff depends on what changed).
pub const BOOKKEEPING: &[&str] = &[
    "System.Rev",
    "System.AuthorizedDate",
    "System.RevisedDate",
    "System.ChangedDate",
    "System.Watermark",
];

/// Fields the Agile process only has on bugs.
pub const BUG_FIELDS: &[&str] = &[
    "Microsoft.VSTS.Common.Severity",
    "Microsoft.VSTS.TCM.ReproSteps",
    "Microsoft.VSTS.TCM.SystemInfo",
    "Microsoft.VSTS.Common.AcceptanceCriteria",
];

pub fn hook_remap(event_type: &str) -> impl Fn(&str) -> Option<&'static str> + '_ {
    move |path: &str| match path {
        "resource/fields" if event_type == "workitem.updated" => Some("⟨changes⟩"),
        "resource/fields" if event_type.starts_with("workitem.") => Some("⟨fields⟩"),
        "resource/revision/fields" => Some("⟨fields⟩"),
        _ => None,
    }
}

pub fn rest_remap(path: &str) -> Option<&'static str> {
    match path {
        "value[]/fields" | "values[]/fields" | "fields" => Some("⟨fields⟩"),
        _ => None,
    }
}

pub fn updates_remap(path: &str) -> Option<&'static str> {
    matches!(path, "value[]/fields" | "fields").then_some("⟨changes⟩")
}

/// What a payload of this kind of change may lack (or have null) that a sample of another kind has.
pub fn exempt(event_type: &str, p: &Value, path: &str) -> bool {
    if ENVELOPE_OPTIONAL.iter().any(|e| under(path, e)) {
        return true;
    }
    let r = &p["resource"];
    let pr_exempt = |pr: &Value, prefix: &str| {
        let status = pr["status"].as_str().unwrap_or("");
        let mut ex = Vec::new();
        if status == "active" {
            ex.extend(["closedDate", "closedBy"]);
        }
        if status != "completed" {
            ex.extend(["completionQueueTime", "completionOptions"]);
        }
        if pr.get("lastMergeCommit").is_none() {
            ex.push("lastMergeCommit");
        }
        ex.iter().any(|k| under(path, &format!("{prefix}/{k}")))
    };
    let not_done = |v: &Value| v["state"].as_str() != Some("completed");
    match event_type {
        "git.push" => r.get("commits").is_none() && under(path, "resource/commits"),
        "git.pullrequest.created" | "git.pullrequest.updated" | "git.pullrequest.merged" => {
            pr_exempt(r, "resource")
        }
        "ms.vss-code.git-pullrequest-comment-event" => {
            pr_exempt(&r["pullRequest"], "resource/pullRequest")
        }
        "ms.vss-pipelines.run-state-changed-event" => {
            not_done(&r["run"])
                && (under(path, "resource/run/result") || under(path, "resource/run/finishedDate"))
        }
        "ms.vss-pipelines.stage-state-changed-event"
        | "ms.vss-pipelines.job-state-changed-event" => {
            (not_done(&r["run"])
                && (under(path, "resource/run/result") || under(path, "resource/run/finishedDate")))
                || (not_done(&r["stage"])
                    && ["result", "startTime", "finishTime"]
                        .iter()
                        .any(|k| under(path, &format!("resource/stage/{k}"))))
                || (not_done(&r["job"])
                    && ["result", "startTime", "finishTime"]
                        .iter()
                        .any(|k| under(path, &format!("resource/job/{k}"))))
        }
        t if t.starts_with("workitem.") => {
            let wi_type = r["fields"]["System.WorkItemType"]
                .as_str()
                .or(r["revision"]["fields"]["System.WorkItemType"].as_str())
                .unwrap_or("");
            if wi_type != "Bug"
                && BUG_FIELDS
                    .iter()
                    .any(|f| under(path, &format!("⟨fields⟩/{f}")))
            {
                return true;
            }
            if t == "workitem.updated" && path.starts_with("⟨changes⟩") {
                // Link-only updates have no field changes; saves always change the bookkeeping fields.
                let link_only = r.get("fields").is_none();
                return link_only
                    || !BOOKKEEPING
                        .iter()
                        .any(|f| under(path, &format!("⟨changes⟩/{f}")));
            }
            t == "workitem.updated" && r.get("fields").is_none() && path == "resource/fields"
        }
        _ => false,
    }
}

/// Event types whose resources are the same object type (their samples are evidence for each other).
pub const SAME_RESOURCE: &[&[&str]] = &[
    &[
        "git.pullrequest.created",
        "git.pullrequest.updated",
        "git.pullrequest.merged",
    ],
    &[
        "ms.vss-pipelinechecks-events.approval-pending",
        "ms.vss-pipelinechecks-events.approval-completed",
    ],
    &[
        "workitem.created",
        "workitem.deleted",
        "workitem.restored",
        "workitem.commented",
    ],
];

pub fn same_resource(a: &str, b: &str) -> bool {
    a == b
        || SAME_RESOURCE
            .iter()
            .any(|g| g.contains(&a) && g.contains(&b))
}

/// Splits a field-map path into (field name, path inside the field's value), or None for the
/// map entry of a `⟨changes⟩` diff itself (`⟨changes⟩/N`).
pub fn field_value_path(p: &str) -> Option<Result<(&str, &str), String>> {
    let mut parts = p.splitn(3, '/');
    let (map, name, rest) = (parts.next()?, parts.next()?, parts.next().unwrap_or(""));
    match map {
        "⟨fields⟩" => Some(Ok((name, rest))),
        "⟨changes⟩" if rest.is_empty() => None,
        "⟨changes⟩" => {
            let (k, sub) = rest.split_once('/').unwrap_or((rest, ""));
            match k {
                "oldValue" | "newValue" => Some(Ok((name, sub))),
                other => Some(Err(format!("invented `{other}` in `{p}`"))),
            }
        }
        _ => None,
    }
}

/// Work-item fields are checked by name against every field seen in any sample, wherever they
/// sit: `⟨fields⟩/N/…` and the `oldValue`/`newValue` of `⟨changes⟩/N` must have a shape some
/// sample's value of N has.
pub fn field_problems(sim: &Shape, field_types: &FieldTypes) -> Vec<String> {
    let mut out = Vec::new();
    for (p, info) in sim.iter().filter(|(p, _)| p.starts_with('⟨')) {
        let (name, sub) = match field_value_path(p) {
            None => continue,
            Some(Err(e)) => {
                out.push(e);
                continue;
            }
            Some(Ok(x)) => x,
        };
        let Some(known) = field_types.get(name) else {
            out.push(format!("invented field `{name}` ({p})"));
            continue;
        };
        let open_above = std::iter::successors(Some(sub), |s| {
            s.rfind('/')
                .map(|i| &s[..i])
                .or((!s.is_empty()).then_some(""))
        })
        .skip(1)
        .any(|a| known.get(a).is_some_and(|i| i.open));
        if open_above {
            continue;
        }
        match known.get(sub) {
            None => out.push(format!("field `{name}` has no `{sub}` in any sample ({p})")),
            Some(k) if k.types.contains("null") => {}
            Some(k) => {
                for t in &info.types {
                    if !k.types.contains(t) {
                        out.push(format!(
                            "field `{name}` is {t} at `{p}`, samples have {:?}",
                            k.types
                        ));
                    }
                }
            }
        }
    }
    out
}

/// Per field name: the shape of its values (`""` = the value itself).
pub type FieldTypes = BTreeMap<String, Shape>;

/// Every work-item field seen in any hook or REST sample, with the JSON types of its values.
pub fn field_pool(samples: &[Sample], rest_dir: &Path) -> (Shape, FieldTypes) {
    let mut pools: Vec<Shape> = samples
        .iter()
        .map(|s| {
            s.shape
                .iter()
                .filter(|(p, _)| p.starts_with('⟨'))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .collect();
    for f in [
        "wit.reporting.workitemrevisions.get.json",
        "wit.reporting.workitemrevisions.get.watermark.json",
        "wit.workitemsbatch.json",
        "wit.workitems.list.json",
        "wit.workitem.get.json",
    ] {
        pools.push(shape(&super::read_json(&rest_dir.join(f)), &rest_remap));
    }
    pools.push(shape(
        &super::read_json(&rest_dir.join("wit.workitem.updates.list.json")),
        &updates_remap,
    ));
    let field_pool: Shape = union(&pools)
        .into_iter()
        .filter(|(p, _)| p.starts_with('⟨'))
        .collect();
    let mut field_types = FieldTypes::new();
    for (p, info) in &field_pool {
        if let Some(Ok((name, sub))) = field_value_path(p) {
            let e = field_types
                .entry(name.to_string())
                .or_default()
                .entry(sub.to_string())
                .or_default();
            e.types.extend(info.types.iter().copied());
            e.open |= info.open;
        }
    }
    (field_pool, field_types)
}

pub struct Sample {
    pub file: String,
    pub value: Value,
    pub shape: Shape,
}

pub fn style_of(v: &Value) -> Option<&'static str> {
    let c = &v["resourceContainers"];
    if c.get("server").is_some() {
        Some("server")
    } else if c.get("account").is_some() {
        Some("services")
    } else {
        None
    }
}

pub fn event_type_of(file: &str) -> &str {
    let stem = file.trim_end_matches(".json");
    stem.rsplit_once('.')
        .filter(|(_, n)| n.parse::<u32>().is_ok())
        .map(|(s, _)| s)
        .unwrap_or(stem)
}

pub fn load_samples(dir: &Path) -> Vec<Sample> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        if !file.ends_with(".json") {
            continue;
        }
        let value = super::read_json(&path);
        let et = event_type_of(&file).to_string();
        let shape = shape(&value, &hook_remap(&et));
        out.push(Sample { file, value, shape });
    }
    out.sort_by(|a, b| a.file.cmp(&b.file));
    out
}

/// Compares every delivered payload, grouped by (event type, resource version) with its style
/// (`services` / `server`), with the samples; returns the problems found.
pub fn check_hooks(
    samples: &[Sample],
    rest_dir: &Path,
    delivered: &BTreeMap<(String, String), Vec<(&'static str, Value)>>,
) -> Vec<String> {
    // Allowed paths: the group's samples, the envelope of every sample, and every work-item field
    // name seen in any hook or REST sample.
    let envelope = union(
        &samples
            .iter()
            .map(|s| {
                s.shape
                    .iter()
                    .filter(|(p, _)| {
                        !p.starts_with("resource")
                            || p.starts_with("resourceContainers")
                            || p.as_str() == "resourceVersion"
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .collect::<Vec<Shape>>(),
    );
    let (field_pool, field_types) = field_pool(samples, rest_dir);
    // The hook resource of workitem.updated is the REST WorkItemUpdate: its REST sample (which has
    // link-only updates with `relations`) is evidence for the resource's key paths too.
    let updates_rest = shape(
        &super::read_json(&rest_dir.join("wit.workitem.updates.list.json")),
        &updates_remap,
    );
    let updates_as_resource: Shape = updates_rest
        .iter()
        .filter_map(|(p, i)| {
            p.strip_prefix("value[]/")
                .map(|rest| (format!("resource/{rest}"), i.clone()))
        })
        .collect();

    let mut problems = Vec::new();
    let mut groups: BTreeMap<(String, String), Vec<&Sample>> = BTreeMap::new();
    for s in samples {
        let et = s.value["eventType"].as_str().unwrap().to_string();
        let rv = s.value["resourceVersion"]
            .as_str()
            .unwrap_or("1.0")
            .to_string();
        groups.entry((et, rv)).or_default().push(s);
    }
    for ((et, rv), group) in &groups {
        let mut allowed_parts: Vec<Shape> = samples
            .iter()
            .filter(|s| {
                let set = s.value["eventType"].as_str().unwrap_or("");
                same_resource(set, et) && s.value["resourceVersion"].as_str().unwrap_or("1.0") == rv
            })
            .map(|s| s.shape.clone())
            .collect();
        allowed_parts.push(envelope.clone());
        allowed_parts.push(field_pool.clone());
        if et == "workitem.updated" {
            allowed_parts.push(updates_as_resource.clone());
        }
        let allowed = union(&allowed_parts);
        let sims = delivered
            .get(&(et.clone(), rv.clone()))
            .cloned()
            .unwrap_or_default();
        if sims.is_empty() {
            problems.push(format!("{et} {rv}: the simulator sent no such event"));
            continue;
        }
        for sample in group {
            let style = style_of(&sample.value);
            let defects: Vec<&str> = SAMPLE_DEFECTS
                .iter()
                .filter(|(f, _)| *f == sample.file)
                .map(|(_, p)| *p)
                .collect();
            let mut compared = 0;
            for (sim_style, payload) in &sims {
                if style.is_some_and(|s| s != *sim_style) {
                    continue;
                }
                compared += 1;
                let sim_shape = shape(payload, &hook_remap(et));
                let ex = |p: &str| exempt(et, payload, p) || defects.iter().any(|d| under(p, d));
                for m in missing(&sample.shape, &sim_shape, &ex) {
                    problems.push(format!("{} vs simulated {et}: {m}", sample.file));
                }
            }
            assert!(
                compared > 0,
                "no simulated {et} {rv} payload of style {style:?} to compare with {}",
                sample.file
            );
        }
        for (_, payload) in &sims {
            let sim_shape = shape(payload, &hook_remap(et));
            for i in field_problems(&sim_shape, &field_types) {
                problems.push(format!("simulated {et} {rv}: {i}"));
            }
            let structural: Shape = sim_shape
                .into_iter()
                .filter(|(p, _)| !p.starts_with('⟨'))
                .collect();
            for i in invented(&structural, &allowed, &|p| exempt(et, payload, p)) {
                problems.push(format!("simulated {et} {rv}: {i}"));
            }
        }
    }
    problems
}
