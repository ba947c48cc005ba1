//! The fidelity rules of the simulator's REST responses against ../shared/fixtures/ado-rest-samples:
//! endpoint cases, object kinds whose samples are evidence for each other, and the differences a
//! kind of object explains.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::fidelity::{BOOKKEEPING, FieldTypes, field_problems};
use super::shape::{Shape, invented, missing, shape, union};

/// One REST endpoint compared with its samples.
pub struct RestCase {
    pub name: &'static str,
    /// Object type: cases of the same kind are evidence for each other's key paths.
    pub kind: &'static str,
    pub samples: Vec<&'static str>,
    /// Simulated responses of the same kind of request.
    pub responses: Vec<Value>,
    /// `value` / `values` / `records`: compare elements one by one; None: the whole object.
    pub items: Option<&'static str>,
    pub remap: fn(&str) -> Option<&'static str>,
}

pub fn units(v: &Value, items: Option<&str>) -> Vec<Value> {
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
pub fn rest_exempt(unit: &Value, path: &str) -> bool {
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

pub struct KindEvidence {
    allowed: Shape,
    top_level: std::collections::BTreeSet<String>,
}

pub fn sample_units(dir: &Path, case: &RestCase) -> Vec<(Shape, Value)> {
    case.samples
        .iter()
        .map(|f| {
            let doc = super::read_json(&dir.join(f));
            let shapes: Vec<Shape> = units(&doc, case.items)
                .iter()
                .map(|u| shape(u, &case.remap))
                .collect();
            (super::shape::merge_elements(&shapes), doc)
        })
        .collect()
}

pub fn compare_rest(
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

pub fn check_rest_cases(dir: &Path, cases: &[RestCase], field_types: &FieldTypes) -> Vec<String> {
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

pub fn no_remap(_: &str) -> Option<&'static str> {
    None
}
