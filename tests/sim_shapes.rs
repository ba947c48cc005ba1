//! Shape fidelity (acceptance 1): every hook payload the simulator sends has the structure of the
//! real samples of its event type and resource version (../shared/fixtures/ado-samples), and its
//! REST responses that of ../shared/fixtures/ado-rest-samples — key paths and JSON types, values
//! ignored, by the rules in `sim_common::shape`.

mod sim_common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use ado_ingest::sim::{self, ActivitySpec, OrgSpec, SimConfig, SubscriptionRequest};
use serde_json::Value;
use sim_common::shape::{Shape, invented, missing, shape, under, union};

/// Envelope keys real deliveries carry inconsistently: `scope` ("all") is in the 2023 real
/// `git.pullrequest.merged.2.json` but not in the 2023 real `git.pullrequest.updated.json` from the
/// same organization, nor in the 2020 real git.push deliveries. The simulator does not send it.
const ENVELOPE_OPTIONAL: &[&str] = &["scope"];

/// Known defects of particular samples, ignored for containment (with the reason).
const SAMPLE_DEFECTS: &[(&str, &str)] = &[
    // The docs' product rename replaced "VSTS" inside a field reference name.
    (
        "workitem.commented.3.json",
        "⟨fields⟩/Microsoft.Azure DevOps Services.Common.Severity",
    ),
    // A canned "Test" notification; real TFVC deliveries (tfvc.checkin.json, .2, .4) have no
    // project container because a changeset can span projects (reference §1.3).
    ("tfvc.checkin.5.json", "resourceContainers/project"),
];

/// Fields every save changes (the rest of a `workitem.updated` diff depends on what changed).
const BOOKKEEPING: &[&str] = &[
    "System.Rev",
    "System.AuthorizedDate",
    "System.RevisedDate",
    "System.ChangedDate",
    "System.Watermark",
];

/// Fields the Agile process only has on bugs.
const BUG_FIELDS: &[&str] = &[
    "Microsoft.VSTS.Common.Severity",
    "Microsoft.VSTS.TCM.ReproSteps",
    "Microsoft.VSTS.TCM.SystemInfo",
    "Microsoft.VSTS.Common.AcceptanceCriteria",
];

fn hook_remap(event_type: &str) -> impl Fn(&str) -> Option<&'static str> + '_ {
    move |path: &str| match path {
        "resource/fields" if event_type == "workitem.updated" => Some("⟨changes⟩"),
        "resource/fields" if event_type.starts_with("workitem.") => Some("⟨fields⟩"),
        "resource/revision/fields" => Some("⟨fields⟩"),
        _ => None,
    }
}

fn rest_remap(path: &str) -> Option<&'static str> {
    match path {
        "value[]/fields" | "values[]/fields" | "fields" => Some("⟨fields⟩"),
        _ => None,
    }
}

fn updates_remap(path: &str) -> Option<&'static str> {
    matches!(path, "value[]/fields" | "fields").then_some("⟨changes⟩")
}

/// What a payload of this kind of change may lack (or have null) that a sample of another kind has.
fn exempt(event_type: &str, p: &Value, path: &str) -> bool {
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
const SAME_RESOURCE: &[&[&str]] = &[
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

fn same_resource(a: &str, b: &str) -> bool {
    a == b
        || SAME_RESOURCE
            .iter()
            .any(|g| g.contains(&a) && g.contains(&b))
}

/// Splits a field-map path into (field name, path inside the field's value), or None for the
/// map entry of a `⟨changes⟩` diff itself (`⟨changes⟩/N`).
fn field_value_path(p: &str) -> Option<Result<(&str, &str), String>> {
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
fn field_problems(sim: &Shape, field_types: &FieldTypes) -> Vec<String> {
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
type FieldTypes = BTreeMap<String, Shape>;

/// Every work-item field seen in any hook or REST sample, with the JSON types of its values.
fn field_pool(samples: &[Sample], rest_dir: &Path) -> (Shape, FieldTypes) {
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
        pools.push(shape(
            &sim_common::read_json(&rest_dir.join(f)),
            &rest_remap,
        ));
    }
    pools.push(shape(
        &sim_common::read_json(&rest_dir.join("wit.workitem.updates.list.json")),
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

struct Sample {
    file: String,
    value: Value,
    shape: Shape,
}

fn style_of(v: &Value) -> Option<&'static str> {
    let c = &v["resourceContainers"];
    if c.get("server").is_some() {
        Some("server")
    } else if c.get("account").is_some() {
        Some("services")
    } else {
        None
    }
}

fn event_type_of(file: &str) -> &str {
    let stem = file.trim_end_matches(".json");
    stem.rsplit_once('.')
        .filter(|(_, n)| n.parse::<u32>().is_ok())
        .map(|(s, _)| s)
        .unwrap_or(stem)
}

fn load_samples(dir: &Path) -> Vec<Sample> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        if !file.ends_with(".json") {
            continue;
        }
        let value = sim_common::read_json(&path);
        let et = event_type_of(&file).to_string();
        let shape = shape(&value, &hook_remap(&et));
        out.push(Sample { file, value, shape });
    }
    out.sort_by(|a, b| a.file.cmp(&b.file));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hook_payloads_have_the_real_sample_structure() {
    let Some(dir) = sim_common::fixtures("ado-samples") else {
        return;
    };
    let samples = load_samples(&dir);
    let rest_dir = dir.parent().unwrap().join("ado-rest-samples");

    let rx = sim_common::receiver().await;
    let config = SimConfig {
        seed: 42,
        orgs: vec![
            OrgSpec::services("contoso"),
            OrgSpec::server("DefaultCollection"),
        ],
        time_scale: 0.001,
        ..SimConfig::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = sim::start(config, listener).await.unwrap();
    for org in sim.orgs() {
        sim.subscribe_all(&org.name, &rx.url, Some(("ado", "secret")))
            .unwrap();
        for et in [
            "build.complete",
            "ms.vss-code.git-pullrequest-comment-event",
        ] {
            let req = SubscriptionRequest::webhook(et, &rx.url)
                .resource_version("1.0")
                .consumer_input("resourceDetailsToSend", "all")
                .consumer_input("messagesToSend", "all")
                .consumer_input("detailedMessagesToSend", "all");
            sim.create_subscription(&org.name, req).unwrap();
        }
    }
    sim.generate(&ActivitySpec::new(2500)).unwrap();
    sim.settle(Duration::from_secs(60)).await.unwrap();

    // Group what was delivered by (event type, resource version, style).
    let style_by_collection: BTreeMap<String, &'static str> = sim
        .orgs()
        .iter()
        .map(|o| {
            (
                o.collection_id.clone(),
                if o.style == sim::UrlStyle::Server {
                    "server"
                } else {
                    "services"
                },
            )
        })
        .collect();
    let mut delivered: BTreeMap<(String, String), Vec<(&'static str, Value)>> = BTreeMap::new();
    for r in rx.received() {
        let et = r.body["eventType"].as_str().unwrap().to_string();
        let rv = r.body["resourceVersion"].as_str().unwrap().to_string();
        let style = style_by_collection[r.body["resourceContainers"]["collection"]["id"]
            .as_str()
            .unwrap()];
        delivered.entry((et, rv)).or_default().push((style, r.body));
    }

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
    let (field_pool, field_types) = field_pool(&samples, &rest_dir);
    // The hook resource of workitem.updated is the REST WorkItemUpdate: its REST sample (which has
    // link-only updates with `relations`) is evidence for the resource's key paths too.
    let updates_rest = shape(
        &sim_common::read_json(&rest_dir.join("wit.workitem.updates.list.json")),
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
    for s in &samples {
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
    problems.sort();
    problems.dedup();
    assert!(
        problems.is_empty(),
        "{} shape problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    sim.shutdown().await;
}

/// One REST endpoint compared with its samples.
struct RestCase {
    name: &'static str,
    /// Object type: cases of the same kind are evidence for each other's key paths.
    kind: &'static str,
    samples: Vec<&'static str>,
    /// Simulated responses of the same kind of request.
    responses: Vec<Value>,
    /// `value` / `values` / `records`: compare elements one by one; None: the whole object.
    items: Option<&'static str>,
    remap: fn(&str) -> Option<&'static str>,
}

fn units(v: &Value, items: Option<&str>) -> Vec<Value> {
    match items {
        Some(k) => v[k]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|x| !x.is_null())
            .collect(),
        None => vec![v.clone()],
    }
}

/// What a REST object of this kind may lack (or have null) that a sample of another kind has.
fn rest_exempt(unit: &Value, path: &str) -> bool {
    // Work-item fields: only the process-independent System.* fields are required by name, and
    // of an update's changes only the bookkeeping fields every save changes.
    if let Some(name) = path.strip_prefix("⟨fields⟩/") {
        return !name.starts_with("System.");
    }
    if let Some(name) = path.strip_prefix("⟨changes⟩/") {
        let name = name.split('/').next().unwrap_or("");
        return !BOOKKEEPING.contains(&name) || unit.get("fields").is_none();
    }
    let top = path.split('/').next().unwrap_or("");
    let status = unit["status"].as_str().unwrap_or("");
    match top {
        // Pull requests: closing and completion fields exist once closed / completing.
        "closedDate" | "closedBy" => status == "active",
        "completionQueueTime" | "completionOptions" => status != "completed",
        // Builds and timeline records: times, results and parents exist once reached / when nested.
        "lastMergeCommit"
        | "finishTime"
        | "result"
        | "startTime"
        | "parentId"
        | "workerName"
        | "lastProbationRetryDate" => unit.get(top).is_none_or(Value::is_null),
        // Work item updates: a save has fields, a link change relations.
        "fields" | "relations" => unit.get(top).is_none(),
        _ => false,
    }
}

struct KindEvidence {
    allowed: Shape,
    top_level: std::collections::BTreeSet<String>,
}

fn sample_units(dir: &Path, case: &RestCase) -> Vec<(Shape, Value)> {
    case.samples
        .iter()
        .map(|f| {
            let doc = sim_common::read_json(&dir.join(f));
            let shapes: Vec<Shape> = units(&doc, case.items)
                .iter()
                .map(|u| shape(u, &case.remap))
                .collect();
            (sim_common::shape::merge_elements(&shapes), doc)
        })
        .collect()
}

fn compare_rest(
    dir: &Path,
    case: &RestCase,
    evidence: &KindEvidence,
    field_types: &FieldTypes,
) -> Vec<String> {
    let mut problems = Vec::new();
    let samples = sample_units(dir, case);
    let sim_units: Vec<Value> = case
        .responses
        .iter()
        .flat_map(|r| units(r, case.items))
        .collect();
    if sim_units.is_empty() {
        return vec![format!(
            "{}: the simulator returned nothing to compare",
            case.name
        )];
    }
    // The document around the items: sample top-level keys must be there, and no others.
    if case.items.is_some() {
        for ((_, doc), file) in samples.iter().zip(&case.samples) {
            for k in doc.as_object().into_iter().flat_map(|o| o.keys()) {
                if case.responses.iter().any(|r| r.get(k).is_none()) {
                    problems.push(format!(
                        "{}: {file} has top-level `{k}`, the simulator not",
                        case.name
                    ));
                }
            }
        }
        for r in &case.responses {
            for k in r.as_object().into_iter().flat_map(|o| o.keys()) {
                if !evidence.top_level.contains(k) {
                    problems.push(format!("{}: invented top-level `{k}`", case.name));
                }
            }
        }
    }
    for unit in &sim_units {
        let sim_shape = shape(unit, &case.remap);
        let ex = |p: &str| rest_exempt(unit, p);
        for ((s, _), file) in samples.iter().zip(&case.samples) {
            for m in missing(s, &sim_shape, &ex) {
                problems.push(format!("{}: {file}: {m}", case.name));
            }
        }
        for i in field_problems(&sim_shape, field_types) {
            problems.push(format!("{}: {i}", case.name));
        }
        let structural: Shape = sim_shape
            .into_iter()
            .filter(|(p, _)| !p.starts_with('⟨'))
            .collect();
        for i in invented(&structural, &evidence.allowed, &ex) {
            problems.push(format!("{}: {i}", case.name));
        }
    }
    problems
}

fn check_rest_cases(dir: &Path, cases: &[RestCase], field_types: &FieldTypes) -> Vec<String> {
    let mut evidence: BTreeMap<&str, KindEvidence> = BTreeMap::new();
    for case in cases {
        let e = evidence.entry(case.kind).or_insert_with(|| KindEvidence {
            allowed: Shape::new(),
            top_level: Default::default(),
        });
        let mut parts = vec![e.allowed.clone()];
        for (shape, doc) in sample_units(dir, case) {
            parts.push(shape);
            if case.items.is_some() {
                e.top_level
                    .extend(doc.as_object().into_iter().flat_map(|o| o.keys().cloned()));
            }
        }
        e.allowed = union(&parts);
    }
    cases
        .iter()
        .flat_map(|c| compare_rest(dir, c, &evidence[c.kind], field_types))
        .collect()
}

fn no_remap(_: &str) -> Option<&'static str> {
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_responses_have_the_real_sample_structure() {
    use sim_common::Rest;
    let Some(dir) = sim_common::fixtures("ado-rest-samples") else {
        return;
    };
    let rx = sim_common::receiver().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = sim::start(
        SimConfig {
            seed: 9,
            time_scale: 0.001,
            ..SimConfig::default()
        },
        listener,
    )
    .await
    .unwrap();
    sim.generate(&ActivitySpec::new(1500)).unwrap();
    let org = sim.orgs().remove(0);
    let rest = Rest::new(&org.base_url, &sim.pat());
    let project = org.projects[0].0.clone();

    // Subscriptions created through the API, one of them driven onto probation and back.
    let create = sim_common::read_json(&dir.join("hooks.subscriptions.create.request.json"));
    let mut body = create.clone();
    body["consumerInputs"] = serde_json::json!({ "url": rx.url, "basicAuthUsername": "ado", "basicAuthPassword": "secret" });
    body["publisherInputs"]["projectId"] = Value::String(project.clone());
    body["resourceVersion"] = Value::String("2.0".into());
    let (status, created) = rest
        .send(
            reqwest::Method::POST,
            "_apis/hooks/subscriptions?api-version=7.1",
            &body,
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let sub_id = created["id"].as_str().unwrap().to_string();
    let push_sub = sim
        .create_subscription(&org.name, SubscriptionRequest::webhook("git.push", &rx.url))
        .unwrap();
    rx.script(&[500]);
    sim.generate(&ActivitySpec {
        org: None,
        actions: 200,
        mix: sim::ActivityMix::only("git").unwrap(),
    })
    .unwrap();
    sim.set_time_scale(0.000_01);
    sim.settle(Duration::from_secs(30)).await.unwrap();
    assert!(
        sim.subscription(&org.name, &push_sub)
            .unwrap()
            .probation_retries
            > 0
    );

    let (repos, _) = rest.get(&format!("{project}/_apis/git/repositories")).await;
    let repo = repos["value"][0]["id"].as_str().unwrap().to_string();
    let (pushes, _) = rest
        .get(&format!(
            "{project}/_apis/git/repositories/{repo}/pushes?$top=1000"
        ))
        .await;
    let push_ids: Vec<u64> = pushes["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pushId"].as_u64().unwrap())
        .collect();
    let with_commits = push_ids[0];
    let (prs, _) = rest
        .get(&format!(
            "{project}/_apis/git/pullrequests?searchCriteria.status=all"
        ))
        .await;
    let (builds, _) = rest
        .get(&format!(
            "{project}/_apis/build/builds?statusFilter=completed"
        ))
        .await;
    let build_id = builds["value"][0]["id"].as_u64().unwrap();
    let (revs, _) = rest.get("_apis/wit/reporting/workitemrevisions").await;
    let wi_ids: Vec<u64> = revs["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_u64().unwrap())
        .collect();
    let (changesets, _) = rest.get("_apis/tfvc/changesets").await;
    let cs = changesets["value"][0]["changesetId"].as_u64().unwrap();

    let get = |paths: Vec<String>| {
        let rest = &rest;
        async move {
            let mut out = Vec::new();
            for p in paths {
                out.push(rest.get(&p).await.0);
            }
            out
        }
    };
    let pr_gets = get(prs["value"]
        .as_array()
        .unwrap()
        .iter()
        .take(12)
        .map(|p| format!("{project}/_apis/git/pullrequests/{}", p["pullRequestId"]))
        .collect())
    .await;
    let mut updates = Vec::new();
    for id in wi_ids.iter().take(30) {
        updates.push(
            rest.get(&format!("_apis/wit/workitems/{id}/updates"))
                .await
                .0,
        );
    }
    let batch_ids: Vec<u64> = wi_ids.iter().copied().take(3).collect();
    let (_, batch) = rest
        .send(reqwest::Method::POST, "_apis/wit/workitemsbatch", &serde_json::json!({"ids": batch_ids, "fields": ["System.Id", "System.Title", "System.WorkItemType", "Microsoft.VSTS.Scheduling.RemainingWork"]}))
        .await;
    let (_, posted_revs) = rest
        .send(reqwest::Method::POST, "_apis/wit/reporting/workitemrevisions?continuationToken=0", &serde_json::json!({"types": ["Bug", "Task"], "fields": ["System.WorkItemType", "System.Title", "System.AreaPath"], "includeIdentityRef": true}))
        .await;
    let watermark = revs["values"][0]["fields"]["System.Watermark"]
        .as_u64()
        .unwrap();

    let cases = vec![
        RestCase { name: "projects", kind: "project", samples: vec!["core.projects.list.json", "core.projects.list.2.json", "core.projects.list.3.json"], responses: vec![rest.get("_apis/projects").await.0], items: Some("value"), remap: no_remap },
        RestCase { name: "repositories", kind: "repository", samples: vec!["git.repositories.list.json", "git.repositories.list.2.json", "git.repositories.list.3.json"], responses: vec![repos.clone()], items: Some("value"), remap: no_remap },
        RestCase { name: "pushes", kind: "push", samples: vec!["git.pushes.list.fromDate-toDate.json", "git.pushes.list.top-skip.json"], responses: vec![pushes.clone()], items: Some("value"), remap: no_remap },
        RestCase { name: "pushes+refUpdates", kind: "push", samples: vec!["git.pushes.list.includeRefUpdates.json"], responses: vec![rest.get(&format!("{project}/_apis/git/repositories/{repo}/pushes?searchCriteria.includeRefUpdates=true")).await.0], items: Some("value"), remap: no_remap },
        RestCase { name: "push", kind: "push", samples: vec!["git.push.get.json"], responses: vec![rest.get(&format!("_apis/git/repositories/{repo}/pushes/{with_commits}")).await.0], items: None, remap: no_remap },
        RestCase { name: "push commits", kind: "commit", samples: vec!["git.commits.list.by-push.json"], responses: vec![rest.get(&format!("_apis/git/repositories/{repo}/pushes/{with_commits}/commits")).await.0], items: Some("value"), remap: no_remap },
        RestCase { name: "pull requests", kind: "pull request", samples: vec!["git.pullrequests.list.2.json", "git.pullrequests.list.by-project.json"], responses: vec![rest.get(&format!("{project}/_apis/git/pullrequests?searchCriteria.status=active")).await.0], items: Some("value"), remap: no_remap },
        RestCase { name: "completed pull requests", kind: "pull request", samples: vec!["git.pullrequests.list.status-completed.json"], responses: vec![rest.get(&format!("{project}/_apis/git/pullrequests?searchCriteria.status=completed")).await.0], items: Some("value"), remap: no_remap },
        RestCase { name: "pull request", kind: "pull request", samples: vec!["git.pullrequest.get.json", "git.pullrequest.get.2.json", "git.pullrequest.get.3.json"], responses: pr_gets, items: None, remap: no_remap },
        RestCase { name: "builds", kind: "build", samples: vec!["build.builds.list.json", "build.builds.list.2.json"], responses: vec![builds.clone()], items: Some("value"), remap: no_remap },
        RestCase { name: "build", kind: "build", samples: vec!["build.build.get.json"], responses: vec![rest.get(&format!("{project}/_apis/build/builds/{build_id}")).await.0], items: None, remap: no_remap },
        RestCase { name: "timeline", kind: "timeline record", samples: vec!["build.timeline.get.json"], responses: vec![rest.get(&format!("{project}/_apis/build/builds/{build_id}/timeline")).await.0], items: Some("records"), remap: no_remap },
        RestCase { name: "reporting revisions", kind: "revision", samples: vec!["wit.reporting.workitemrevisions.get.json"], responses: vec![revs.clone()], items: Some("values"), remap: rest_remap },
        RestCase { name: "reporting revisions (identity refs)", kind: "revision", samples: vec!["wit.reporting.workitemrevisions.get.watermark.json"], responses: vec![rest.get(&format!("_apis/wit/reporting/workitemrevisions?includeIdentityRef=true&continuationToken={watermark}")).await.0], items: Some("values"), remap: rest_remap },
        RestCase { name: "reporting revisions (POST)", kind: "revision", samples: vec!["wit.reporting.workitemrevisions.post.json"], responses: vec![posted_revs], items: Some("values"), remap: rest_remap },
        RestCase { name: "work items batch", kind: "work item", samples: vec!["wit.workitemsbatch.json"], responses: vec![batch], items: Some("value"), remap: rest_remap },
        RestCase { name: "work item updates", kind: "work item update", samples: vec!["wit.workitem.updates.list.json"], responses: updates, items: Some("value"), remap: updates_remap },
        RestCase { name: "changesets", kind: "changeset", samples: vec!["tfvc.changesets.list.fromId-toId.json", "tfvc.changesets.list.fromDate-toDate.json", "tfvc.changesets.list.top-skip.json"], responses: vec![changesets.clone()], items: Some("value"), remap: no_remap },
        RestCase { name: "changeset", kind: "changeset", samples: vec!["tfvc.changeset.get.json"], responses: vec![rest.get(&format!("_apis/tfvc/changesets/{cs}")).await.0], items: None, remap: no_remap },
        RestCase { name: "changeset changes", kind: "change", samples: vec!["tfvc.changeset.changes.json"], responses: vec![rest.get(&format!("_apis/tfvc/changesets/{cs}/changes")).await.0], items: Some("value"), remap: no_remap },
        RestCase { name: "subscriptions", kind: "subscription", samples: vec!["hooks.subscriptions.list.json", "hooks.subscriptions.list.2.json"], responses: vec![rest.get("_apis/hooks/subscriptions").await.0], items: Some("value"), remap: no_remap },
        RestCase { name: "subscription", kind: "subscription", samples: vec!["hooks.subscription.get.json"], responses: vec![rest.get(&format!("_apis/hooks/subscriptions/{sub_id}")).await.0, rest.get(&format!("_apis/hooks/subscriptions/{push_sub}")).await.0], items: None, remap: no_remap },
        RestCase { name: "subscription create", kind: "subscription", samples: vec!["hooks.subscriptions.create.response.json"], responses: vec![created], items: None, remap: no_remap },
    ];
    let hook_samples = load_samples(&dir.parent().unwrap().join("ado-samples"));
    let (_, field_types) = field_pool(&hook_samples, &dir);
    let mut problems = check_rest_cases(&dir, &cases, &field_types);
    problems.sort();
    problems.dedup();
    assert!(
        problems.is_empty(),
        "{} REST shape problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    sim.shutdown().await;
}
