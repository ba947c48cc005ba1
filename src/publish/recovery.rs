//! Settling the sends whose outcome was never recorded (a crash, a lost connection, a confirm
//! timeout) at the start of every session, before anything else is published: those the ledger
//! shows routed leave the outbox without being published again; the others are published again.

use std::collections::HashSet;
use std::time::Instant;

use super::link::Link;
use super::{Publisher, ledger};

impl Publisher {
    /// `Err(reason)` only when the session broke while reading the ledger: the rows then stay in
    /// flight for the next session. Any other failure to read the ledger falls back to publishing
    /// the rows again (at least once, never lost, never held).
    pub(super) async fn resolve_in_flight(&self, link: &Link) -> Result<(), String> {
        let rows = match self.store.in_flight().await {
            Ok(rows) if rows.is_empty() => return Ok(()),
            Ok(rows) => rows,
            Err(error) => {
                // claim_pending still returns them, so they are simply published again.
                tracing::error!(%error, "cannot list the events whose publication is unconfirmed; publishing them again");
                return Ok(());
            }
        };
        if !self.settings.ledger {
            tracing::info!(
                rows = rows.len(),
                "publishing again events whose publication was not confirmed (the ledger is off)"
            );
            self.forget_sends(&rows.iter().map(|r| r.seq).collect::<Vec<_>>())
                .await;
            return Ok(());
        }
        let started = Instant::now();
        let deadline = started + self.bounded(self.settings.confirm_timeout);
        let scan = ledger::scan(link, &self.ledger_queue, &rows, deadline).await;
        // Found in the ledger means routed, whatever happened afterwards.
        if let Err(error) = self.store.mark_published(&scan.routed).await {
            tracing::error!(%error, "cannot remove events the ledger shows published; they will be published again");
        }
        metrics::counter!("ado_ingest_publish_recovered_total").increment(scan.routed.len() as u64);
        let routed: HashSet<i64> = scan.routed.iter().copied().collect();
        let rest: Vec<i64> = rows
            .iter()
            .map(|r| r.seq)
            .filter(|seq| !routed.contains(seq))
            .collect();
        if let Some(reason) = &scan.incomplete {
            if let Some(broken) = link.broken() {
                return Err(format!("{broken} while reading the ledger ({reason})"));
            }
            metrics::counter!("ado_ingest_publish_ledger_fallbacks_total").increment(1);
            tracing::warn!(
                %reason,
                routed = routed.len(),
                republished = rest.len(),
                "cannot read the publish ledger to the end; publishing the other unconfirmed events again (some may be duplicates)"
            );
        } else {
            tracing::info!(
                routed = routed.len(),
                republished = rest.len(),
                entries = scan.entries,
                took = ?started.elapsed(),
                "settled unconfirmed events from the publish ledger"
            );
        }
        self.forget_sends(&rest).await;
        Ok(())
    }

    /// Makes rows ordinary outbox rows again, published when due.
    async fn forget_sends(&self, seqs: &[i64]) {
        if let Err(error) = self.store.clear_sending(seqs).await {
            // They are still claimed and published; only the next session looks them up again.
            tracing::error!(%error, rows = seqs.len(), "cannot record that unconfirmed events are to be published again");
        }
    }
}
