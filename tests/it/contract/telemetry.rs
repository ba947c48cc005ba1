//! Every metric the service records is described (`telemetry::METRICS`, the `# HELP` lines) and
//! listed in the README, and nothing is listed that is not recorded.

use std::collections::BTreeSet;
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Metric names passed to `counter!`/`gauge!`/`histogram!` anywhere under `src/`.
fn recorded_names() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut dirs = vec![Path::new(ROOT).join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for macro_name in ["counter!(", "gauge!(", "histogram!("] {
                for (at, _) in text.match_indices(macro_name) {
                    let rest = text[at + macro_name.len()..].trim_start();
                    if let Some(rest) = rest.strip_prefix('"') {
                        let name = &rest[..rest.find('"').unwrap()];
                        names.insert(name.to_string());
                    }
                }
            }
        }
    }
    names
}

#[test]
fn every_recorded_metric_is_described_and_in_the_readme() {
    let recorded = recorded_names();
    assert!(recorded.len() >= 10, "found {recorded:?}");
    let described: BTreeSet<String> = ado_ingest::telemetry::METRICS
        .iter()
        .map(|m| m.name.to_string())
        .collect();
    assert_eq!(
        recorded, described,
        "telemetry::METRICS vs the names recorded in src/"
    );
    let readme = std::fs::read_to_string(format!("{ROOT}/README.md")).unwrap();
    for name in &described {
        assert!(
            readme.contains(&format!("`{name}")),
            "README does not list {name}"
        );
    }
}

#[tokio::test]
async fn the_metrics_endpoint_carries_help_lines() {
    ado_ingest::telemetry::describe_metrics();
    metrics::counter!("ado_ingest_duplicates_total", "origin" => "test").increment(0);
    let text = ado_ingest::telemetry::metrics_handle().render();
    assert!(
        text.contains("# HELP ado_ingest_duplicates_total"),
        "{text}"
    );
}
