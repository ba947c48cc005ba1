//! Test helpers: load the shared real payloads (`../shared/fixtures/ado-samples`) and the
//! project-made ones (`tests/fixtures/hooks`) and normalize them.

use serde_json::Value;

use crate::normalize::{NormalizeOptions, NormalizedEvent, normalize_hook, parse_envelope};

/// `../shared/fixtures/ado-samples/<name>`, or `None` (with a note) when the shared fixtures are
/// not checked out — unless `CI` or `ADO_INGEST_REQUIRE_FIXTURES` is set, then it fails.
pub fn shared_sample(name: &str) -> Option<Vec<u8>> {
    shared_file("ado-samples", name)
}

/// `../shared/fixtures/ado-rest-samples/<name>` parsed, or `None` as for [`shared_sample`].
pub fn shared_rest(name: &str) -> Option<Value> {
    shared_file("ado-rest-samples", name)
        .map(|b| serde_json::from_slice(&b).expect("REST fixture JSON"))
}

fn shared_file(dir: &str, name: &str) -> Option<Vec<u8>> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures");
    let path = format!("{root}/{dir}/{name}");
    match std::fs::read(&path) {
        Ok(b) => Some(b),
        Err(e) => {
            let required = std::env::var_os("CI").is_some()
                || std::env::var_os("ADO_INGEST_REQUIRE_FIXTURES").is_some();
            assert!(
                !required,
                "shared fixture {path} is required (CI/ADO_INGEST_REQUIRE_FIXTURES set): {e}"
            );
            eprintln!("note: skipping, shared fixture {path} not available: {e}");
            None
        }
    }
}

/// `tests/fixtures/hooks/<name>` (project-made; always present).
pub fn own_sample(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/hooks/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Parses and normalizes a hook body with `include_raw = false`; returns the event and its body.
pub fn normalize_bytes(body: &[u8]) -> (NormalizedEvent, Value) {
    let env = parse_envelope(body).expect("fixture is a valid envelope");
    let opts = NormalizeOptions {
        include_raw: false,
        ..NormalizeOptions::default()
    };
    let ev = normalize_hook(&env, &opts);
    let body: Value = serde_json::from_slice(&ev.body).expect("body is JSON");
    (ev, body)
}

/// Normalizes a shared sample; `None` when fixtures are unavailable (see [`shared_sample`]).
pub fn shared(name: &str) -> Option<(NormalizedEvent, Value)> {
    shared_sample(name).map(|b| normalize_bytes(&b))
}

/// Normalizes a project-made sample.
pub fn own(name: &str) -> (NormalizedEvent, Value) {
    normalize_bytes(&own_sample(name))
}

/// The id a change must get: SHA-256 identity over (collection, type, parts…).
pub fn expected_id(collection: &str, ty: &str, parts: &[&str]) -> String {
    let mut all = vec![collection, ty];
    all.extend_from_slice(parts);
    crate::normalize::identity::event_id(&all)
}

/// Normalizes a shared sample after editing its envelope JSON.
pub fn shared_edited(
    name: &str,
    edit: impl FnOnce(&mut Value),
) -> Option<(NormalizedEvent, Value)> {
    let bytes = shared_sample(name)?;
    let mut v: Value = serde_json::from_slice(&bytes).expect("fixture JSON");
    edit(&mut v);
    Some(normalize_bytes(
        &serde_json::to_vec(&v).expect("serializable"),
    ))
}
