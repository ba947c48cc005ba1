//! One stream's walk: where it resumes (a stored watermark for the periodic loop, the job's cursor
//! for a backfill), and the page commit that makes a page's events durable BEFORE its position is
//! recorded — the invariant that lets a crash between pages lose nothing.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use super::ReconcileError;
use super::ctx::Ctx;
use super::spec::StreamProgress;
use crate::normalize::NormalizedEvent;
use crate::store::InsertOutcome;

/// Store namespace of the periodic loop's watermarks (key `{org}/{stream}`).
pub const WATERMARK_NAMESPACE: &str = "watermark";

/// What a walk covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The periodic loop: from the stored watermark (minus the overlap) to now; advances it.
    Periodic,
    /// A backfill window `[since, until)`; its position lives in the job's cursor.
    Window {
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    },
}

impl Mode {
    pub fn until(&self) -> Option<DateTime<Utc>> {
        match self {
            Mode::Periodic => None,
            Mode::Window { until, .. } => Some(*until),
        }
    }

    /// Whether a change at `t` belongs to the walk (the periodic loop takes everything it finds).
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        match self {
            Mode::Periodic => true,
            Mode::Window { since, until } => t >= *since && t < *until,
        }
    }
}

/// A page callback: the stream's progress after each durable page.
pub(crate) type OnPage<'a> = &'a mut (dyn FnMut(&StreamProgress) + Send);

pub(crate) struct Walk<'a> {
    pub ctx: &'a Ctx,
    /// The stream's name (`git`, …, `notifications`): watermark key, logs and metrics.
    pub stream: &'static str,
    pub mode: Mode,
    pub progress: &'a mut StreamProgress,
    pub on_page: OnPage<'a>,
    pub cancel: &'a CancellationToken,
}

impl Walk<'_> {
    pub fn key(&self) -> String {
        format!("{}/{}", self.ctx.org, self.stream)
    }

    /// The position to resume from (default when there is none or it cannot be read).
    pub async fn load_cursor<C: DeserializeOwned + Default>(
        &mut self,
    ) -> Result<C, ReconcileError> {
        let text = match self.mode {
            Mode::Periodic => {
                self.ctx
                    .store
                    .get_state(WATERMARK_NAMESPACE, &self.key())
                    .await?
            }
            Mode::Window { .. } => self.progress.cursor.clone(),
        };
        Ok(match text {
            None => C::default(),
            Some(t) => serde_json::from_str(&t).unwrap_or_else(|e| {
                tracing::warn!(org = %self.ctx.org, stream = %self.stream, error = %e,
                    "unreadable stream position; starting over");
                C::default()
            }),
        })
    }

    /// Makes a page durable: inserts its events (new ids → outbox, known ids → duplicates), THEN
    /// records the position `cursor`, then reports progress. Stops with `Cancelled` between pages.
    pub async fn commit<C: Serialize>(
        &mut self,
        events: Vec<NormalizedEvent>,
        objects: u64,
        cursor: &C,
    ) -> Result<(), ReconcileError> {
        let mut events = events;
        if let Mode::Window { .. } = self.mode {
            // A backfill publishes only changes that happened inside its window.
            events.retain(|e| self.mode.contains(e.time));
        }
        let (accepted, duplicates) = self.insert(events).await?;
        let text = serde_json::to_string(cursor).map_err(|e| ReconcileError::Cursor {
            stream: self.stream.to_string(),
            message: e.to_string(),
        })?;
        match self.mode {
            Mode::Periodic => {
                self.ctx
                    .store
                    .put_state(WATERMARK_NAMESPACE, &self.key(), &text)
                    .await?
            }
            Mode::Window { .. } => self.progress.cursor = Some(text),
        }
        let p = &mut *self.progress;
        p.pages += 1;
        p.objects_seen += objects;
        p.events_published += accepted;
        p.duplicates_skipped += duplicates;
        (self.on_page)(p);
        if self.cancel.is_cancelled() {
            return Err(ReconcileError::Cancelled);
        }
        Ok(())
    }

    /// Inserts events without moving the position (state diffs whose position is stored later).
    pub async fn insert(
        &mut self,
        events: Vec<NormalizedEvent>,
    ) -> Result<(u64, u64), ReconcileError> {
        // The same change can be derived twice within one page (e.g. a run state seen in two
        // lists); one copy is enough and keeps the counts honest.
        let mut ids = HashSet::new();
        let mut duplicates = 0u64;
        let events: Vec<NormalizedEvent> = events
            .into_iter()
            .filter(|e| {
                let new = ids.insert(e.id.clone());
                duplicates += u64::from(!new);
                new
            })
            .collect();
        if events.is_empty() {
            return Ok((0, duplicates));
        }
        let types: Vec<String> = events.iter().map(|e| e.event_type.clone()).collect();
        let outcomes = self.ctx.store.insert(events).await?;
        let mut accepted = 0u64;
        for (outcome, ty) in outcomes.iter().zip(types) {
            let label = match outcome {
                InsertOutcome::Accepted => {
                    accepted += 1;
                    "published"
                }
                InsertOutcome::Duplicate => {
                    duplicates += 1;
                    "duplicate"
                }
            };
            metrics::counter!("ado_ingest_reconcile_events_total",
                "org" => self.ctx.org.clone(), "stream" => self.stream,
                "event_type" => ty, "outcome" => label)
            .increment(1);
        }
        Ok((accepted, duplicates))
    }
}
