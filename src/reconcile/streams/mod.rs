//! One walker per stream. Each reads the REST API from its position, puts what it finds into the
//! hook resource shapes, normalizes it (same ids as hooks) and commits page by page.

mod builds;
mod git;
mod pulls;
mod tfvc;
pub(crate) mod workitems;

use chrono::{DateTime, Utc};

use super::ReconcileError;
use super::walk::Walk;
use crate::config::Stream;
use crate::normalize::time::{format_time, parse_time};

/// Walks one stream.
pub(crate) async fn walk(
    stream: Stream,
    w: &mut Walk<'_>,
    wi_cache: &workitems::RevisionCache,
) -> Result<(), ReconcileError> {
    match stream {
        Stream::WorkItems => workitems::walk(w, wi_cache).await,
        Stream::Git => git::walk(w).await,
        Stream::PullRequests => pulls::walk(w).await,
        Stream::Builds => builds::walk(w).await,
        Stream::Tfvc => tfvc::walk(w).await,
    }
}

/// A time as Azure DevOps query parameters take it (UTC, ISO 8601, percent-safe).
pub(crate) fn query_time(t: DateTime<Utc>) -> String {
    super::ctx::seg(&format_time(&t))
}

pub(crate) fn time_of(v: &serde_json::Value, key: &str) -> Option<DateTime<Utc>> {
    parse_time(v.get(key).and_then(serde_json::Value::as_str))
}
