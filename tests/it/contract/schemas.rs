//! The published contract holds: every fixture (real and project-made), normalized with and without
//! `raw`, validates against `schemas/<type>.schema.json` and `schemas/envelope.schema.json`
//! (JSON Schema 2020-12, formats checked); broken messages do not; every type has a schema and an
//! AsyncAPI message.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ado_ingest::normalize::{NORMALIZED_TYPES, NormalizeOptions, normalize_hook, parse_envelope};
use serde_json::{Value, json};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn schema(name: &str) -> Value {
    let path = format!("{ROOT}/schemas/{name}.schema.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn validator(name: &str) -> jsonschema::Validator {
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema(name))
        .unwrap_or_else(|e| panic!("schema {name} does not compile: {e}"))
}

fn errors(v: &jsonschema::Validator, msg: &Value) -> Vec<String> {
    v.iter_errors(msg)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Every hook fixture: the shared real samples (skipped with a note when absent, unless CI or
/// ADO_INGEST_REQUIRE_FIXTURES demands them) and the project-made ones.
fn fixtures() -> Vec<PathBuf> {
    let shared = PathBuf::from(format!("{ROOT}/../shared/fixtures/ado-samples"));
    let mut files = json_files(&shared);
    if files.is_empty() {
        let required = std::env::var_os("CI").is_some()
            || std::env::var_os("ADO_INGEST_REQUIRE_FIXTURES").is_some();
        assert!(!required, "shared fixtures missing at {}", shared.display());
        eprintln!(
            "note: shared fixtures not found at {}; checking project fixtures only",
            shared.display()
        );
    }
    files.extend(json_files(Path::new(&format!(
        "{ROOT}/tests/fixtures/hooks"
    ))));
    files
}

fn normalize(path: &Path, include_raw: bool) -> Value {
    let body = std::fs::read(path).unwrap();
    let env = parse_envelope(&body).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let opts = NormalizeOptions {
        include_raw,
        ..NormalizeOptions::default()
    };
    serde_json::from_slice(&normalize_hook(&env, &opts).body).unwrap()
}

#[test]
fn every_fixture_validates_against_its_schema() {
    let envelope = validator("envelope");
    let mut seen = BTreeSet::new();
    let mut checked = 0;
    for path in fixtures() {
        for include_raw in [true, false] {
            let msg = normalize(&path, include_raw);
            let ty = msg["type"].as_str().unwrap().to_string();
            let errs = errors(&validator(&ty), &msg);
            assert!(
                errs.is_empty(),
                "{} (raw={include_raw}) vs {ty}.schema.json: {errs:#?}",
                path.display()
            );
            let errs = errors(&envelope, &msg);
            assert!(
                errs.is_empty(),
                "{} vs envelope.schema.json: {errs:#?}",
                path.display()
            );
            assert_eq!(msg["data"].get("raw").is_some(), include_raw);
            seen.insert(ty);
            checked += 1;
        }
    }
    assert!(checked >= 14, "project fixtures alone give 7 files × 2");
    if json_files(Path::new(&format!("{ROOT}/../shared/fixtures/ado-samples"))).is_empty() {
        return;
    }
    let all: BTreeSet<String> = NORMALIZED_TYPES.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        seen, all,
        "every normalized type must be exercised by a fixture"
    );
}

/// An edit that must make a valid message invalid.
type Breakage = Box<dyn Fn(&mut Value)>;

fn message_of(fixture: &str) -> Option<Value> {
    let shared = PathBuf::from(format!("{ROOT}/../shared/fixtures/ado-samples/{fixture}"));
    let own = PathBuf::from(format!("{ROOT}/tests/fixtures/hooks/{fixture}"));
    [shared, own]
        .into_iter()
        .find(|p| p.exists())
        .map(|p| normalize(&p, true))
}

#[test]
fn broken_messages_fail_validation() {
    let (push, v) = (
        message_of("git.push.branch-deleted.json").unwrap(),
        validator("git.push"),
    );
    assert!(errors(&v, &push).is_empty());
    let breakages: Vec<(&str, Breakage)> = vec![
        (
            "missing data.pushId",
            Box::new(|m| drop(m["data"].as_object_mut().unwrap().remove("pushId"))),
        ),
        (
            "pushId as a string",
            Box::new(|m| m["data"]["pushId"] = json!("34781")),
        ),
        (
            "unknown data field",
            Box::new(|m| m["data"]["surprise"] = json!(1)),
        ),
        (
            "person without name key",
            Box::new(|m| {
                drop(
                    m["data"]["pushedBy"]
                        .as_object_mut()
                        .unwrap()
                        .remove("name"),
                )
            }),
        ),
        (
            "bad ref change",
            Box::new(|m| m["data"]["refUpdates"][0]["change"] = json!("force")),
        ),
        ("bad time", Box::new(|m| m["time"] = json!("yesterday"))),
        ("wrong type", Box::new(|m| m["type"] = json!("git.pushed"))),
        (
            "missing sequence",
            Box::new(|m| drop(m.as_object_mut().unwrap().remove("sequence"))),
        ),
        ("bad origin", Box::new(|m| m["adoorigin"] = json!("mail"))),
        ("id not a uuid", Box::new(|m| m["id"] = json!("not-a-uuid"))),
    ];
    for (what, breakage) in breakages {
        let mut m = push.clone();
        breakage(&mut m);
        assert!(!errors(&v, &m).is_empty(), "{what} must fail validation");
    }
    // Inside raw anything goes.
    let mut m = push.clone();
    m["data"]["raw"] = json!({"anything": [1, {"x": null}]});
    assert!(errors(&v, &m).is_empty());

    if let Some(wi) = message_of("workitem.updated.2.json") {
        let v = validator("workitem.updated");
        assert!(errors(&v, &wi).is_empty());
        let mut m = wi.clone();
        m["data"]["changes"]["System.State"]
            .as_object_mut()
            .unwrap()
            .remove("newValue");
        assert!(
            !errors(&v, &m).is_empty(),
            "a change without newValue must fail"
        );
        let mut m = wi.clone();
        m["data"]["rev"] = json!(0);
        assert!(!errors(&v, &m).is_empty(), "rev 0 must fail");
    }
}

#[test]
fn every_type_has_a_consistent_schema_and_an_asyncapi_message() {
    let envelope = schema("envelope");
    let asyncapi = std::fs::read_to_string(format!("{ROOT}/schemas/asyncapi.yaml")).unwrap();
    assert!(asyncapi.starts_with("# Generated") && asyncapi.contains("asyncapi: 3.0.0"));
    assert!(asyncapi.contains("name: ado.events") && asyncapi.contains("ado.events.unrouted"));
    assert!(
        asyncapi.contains("deliveryMode: 2") && asyncapi.contains("application/cloudevents+json")
    );
    let enum_types: BTreeSet<&str> = envelope["properties"]["type"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(enum_types, NORMALIZED_TYPES.iter().copied().collect());
    for ty in NORMALIZED_TYPES.iter() {
        let s = schema(ty);
        assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
        assert_eq!(
            s["$id"],
            ado_ingest::normalize::cloudevent::dataschema(ty),
            "$id must equal the dataschema attribute"
        );
        assert_eq!(s["properties"]["type"]["const"], *ty);
        assert_eq!(
            s["properties"]["dataschema"]["const"],
            format!(
                "urn:ado-ingest:schema:{ty}:{}",
                ado_events::schema_version(ty)
            )
        );
        // The envelope attributes are the same in every type schema.
        for (attr, def) in envelope["properties"].as_object().unwrap() {
            if !["type", "dataschema", "data"].contains(&attr.as_str()) {
                assert_eq!(
                    &s["properties"][attr], def,
                    "{ty}: attribute {attr} differs from envelope.schema.json"
                );
            }
        }
        assert!(
            asyncapi.contains(&format!("name: {ty}\n")),
            "asyncapi.yaml has no message {ty}"
        );
        assert!(
            asyncapi.contains(&format!("$ref: './{ty}.schema.json'")),
            "asyncapi.yaml does not reference {ty}"
        );
        assert!(
            asyncapi.contains(&format!("          - {ty}\n")),
            "asyncapi.yaml routing-key enum lacks {ty}"
        );
    }
}
