//! The normalized event: what every input path (hook, REST backfill, replay) produces and the store keeps.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How an event reached ado-ingest; published as the CloudEvents extension `adoorigin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// Delivered by an Azure DevOps service hook.
    Hook,
    /// Found by the reconciler or a manual backfill through the REST API.
    Backfill,
    /// Re-ingested from a failed notification's stored original event.
    Replay,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Hook => "hook",
            Origin::Backfill => "backfill",
            Origin::Replay => "replay",
        }
    }
}

/// Knobs the caller of the normalizer decides, not the payload.
#[derive(Debug, Clone)]
pub struct NormalizeOptions {
    /// Embed the original `resource` under `data.raw`.
    pub include_raw: bool,
    /// Which path produced the event.
    pub origin: Origin,
    /// Organization slug from the request path (`/hooks/{org}`) or the configured organization;
    /// when absent it is derived from the collection base URL.
    pub org_override: Option<String>,
}

impl Default for NormalizeOptions {
    fn default() -> Self {
        Self {
            include_raw: true,
            origin: Origin::Hook,
            org_override: None,
        }
    }
}

/// One change, ready to be stored and published as-is.
#[derive(Debug, Clone, PartialEq)]
pub struct NormalizedEvent {
    /// Deterministic, SHA-256-derived id of the change (UUID-formatted); AMQP `message_id`.
    pub id: String,
    /// Normalized type, e.g. `workitem.updated`; AMQP `type` property.
    pub event_type: String,
    /// `{org}.{project}.{type}`.
    pub routing_key: String,
    /// When the change happened (from the resource), used for the AMQP `timestamp`.
    pub time: DateTime<Utc>,
    /// The CloudEvents 1.0 structured-JSON message body.
    pub body: Vec<u8>,
}
