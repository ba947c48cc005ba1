//! One walker per stream. Each reads the REST API from its position, puts what it finds into the
//! hook resource shapes, normalizes it (same ids as hooks) and commits page by page.

mod builds;
mod git;
mod pulls;
mod releases;
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
    let result = match stream {
        Stream::WorkItems => workitems::walk(w, wi_cache).await,
        Stream::Git => git::walk(w).await,
        Stream::PullRequests => pulls::walk(w).await,
        Stream::Builds => builds::walk(w, builds::Derive::Builds).await,
        Stream::Approvals => builds::walk(w, builds::Derive::Approvals).await,
        Stream::Releases => releases::walk(w).await,
        Stream::Tfvc => tfvc::walk(w).await,
    };
    report_gaps(w);
    result
}

/// Moves the gaps the walk noted into its progress: one warning line and one metric increment
/// per gap and pass, so a refused permission is visible without flooding the log.
pub(crate) fn report_gaps(w: &mut Walk<'_>) {
    for gap in w.ctx.take_gaps(w.stream) {
        tracing::warn!(org = %w.ctx.org, stream = w.stream, "{gap}");
        metrics::counter!("ado_ingest_reconcile_gaps_total",
            "org" => w.ctx.org.clone(), "stream" => w.stream)
        .increment(1);
        if !w.progress.gaps.contains(&gap) {
            w.progress.gaps.push(gap);
        }
    }
}

/// A time as Azure DevOps query parameters take it (UTC, ISO 8601, percent-safe).
pub(crate) fn query_time(t: DateTime<Utc>) -> String {
    super::ctx::seg(&format_time(&t))
}

pub(crate) fn time_of(v: &serde_json::Value, key: &str) -> Option<DateTime<Utc>> {
    parse_time(v.get(key).and_then(serde_json::Value::as_str))
}
