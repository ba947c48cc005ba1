//! The one event catalog (`ado-events`) and everything derived from it agree: the normalizer's
//! mapping and dispatch, the list of published types, `schemas/catalog.json` (what the schema
//! generator reads), the generated schemas, and what `subscriptions sync` subscribes to.

use std::path::Path;
use std::process::Command;

use ado_events::{EVENT_KINDS, PASSTHROUGH};
use ado_ingest::normalize::{Containers, NORMALIZED_TYPES, NotNormalized, ResourceContext};
use serde_json::json;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn the_normalizer_maps_and_dispatches_every_catalog_type() {
    let containers = Containers::default();
    let ctx = ResourceContext {
        resource_version: None,
        containers: &containers,
        created_date: None,
    };
    for kind in EVENT_KINDS {
        assert_eq!(
            ado_ingest::normalize::normalized_type(kind.event_type),
            Some(kind.normalized_type),
            "{}",
            kind.event_type
        );
        assert!(NORMALIZED_TYPES.contains(&kind.normalized_type));
        // An empty resource lacks identity fields, but the type must reach its own normalizer.
        let outcome = ado_ingest::normalize::draft_for(kind.event_type, &json!({}), &ctx);
        assert!(
            !matches!(outcome, Err(NotNormalized::UnknownType(_))),
            "{} has no normalizer",
            kind.event_type
        );
        let schema = format!("{ROOT}/schemas/{}.schema.json", kind.normalized_type);
        assert!(Path::new(&schema).is_file(), "{schema} is missing");
    }
    assert_eq!(NORMALIZED_TYPES.last(), Some(&PASSTHROUGH));
    assert_eq!(NORMALIZED_TYPES.len(), EVENT_KINDS.len() + 1);
}

/// `schemas/catalog.json` is the catalog; `ADO_INGEST_BLESS=1` rewrites it after a catalog change
/// (then run `python3 schemas/generate.py`).
#[test]
fn schemas_catalog_json_is_the_catalog() {
    let path = format!("{ROOT}/schemas/catalog.json");
    let expected = ado_events::catalog_json();
    if std::env::var_os("ADO_INGEST_BLESS").is_some() {
        std::fs::write(&path, &expected).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        on_disk, expected,
        "schemas/catalog.json is stale: run ADO_INGEST_BLESS=1 cargo test catalog, then python3 schemas/generate.py"
    );
    let parsed: serde_json::Value = serde_json::from_str(&on_disk).expect("valid JSON");
    assert_eq!(parsed.as_array().unwrap().len(), EVENT_KINDS.len());
}

/// The generator reads the catalog and fails when its own type list differs; `--check` fails
/// when a generated file is not what is committed.
#[test]
fn the_schema_generator_agrees_with_the_catalog_and_the_committed_schemas() {
    let out = match Command::new("python3")
        .arg(format!("{ROOT}/schemas/generate.py"))
        .arg("--check")
        .output()
    {
        Ok(out) => out,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipping: python3 not runnable ({e})");
            return;
        }
        Err(e) => panic!("python3 is needed under CI: {e}"),
    };
    assert!(
        out.status.success(),
        "schemas/generate.py --check: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
