//! Logging (tracing, text or JSON) and the process-wide Prometheus recorder.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the tracing subscriber; `RUST_LOG` overrides the default `info` level.
pub fn init_tracing(format: LogFormat) {
    init_tracing_with_default(format, "info,lapin=warn");
}

/// Like [`init_tracing`] with another default filter (e.g. `warn` for the demo's clean output).
pub fn init_tracing_with_default(format: LogFormat, default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(true);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// The Prometheus handle, installing the global recorder on first use (several servers in one test
/// process share it).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let latency_buckets = [
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ];
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &latency_buckets)
                .expect("static buckets are valid")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (e.g. by an embedding application); then our
            // handle still renders our own registry.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// One metric ado-ingest records: its name, kind, unit and what it counts. The README's metrics
/// table lists the same names (a test compares both with the names recorded in `src/`).
pub struct MetricInfo {
    pub name: &'static str,
    pub kind: MetricKind,
    pub unit: metrics::Unit,
    pub help: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Counter,
    Gauge,
    Histogram,
}

const fn metric(
    name: &'static str,
    kind: MetricKind,
    unit: metrics::Unit,
    help: &'static str,
) -> MetricInfo {
    MetricInfo {
        name,
        kind,
        unit,
        help,
    }
}

use MetricKind::{Counter, Gauge, Histogram};
use metrics::Unit;

/// Every metric of the service, described to the recorder at start-up (`# HELP` lines).
pub const METRICS: &[MetricInfo] = &[
    metric(
        "ado_ingest_hooks_total",
        Counter,
        Unit::Count,
        "Hook requests by Azure DevOps event type and outcome.",
    ),
    metric(
        "ado_ingest_duplicates_total",
        Counter,
        Unit::Count,
        "Changes already stored, by origin (hook, backfill, replay): suppressed, not published again.",
    ),
    metric(
        "ado_ingest_outbox_full_total",
        Counter,
        Unit::Count,
        "Hooks refused with 503 because the outbox reached outbox_max.",
    ),
    metric(
        "ado_ingest_outbox_depth",
        Gauge,
        Unit::Count,
        "Events stored but not yet confirmed by the broker.",
    ),
    metric(
        "ado_ingest_http_request_duration_seconds",
        Histogram,
        Unit::Seconds,
        "HTTP request latency by matched route and status.",
    ),
    metric(
        "ado_ingest_handler_panics_total",
        Counter,
        Unit::Count,
        "Handler panics answered 503 instead of 500.",
    ),
    metric(
        "ado_ingest_admin_auth_failures_total",
        Counter,
        Unit::Count,
        "Admin API requests with a missing or wrong bearer token.",
    ),
    metric(
        "ado_ingest_store_commits_total",
        Counter,
        Unit::Count,
        "Group commits of the store writer (one fsync each).",
    ),
    metric(
        "ado_ingest_publish_confirms_total",
        Counter,
        Unit::Count,
        "Publisher confirms by outcome.",
    ),
    metric(
        "ado_ingest_publish_latency_seconds",
        Histogram,
        Unit::Seconds,
        "Time from sending a batch to its broker confirms.",
    ),
    metric(
        "ado_ingest_publish_recovered_total",
        Counter,
        Unit::Count,
        "Unconfirmed sends found in the publish ledger after a restart or reconnect, settled without republishing.",
    ),
    metric(
        "ado_ingest_publish_ledger_fallbacks_total",
        Counter,
        Unit::Count,
        "Recoveries that could not read the ledger and republished instead (at-least-once).",
    ),
    metric(
        "ado_ingest_broker_reconnects_total",
        Counter,
        Unit::Count,
        "Broker connections re-established by the publisher.",
    ),
    metric(
        "ado_ingest_reconcile_events_total",
        Counter,
        Unit::Count,
        "Events the reconciler found, by organization, stream, type and outcome.",
    ),
    metric(
        "ado_ingest_signin_failures_total",
        Counter,
        Unit::Count,
        "Renewals of the `ado-ingest login` sign-in that were refused (revoked or expired sign-in, unreadable token file): run `login` again.",
    ),
    metric(
        "ado_ingest_discovered_organizations",
        Gauge,
        Unit::Count,
        "Organizations found by [discovery], by state: accessible (reconciled) or lost (no longer listed; state kept).",
    ),
    metric(
        "ado_ingest_discovery_errors_total",
        Counter,
        Unit::Count,
        "Discovery passes that could not list the identity's organizations (tried again next interval).",
    ),
    metric(
        "ado_ingest_reconcile_gaps_total",
        Counter,
        Unit::Count,
        "Auxiliary REST calls refused (403) or missing (404) in a pass, once per gap and pass, by organization and stream: what is not recovered is in the status.",
    ),
    metric(
        "ado_ingest_reconcile_last_run_timestamp_seconds",
        Gauge,
        Unit::Seconds,
        "Unix time a stream's last reconcile pass finished, by organization and stream.",
    ),
    metric(
        "ado_ingest_rest_requests_total",
        Counter,
        Unit::Count,
        "Azure DevOps REST requests by organization and status.",
    ),
    metric(
        "ado_ingest_rest_throttled_seconds_total",
        Counter,
        Unit::Seconds,
        "Seconds the REST client waited for Azure DevOps rate limits, by organization.",
    ),
    metric(
        "ado_ingest_subscriptions_reenabled_total",
        Counter,
        Unit::Count,
        "Web-hook subscriptions to this service switched back on after probation or a system disable.",
    ),
    metric(
        "ado_ingest_backfill_jobs_total",
        Counter,
        Unit::Count,
        "Backfill jobs by the state they reached.",
    ),
];

/// Describes every metric in [`METRICS`] to the installed recorder (idempotent).
pub fn describe_metrics() {
    let _ = metrics_handle();
    static DESCRIBED: OnceLock<()> = OnceLock::new();
    DESCRIBED.get_or_init(|| {
        for m in METRICS {
            match m.kind {
                Counter => metrics::describe_counter!(m.name, m.unit, m.help),
                Gauge => metrics::describe_gauge!(m.name, m.unit, m.help),
                Histogram => metrics::describe_histogram!(m.name, m.unit, m.help),
            }
        }
    });
}
