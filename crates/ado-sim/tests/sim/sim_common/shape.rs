//! Structural comparison of JSON payloads: key paths and JSON value types, values ignored.
//!
//! The rules (the "shape fidelity" contract of the simulator):
//! * A payload's shape is the set of its key paths (`resource/commits[]/author/name`, `/`-separated
//!   because keys such as `System.Title` contain dots) with the JSON types seen there. Array
//!   elements are merged: a path is *required* when every element has it.
//! * A `null` or an empty array in a sample says nothing about what could be there: everything
//!   below it is unconstrained, and `null` there accepts any type.
//! * Objects whose keys are data rather than structure (`publisherInputs`, `consumerInputs`, task
//!   `inputs`, `variables`, `properties`) have their keys collapsed to `*`. Work-item field maps keep
//!   the field reference names (they are what consumers read) but are pooled under `⟨fields⟩`
//!   (current values) or `⟨changes⟩` (`{oldValue, newValue}` diffs), wherever they sit, because the
//!   same field appears in several places of several payloads; `WEF_{GUID}_` board fields become
//!   `WEF_*_`.
//! * Containment: every required path of a sample must be in every simulated payload of the same
//!   kind of change (and required there), except paths the caller exempts for that payload's kind
//!   (e.g. `resource/commits` of a branch deletion).
//! * No invention: every path of a simulated payload must exist in some sample of its group (or be
//!   under an unconstrained path), with a JSON type some sample has there.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PathInfo {
    pub types: BTreeSet<&'static str>,
    pub required: bool,
    /// `null` or an empty array here: what is below is unconstrained.
    pub open: bool,
}

pub type Shape = BTreeMap<String, PathInfo>;

/// Keys whose children are data keys.
const MAP_KEYS: &[&str] = &[
    "publisherInputs",
    "consumerInputs",
    "inputs",
    "variables",
    "properties",
];

fn ty(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn norm_key(k: &str) -> String {
    // WEF_{32 hex}_Kanban.Column → WEF_*_Kanban.Column
    if let Some(rest) = k.strip_prefix("WEF_")
        && rest.len() > 33
        && rest.as_bytes()[32] == b'_'
        && rest[..32].chars().all(|c| c.is_ascii_hexdigit())
    {
        return format!("WEF_*_{}", &rest[33..]);
    }
    k.to_string()
}

fn join(base: &str, key: &str) -> String {
    if base.is_empty() {
        key.to_string()
    } else {
        format!("{base}/{key}")
    }
}

fn add_sibling(out: &mut Shape, path: String, info: PathInfo) {
    let e = out.entry(path).or_default();
    e.types.extend(info.types);
    e.required |= info.required;
    e.open |= info.open;
}

/// The shape of `v` at `path`. `remap` may rename the prefix of an object's children (work-item
/// field maps → `⟨fields⟩` / `⟨changes⟩`).
pub fn shape_at(v: &Value, path: &str, remap: &dyn Fn(&str) -> Option<&'static str>) -> Shape {
    let mut out = Shape::new();
    let open = v.is_null() || v.as_array().is_some_and(|a| a.is_empty());
    out.insert(
        path.to_string(),
        PathInfo {
            types: [ty(v)].into(),
            required: true,
            open,
        },
    );
    match v {
        Value::Object(m) => {
            let last = path.rsplit('/').next().unwrap_or("");
            let collapse = MAP_KEYS.contains(&last);
            let base = remap(path)
                .map(str::to_string)
                .unwrap_or_else(|| path.to_string());
            for (k, x) in m {
                let key = if collapse {
                    "*".to_string()
                } else {
                    norm_key(k)
                };
                for (p, info) in shape_at(x, &join(&base, &key), remap) {
                    add_sibling(&mut out, p, info);
                }
            }
        }
        Value::Array(a) => {
            let p = format!("{path}[]");
            let shapes: Vec<Shape> = a.iter().map(|x| shape_at(x, &p, remap)).collect();
            for (k, info) in merge_elements(&shapes) {
                out.insert(k, info);
            }
        }
        _ => {}
    }
    out
}

pub fn shape(v: &Value, remap: &dyn Fn(&str) -> Option<&'static str>) -> Shape {
    shape_at(v, "", remap)
}

/// Merges shapes of array elements (or of several objects of one kind): required only when
/// required in all of them.
pub fn merge_elements(shapes: &[Shape]) -> Shape {
    let mut out = Shape::new();
    for s in shapes {
        for (k, info) in s {
            let e = out.entry(k.clone()).or_insert_with(|| PathInfo {
                required: true,
                ..PathInfo::default()
            });
            e.types.extend(info.types.iter().copied());
            e.open |= info.open;
        }
    }
    for (k, e) in out.iter_mut() {
        e.required = shapes.iter().all(|s| s.get(k).is_some_and(|i| i.required));
    }
    out
}

/// The allowed paths of a group: union of all samples.
pub fn union(shapes: &[Shape]) -> Shape {
    let mut out = Shape::new();
    for s in shapes {
        for (k, info) in s {
            add_sibling(&mut out, k.clone(), info.clone());
        }
    }
    out
}

fn ancestors(p: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut cur = p;
    loop {
        let next = if let Some(s) = cur.strip_suffix("[]") {
            s
        } else if let Some(i) = cur.rfind('/') {
            &cur[..i]
        } else if !cur.is_empty() {
            ""
        } else {
            break;
        };
        out.push(next);
        cur = next;
    }
    out
}

/// Whether `path` is `prefix` or below it.
pub fn under(path: &str, prefix: &str) -> bool {
    path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|r| r.starts_with('/') || r.starts_with("[]"))
}

/// Required sample paths missing from (or not required in) the simulated shape.
pub fn missing(sample: &Shape, sim: &Shape, exempt: &dyn Fn(&str) -> bool) -> Vec<String> {
    sample
        .iter()
        .filter(|(p, info)| info.required && !exempt(p))
        .filter_map(|(p, _)| match sim.get(p) {
            None => Some(format!("missing `{p}`")),
            Some(s) if !s.required => Some(format!("`{p}` only in some elements")),
            Some(_) => None,
        })
        .collect()
}

/// Simulated paths no sample has, and types no sample has there.
pub fn invented(sim: &Shape, allowed: &Shape, exempt: &dyn Fn(&str) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    for (p, info) in sim {
        if ancestors(p)
            .iter()
            .any(|a| allowed.get(*a).is_some_and(|i| i.open))
        {
            continue;
        }
        let Some(a) = allowed.get(p) else {
            out.push(format!("invented `{p}`"));
            continue;
        };
        if a.types.contains("null") {
            continue;
        }
        for t in &info.types {
            if !(a.types.contains(t) || (*t == "null" && exempt(p))) {
                out.push(format!("`{p}` is {t}, samples have {:?}", a.types));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn none(_: &str) -> Option<&'static str> {
        None
    }

    #[test]
    fn comparator_rules() {
        let sample = json!({"a": {"b": 1, "l": [{"x": 1, "y": 2}, {"x": 3}]}, "n": null, "e": []});
        let s = shape(&sample, &none);
        assert!(s["a/l[]/x"].required && !s["a/l[]/y"].required);
        let good = json!({"a": {"b": 2, "l": [{"x": 1}]}, "n": {"deep": true}, "e": [{"z": 1}]});
        let g = shape(&good, &none);
        let allowed = union(std::slice::from_ref(&s));
        assert!(missing(&s, &g, &|_| false).is_empty());
        assert!(invented(&g, &allowed, &|_| false).is_empty());
        let bad = json!({"a": {"b": "two", "l": [{"q": 1}]}});
        let b = shape(&bad, &none);
        // a/l[]/x, n and e are missing; exempting one kind-specific path removes just that one.
        assert_eq!(missing(&s, &b, &|_| false).len(), 3);
        assert_eq!(missing(&s, &b, &|p| under(p, "a/l[]/x")).len(), 2);
        let inv = invented(&b, &allowed, &|_| false);
        assert_eq!(inv.len(), 2, "{inv:?}");
        let wef = shape(
            &json!({"fields": {"WEF_EB329F44FE5F4A94ACB1DA153FDF38BA_Kanban.Column": "x"}}),
            &none,
        );
        assert!(wef.contains_key("fields/WEF_*_Kanban.Column"));
    }
}
