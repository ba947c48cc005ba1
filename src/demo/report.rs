//! The demo's closing table: per event type, changes made, events published and duplicates
//! suppressed, and whether every change arrived exactly once.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use super::tap::Seen;
use crate::normalize::normalized_type;
use ado_sim::{DeliveryStats, TruthEntry};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypeRow {
    pub changes: u64,
    pub published: u64,
    /// Hook deliveries the receiver answered `duplicate` (never published again).
    pub duplicates_suppressed: u64,
    /// Changes whose hook never came, published by the reconciler from the REST API.
    pub reconciled: u64,
    /// Changes that never reached the exchange.
    pub missing: u64,
    /// Messages published more than once, or not matching any change.
    pub extra: u64,
}

#[derive(Debug, Clone)]
pub struct DemoReport {
    pub rows: BTreeMap<String, TypeRow>,
    pub deliveries: DeliveryStats,
    pub elapsed: Duration,
    /// Every change arrived exactly once and nothing else was published.
    pub exact: bool,
}

/// `ado_ingest_hooks_total{event_type="…",outcome="duplicate"} N` lines of the Prometheus text.
fn duplicates_by_type(metrics: &str) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for line in metrics
        .lines()
        .filter(|l| l.starts_with("ado_ingest_hooks_total{"))
    {
        if !line.contains("outcome=\"duplicate\"") {
            continue;
        }
        let Some(ado_type) = line
            .split("event_type=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
        else {
            continue;
        };
        let n: u64 = line
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0) as u64;
        let ty = normalized_type(ado_type).unwrap_or(crate::normalize::passthrough::TYPE);
        *out.entry(ty.to_string()).or_default() += n;
    }
    out
}

pub fn build(
    truth: &[TruthEntry],
    expected: &BTreeMap<String, &'static str>,
    seen: &Seen,
    (metrics_before, metrics_after): (&str, &str),
    deliveries: DeliveryStats,
    elapsed: Duration,
) -> DemoReport {
    let mut rows: BTreeMap<String, TypeRow> = BTreeMap::new();
    for entry in truth {
        rows.entry(entry.normalized_type.to_string())
            .or_default()
            .changes += 1;
    }
    for (id, ty) in expected {
        let row = rows.entry(ty.to_string()).or_default();
        match seen.get(id) {
            Some(m) => {
                row.published += 1;
                row.extra += u64::from(m.count - 1);
                if m.origin != "hook" {
                    row.reconciled += 1;
                }
            }
            None => row.missing += 1,
        }
    }
    for (id, m) in seen {
        if !expected.contains_key(id) {
            rows.entry(m.kind.clone()).or_default().extra += u64::from(m.count);
        }
    }
    let before = duplicates_by_type(metrics_before);
    for (ty, n) in duplicates_by_type(metrics_after) {
        let earlier = before.get(&ty).copied().unwrap_or(0);
        rows.entry(ty).or_default().duplicates_suppressed += n.saturating_sub(earlier);
    }
    // Distinct changes can share an identity only if the simulator made the same change twice.
    let exact =
        expected.len() == truth.len() && rows.values().all(|r| r.missing == 0 && r.extra == 0);
    DemoReport {
        rows,
        deliveries,
        elapsed,
        exact,
    }
}

impl DemoReport {
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<34} {:>8} {:>10} {:>11} {:>11} {:>8} {:>6}",
            "event type", "changes", "published", "duplicates", "reconciled", "missing", "extra"
        );
        let _ = writeln!(out, "{}", "-".repeat(94));
        let mut total = TypeRow::default();
        for (ty, r) in &self.rows {
            let _ = writeln!(
                out,
                "{:<34} {:>8} {:>10} {:>11} {:>11} {:>8} {:>6}",
                ty,
                r.changes,
                r.published,
                r.duplicates_suppressed,
                r.reconciled,
                r.missing,
                r.extra
            );
            total.changes += r.changes;
            total.published += r.published;
            total.duplicates_suppressed += r.duplicates_suppressed;
            total.reconciled += r.reconciled;
            total.missing += r.missing;
            total.extra += r.extra;
        }
        let _ = writeln!(out, "{}", "-".repeat(94));
        let _ = writeln!(
            out,
            "{:<34} {:>8} {:>10} {:>11} {:>11} {:>8} {:>6}",
            "total",
            total.changes,
            total.published,
            total.duplicates_suppressed,
            total.reconciled,
            total.missing,
            total.extra
        );
        let d = &self.deliveries;
        let _ = writeln!(
            out,
            "\nhook deliveries: {} notifications, {} attempts, {} sent twice, {} reordered, {} delayed, {} dropped; {:.1} s",
            d.notifications,
            d.attempts,
            d.duplicates_sent,
            d.reordered,
            d.delayed,
            d.dropped_by_fault,
            self.elapsed.as_secs_f64()
        );
        let missing: u64 = self.rows.values().map(|r| r.missing).sum();
        if missing > 0 && self.deliveries.dropped_by_fault > 0 {
            let _ = writeln!(
                out,
                "{missing} changes are missing: their hooks were dropped and the REST API did not show them."
            );
            for (ty, r) in self.rows.iter().filter(|(_, r)| r.missing > 0) {
                let why = crate::reconcile::hook_only::reason(ty)
                    .unwrap_or("REST shows these: a reconciler defect, please report it");
                let _ = writeln!(out, "  {ty} ({}): {why}", r.missing);
            }
        }
        let _ = writeln!(
            out,
            "{}",
            if self.exact {
                "every change reached the exchange exactly once"
            } else {
                "NOT EXACT: some changes are missing or were published more than once"
            }
        );
        out
    }
}
