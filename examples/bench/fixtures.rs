//! The benchmark's request mix: every hook sample in the shared fixtures, each request a distinct
//! change (fresh collection id) from a real, non-test subscription, serialized before timing starts.

use std::path::Path;

use anyhow::{Context, bail};
use bytes::Bytes;
use serde_json::{Map, Value};

/// Stand-in for the collection id while a template is serialized; spliced out per request.
const PLACEHOLDER: &str = "ado-ingest-bench-collection-id-placeholder";
/// Any non-zero GUID: the all-zero one marks the wizard's test notification, which is not stored.
const SUBSCRIPTION_ID: &str = "b3c4e5f6-0000-4000-8000-00000000be7c";

/// One fixture serialized around the collection id, so a body costs two copies and a format.
struct Template {
    prefix: Vec<u8>,
    suffix: Vec<u8>,
}

/// The fixture templates and a per-run salt that keeps collection ids unique across runs (the
/// server starts with an empty store anyway, but the broker queue must not mix runs).
pub struct Mix {
    templates: Vec<Template>,
    pub names: Vec<String>,
    salt: u32,
}

impl Mix {
    /// Reads every `*.json` in `dir`; missing or empty directories are an error, not a skip.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let entries = std::fs::read_dir(dir).with_context(|| {
            format!(
                "hook fixtures not found at {} (the benchmark needs ../shared/fixtures/ado-samples next to the crate, or --fixtures DIR)",
                dir.display()
            )
        })?;
        let mut paths: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        if paths.is_empty() {
            bail!("no *.json hook fixtures in {}", dir.display());
        }
        let mut templates = Vec::with_capacity(paths.len());
        let mut names = Vec::with_capacity(paths.len());
        for path in paths {
            let raw =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            let value: Value = serde_json::from_slice(&raw)
                .with_context(|| format!("{} is not JSON", path.display()))?;
            templates.push(template(value).with_context(|| format!("{}", path.display()))?);
            names.push(
                path.file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            );
        }
        Ok(Self {
            templates,
            names,
            salt: rand::random(),
        })
    }

    /// Bodies for requests `first..first + count`, templates taken round-robin.
    pub fn bodies(&self, first: u64, count: u64) -> Vec<Bytes> {
        (first..first + count).map(|n| self.body(n)).collect()
    }

    fn body(&self, n: u64) -> Bytes {
        let len = self.templates.len() as u64;
        let template = &self.templates[usize::try_from(n % len).unwrap_or(0)];
        let id = collection_id(self.salt, n);
        let mut out = Vec::with_capacity(template.prefix.len() + id.len() + template.suffix.len());
        out.extend_from_slice(&template.prefix);
        out.extend_from_slice(id.as_bytes());
        out.extend_from_slice(&template.suffix);
        Bytes::from(out)
    }
}

/// A UUID-shaped collection id unique per run and request.
fn collection_id(salt: u32, n: u64) -> String {
    format!(
        "{salt:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (n >> 48) & 0xffff,
        (n >> 36) & 0xfff,
        (n >> 24) & 0xfff,
        n & 0xffff_ffff_ffff
    )
}

/// Sets `subscriptionId` and `resourceContainers.collection.id` (creating the objects when a
/// sample has none) and splits the serialized sample at the collection id.
fn template(mut value: Value) -> anyhow::Result<Template> {
    let Value::Object(root) = &mut value else {
        bail!("not a JSON object");
    };
    root.insert(
        "subscriptionId".into(),
        Value::String(SUBSCRIPTION_ID.into()),
    );
    let containers = object_at(root, "resourceContainers");
    let collection = object_at(containers, "collection");
    collection.insert("id".into(), Value::String(PLACEHOLDER.into()));
    let text = serde_json::to_string(&value)?;
    let quoted = format!("\"{PLACEHOLDER}\"");
    if text.matches(&quoted).count() != 1 {
        bail!("the sample already contains the placeholder text");
    }
    let (prefix, rest) = text
        .split_once(&quoted)
        .context("placeholder vanished from the serialized sample")?;
    Ok(Template {
        prefix: format!("{prefix}\"").into_bytes(),
        suffix: format!("\"{rest}").into_bytes(),
    })
}

/// The object under `key`, replacing a missing or non-object value with `{}`.
fn object_at<'a>(map: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = map
        .entry(key.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    match slot {
        Value::Object(inner) => inner,
        _ => unreachable!("just made an object"),
    }
}
