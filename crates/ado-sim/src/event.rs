//! Raised events: what one change publishes (resource per resource version, messages, the facts
//! subscription filters look at) and how it is wrapped in the service-hook envelope for one
//! subscription's options.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::clock::ts_ticks;

pub use ado_events::{EVENT_KINDS, EventKind, event_kind};

/// Catalog event types the simulator accepts subscriptions for but never raises (none: every
/// catalog type is raised by some activity).
pub const NOT_RAISED: &[&str] = &[];

/// `{text, html, markdown}` of a message.
#[derive(Debug, Clone, Default)]
pub struct Message {
    pub text: String,
    pub html: String,
    pub markdown: String,
}

impl Message {
    /// A message whose html/markdown link `link_text` to `url`.
    pub fn linked(before: &str, link_text: &str, after: &str, url: &str) -> Self {
        Self {
            text: format!("{before}{link_text}{after}"),
            html: format!("{before}<a href=\"{url}\">{link_text}</a>{after}"),
            markdown: format!("{before}[{link_text}]({url}){after}"),
        }
    }

    /// Rendered for a `messagesToSend` / `detailedMessagesToSend` option.
    fn render(&self, option: &str) -> Value {
        match option {
            "none" => Value::Null,
            "text" => json!({ "text": self.text }),
            "html" => json!({ "html": self.html }),
            "markdown" => json!({ "markdown": self.markdown }),
            _ => json!({ "text": self.text, "html": self.html, "markdown": self.markdown }),
        }
    }
}

/// The `resourceContainers` of a collection.
#[derive(Debug, Clone)]
pub struct Containers {
    pub collection_id: String,
    pub base_url: String,
    /// `account` (Services) or `server` (Server).
    pub host_key: &'static str,
    pub host_id: String,
    pub host_base_url: String,
}

/// An event as raised by a change, before fan-out to subscriptions.
#[derive(Debug)]
pub struct RaisedEvent {
    pub org: usize,
    pub truth_index: usize,
    /// The Azure DevOps event id (shared by every subscription it fans out to).
    pub id: String,
    pub kind: &'static EventKind,
    pub created_date: DateTime<Utc>,
    pub containers: Containers,
    /// Project container id (absent for TFVC and release events).
    pub project_id: Option<String>,
    /// Serialized resource per resource version, in `kind.resource_versions` order.
    pub resources: Vec<Arc<str>>,
    pub message: Message,
    pub detailed_message: Message,
    /// Values subscription `publisherInputs` filters match against, by input name.
    pub facts: BTreeMap<&'static str, Vec<String>>,
}

/// How a subscription wants events rendered (its consumer inputs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderOptions {
    pub resource_version: String,
    /// `all | minimal | none`.
    pub resource_details: String,
    pub messages: String,
    pub detailed_messages: String,
}

impl Default for RenderOptions {
    fn default() -> Self {
        Self {
            resource_version: String::new(),
            resource_details: "all".into(),
            messages: "all".into(),
            detailed_messages: "all".into(),
        }
    }
}

/// Top-level resource keys kept by `resourceDetailsToSend = minimal`
/// (docs/contract.md#resource-details).
const MINIMAL_KEYS: &[&str] = &[
    "id",
    "url",
    "webUrl",
    "name",
    "pullRequestId",
    "workItemId",
    "pushId",
    "changesetId",
    "stageName",
    "attemptId",
    "runId",
    "runUrl",
    "approvalId",
];

impl RaisedEvent {
    /// Index of the resource version a subscription asked for (empty / `latest` = the pinned one).
    pub fn version_index(kind: &EventKind, requested: &str) -> Option<usize> {
        if requested.is_empty() || requested.eq_ignore_ascii_case("latest") {
            return Some(0);
        }
        kind.resource_versions.iter().position(|v| *v == requested)
    }

    fn resource_for(&self, opts: &RenderOptions) -> (Value, Value) {
        if opts.resource_details == "none" {
            return (Value::Null, Value::Null);
        }
        let idx = Self::version_index(self.kind, &opts.resource_version).unwrap_or(0);
        let raw = &self.resources[idx.min(self.resources.len().saturating_sub(1))];
        let mut resource: Value = serde_json::from_str(raw).unwrap_or(Value::Null);
        if opts.resource_details == "minimal"
            && let Value::Object(m) = &mut resource
        {
            m.retain(|k, v| MINIMAL_KEYS.contains(&k.as_str()) && !v.is_object() && !v.is_array());
        }
        (resource, json!(self.kind.resource_versions[idx]))
    }

    /// The envelope for one delivery (or, without subscription/notification ids, the canonical
    /// payload of the event).
    pub fn envelope(&self, opts: &RenderOptions, subscription: Option<(&str, u64)>) -> Value {
        let (resource, rv) = self.resource_for(opts);
        let c = &self.containers;
        let mut containers = Map::new();
        containers.insert(
            "collection".into(),
            json!({"id": c.collection_id, "baseUrl": c.base_url}),
        );
        containers.insert(
            c.host_key.into(),
            json!({"id": c.host_id, "baseUrl": c.host_base_url}),
        );
        if let Some(p) = &self.project_id {
            containers.insert("project".into(), json!({"id": p, "baseUrl": c.base_url}));
        }
        let mut m = Map::new();
        if let Some((sub, nid)) = subscription {
            m.insert("subscriptionId".into(), json!(sub));
            m.insert("notificationId".into(), json!(nid));
        }
        m.insert("id".into(), json!(self.id));
        m.insert("eventType".into(), json!(self.kind.event_type));
        m.insert("publisherId".into(), json!(self.kind.publisher_id));
        m.insert("message".into(), self.message.render(&opts.messages));
        m.insert(
            "detailedMessage".into(),
            self.detailed_message.render(&opts.detailed_messages),
        );
        m.insert("resource".into(), resource);
        m.insert("resourceVersion".into(), rv);
        m.insert("resourceContainers".into(), Value::Object(containers));
        m.insert("createdDate".into(), json!(ts_ticks(self.created_date)));
        Value::Object(m)
    }

    /// The payload with default options (full resource at the pinned version, all messages) and
    /// no subscription: what the normalizer should turn into this change's event.
    pub fn canonical(&self) -> Value {
        self.envelope(&RenderOptions::default(), None)
    }
}
