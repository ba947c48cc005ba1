//! The shared fixtures (`../shared/fixtures` beside the repository); missing ones fail under CI.

use std::path::PathBuf;

/// `../shared/fixtures/{kind}` of the workspace, or `None` (with a note) when absent outside CI.
pub fn fixtures_dir(kind: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures"
    ))
    .join(kind);
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() || std::env::var_os("ADO_INGEST_REQUIRE_FIXTURES").is_some()
    {
        panic!("fixtures missing at {} (required under CI)", dir.display());
    }
    eprintln!("skipping: fixtures not found at {}", dir.display());
    None
}

/// Every `*.json` hook sample of `ado-samples` (file name, bytes), sorted by name.
pub fn hook_samples() -> Vec<(String, Vec<u8>)> {
    let Some(dir) = fixtures_dir("ado-samples") else {
        return Vec::new();
    };
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("read fixtures")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}
