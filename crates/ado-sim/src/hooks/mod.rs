//! Hook event builders: for each kind of change, the resource in every supported resource version
//! (matching the real payload shapes of `../shared/fixtures/ado-samples`), the human messages, the
//! facts subscription filters match on, and the identity the change is recorded under.

pub mod build;
pub mod git;
pub mod tfvc;
pub mod wit;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::event::Message;

/// An event a change raises, before it gets an event id and fans out.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event_type: &'static str,
    /// Resource per supported resource version, in [`super::event::EventKind`] order.
    pub resources: Vec<Value>,
    pub message: Message,
    pub detailed_message: Message,
    /// Project container (None for TFVC and release events).
    pub project: Option<usize>,
    pub facts: BTreeMap<&'static str, Vec<String>>,
    /// Identity of the change (ground truth), by name.
    pub identity: Map<String, Value>,
    pub summary: String,
}

impl NewEvent {
    pub fn new(
        event_type: &'static str,
        resource: Value,
        message: Message,
        summary: String,
    ) -> Self {
        Self {
            event_type,
            resources: vec![resource],
            detailed_message: message.clone(),
            message,
            project: None,
            facts: BTreeMap::new(),
            identity: Map::new(),
            summary,
        }
    }

    pub fn project(mut self, project: usize, project_id: &str) -> Self {
        self.project = Some(project);
        self.facts.insert("projectId", vec![project_id.to_string()]);
        self
    }

    pub fn fact(mut self, input: &'static str, value: impl Into<String>) -> Self {
        self.facts.entry(input).or_default().push(value.into());
        self
    }

    pub fn id_part(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.identity.insert(name.to_string(), value.into());
        self
    }

    pub fn detailed(mut self, message: Message) -> Self {
        self.detailed_message = message;
        self
    }
}

/// Branch filter values accept both `main` and `refs/heads/main`.
pub fn branch_facts(event: NewEvent, ref_name: &str) -> NewEvent {
    let short = ref_name.trim_start_matches("refs/heads/").to_string();
    event.fact("branch", ref_name).fact("branch", short)
}

/// Title-case `succeeded` → `Succeeded` for the pipelines filter values.
pub fn filter_case(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
        None => String::new(),
    }
}
