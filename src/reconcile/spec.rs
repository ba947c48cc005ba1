//! What a backfill asks for and how far it got: shared by the reconciler (which runs streams), the
//! admin API and the `backfill` command (which start, persist and show jobs).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::Stream;

/// A manual backfill request (`POST /admin/backfills`, `ado-ingest backfill`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackfillSpec {
    /// A configured organization, by name or URL.
    pub organization: String,
    /// Project names or ids; empty = the organization's configured projects (or all it can read).
    #[serde(default)]
    pub projects: Vec<String>,
    /// Streams to walk; empty = the organization's configured streams.
    #[serde(default)]
    pub streams: Vec<Stream>,
    /// Changes at or after this instant.
    pub since: DateTime<Utc>,
    /// Changes before this instant (default: now, when the job starts).
    #[serde(default)]
    pub until: Option<DateTime<Utc>>,
}

/// Progress of one stream within a backfill job (or one reconciler run).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamProgress {
    pub pages: u64,
    pub objects_seen: u64,
    pub events_published: u64,
    pub duplicates_skipped: u64,
    pub errors: u64,
    /// Where to resume: an opaque, stream-specific cursor persisted with the job after each durable
    /// page, so a restarted job continues instead of starting over.
    #[serde(default)]
    pub cursor: Option<String>,
    pub done: bool,
    #[serde(default)]
    pub last_error: Option<String>,
    /// What the stream could not read (an auxiliary call refused or missing) and what is not
    /// recovered because of it; everything else was still reconciled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gaps: Vec<String>,
}

/// Progress of a whole job, per stream.
pub type JobProgress = BTreeMap<Stream, StreamProgress>;
