//! Group commit for hooks on PostgreSQL: every insert request queued while the previous transaction
//! was committing goes into ONE transaction, so N concurrent hooks cost about one commit (one WAL
//! flush), as with the SQLite writer. Duplicates are settled by the database itself — `seen` takes
//! each id once (`ON CONFLICT DO NOTHING`), so the same hook reaching two replicas at once is stored
//! once and the second is told `Duplicate` — and ids are written in sorted order so two replicas'
//! batches that share ids cannot deadlock.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use deadpool_postgres::Pool;
use tokio::sync::{mpsc, oneshot};

use super::{Shared, backend, now_ms};
use crate::normalize::NormalizedEvent;
use crate::store::{InsertOutcome, StoreError};

/// Upper bound of the events committed in one transaction.
const MAX_BATCH_EVENTS: usize = 2048;
/// Attempts of a batch that hit a deadlock or a serialization failure before its callers are told.
const MAX_TRIES: u32 = 3;

pub(super) struct InsertRequest {
    pub events: Vec<NormalizedEvent>,
    pub reply: oneshot::Sender<Result<Vec<InsertOutcome>, StoreError>>,
}

/// Commits queued insert requests until every sender is gone.
pub(super) async fn run(pool: Pool, mut rx: mpsc::Receiver<InsertRequest>, shared: Arc<Shared>) {
    while let Some(first) = rx.recv().await {
        let mut weight = first.events.len();
        let mut batch = vec![first];
        while weight < MAX_BATCH_EVENTS {
            match rx.try_recv() {
                Ok(request) => {
                    weight += request.events.len();
                    batch.push(request);
                }
                Err(_) => break,
            }
        }
        commit_batch(&pool, batch, &shared).await;
    }
}

async fn commit_batch(pool: &Pool, batch: Vec<InsertRequest>, shared: &Shared) {
    let mut tries = 0;
    let result = loop {
        tries += 1;
        match try_commit(pool, &batch, shared).await {
            Err(Attempt::Retry(e)) if tries < MAX_TRIES => {
                tracing::debug!(error = %e, tries, "hook batch hit a conflict; retrying");
            }
            Err(Attempt::Retry(e) | Attempt::Fail(e)) => break Err(e),
            Ok(outcomes) => break Ok(outcomes),
        }
    };
    match result {
        Ok(outcomes) => {
            let mut added = false;
            for (request, outcome) in batch.into_iter().zip(outcomes) {
                if let Ok(o) = &outcome {
                    added |= o.contains(&InsertOutcome::Accepted);
                }
                let _ = request.reply.send(outcome);
            }
            if added {
                shared.notify.notify_one();
            }
        }
        Err(error) => {
            for request in batch {
                let _ = request.reply.send(Err(error.clone()));
            }
        }
    }
}

enum Attempt {
    /// Deadlock or serialization failure: the whole batch may be tried again.
    Retry(StoreError),
    Fail(StoreError),
}

fn classify(e: tokio_postgres::Error) -> Attempt {
    use tokio_postgres::error::SqlState;
    let retry = matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
    );
    if retry {
        Attempt::Retry(backend(e))
    } else {
        Attempt::Fail(backend(e))
    }
}

/// One transaction for the whole batch; the per-request answers once it is committed.
#[allow(clippy::type_complexity)]
async fn try_commit(
    pool: &Pool,
    batch: &[InsertRequest],
    shared: &Shared,
) -> Result<Vec<Result<Vec<InsertOutcome>, StoreError>>, Attempt> {
    let mut client = pool.get().await.map_err(|e| {
        Attempt::Fail(StoreError::Unavailable(format!(
            "no database connection: {e}"
        )))
    })?;
    let tx = client.transaction().await.map_err(classify)?;
    let all_ids: Vec<&str> = batch
        .iter()
        .flat_map(|r| r.events.iter().map(|e| e.id.as_str()))
        .collect();
    let known: HashSet<String> = tx
        .query("SELECT id FROM seen WHERE id = ANY($1)", &[&all_ids])
        .await
        .map_err(classify)?
        .into_iter()
        .map(|row| row.get(0))
        .collect();

    // Decide per request, in order, which events are new; a request that would overflow the
    // outbox is refused as a whole and takes nothing from the others.
    let mut depth = shared.depth.load(Ordering::SeqCst);
    let mut taken: HashSet<&str> = HashSet::new();
    let mut answers: Vec<Result<Vec<InsertOutcome>, StoreError>> = Vec::with_capacity(batch.len());
    for request in batch {
        let mut local: HashSet<&str> = HashSet::new();
        let outcomes: Vec<InsertOutcome> = request
            .events
            .iter()
            .map(|e| {
                let id = e.id.as_str();
                if known.contains(id) || taken.contains(id) || !local.insert(id) {
                    InsertOutcome::Duplicate
                } else {
                    InsertOutcome::Accepted
                }
            })
            .collect();
        let accepted = local.len() as u64;
        if accepted > 0 && depth.saturating_add(accepted) > shared.outbox_max {
            answers.push(Err(StoreError::OutboxFull { depth }));
            continue;
        }
        depth += accepted;
        taken.extend(local);
        answers.push(Ok(outcomes));
    }
    if taken.is_empty() {
        tx.commit().await.map_err(classify)?;
        return Ok(answers);
    }

    let now = now_ms();
    let mut new_ids: Vec<&str> = taken.iter().copied().collect();
    new_ids.sort_unstable();
    // Another replica may have committed some of these ids since the look above: the insert
    // waits for it and skips them; RETURNING says which are really ours.
    let inserted: HashSet<String> = tx
        .query(
            "INSERT INTO seen (id, first_seen)
             SELECT id, $2 FROM unnest($1::text[]) AS t(id) ORDER BY id
             ON CONFLICT DO NOTHING RETURNING id",
            &[&new_ids, &now],
        )
        .await
        .map_err(classify)?
        .into_iter()
        .map(|row| row.get(0))
        .collect();

    let mut ids = Vec::new();
    let mut types = Vec::new();
    let mut keys = Vec::new();
    let mut times = Vec::new();
    let mut bodies: Vec<&[u8]> = Vec::new();
    for (request, answer) in batch.iter().zip(answers.iter_mut()) {
        let Ok(outcomes) = answer else { continue };
        for (event, outcome) in request.events.iter().zip(outcomes.iter_mut()) {
            if *outcome != InsertOutcome::Accepted {
                continue;
            }
            if !inserted.contains(&event.id) {
                *outcome = InsertOutcome::Duplicate;
                continue;
            }
            ids.push(event.id.as_str());
            types.push(event.event_type.as_str());
            keys.push(event.routing_key.as_str());
            times.push(event.time.timestamp_millis());
            bodies.push(event.body.as_slice());
        }
    }
    if !ids.is_empty() {
        tx.execute(
            "INSERT INTO outbox (id, event_type, routing_key, time_ms, body, next_attempt_at_ms)
             SELECT id, event_type, routing_key, time_ms, body, $6
             FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bytea[])
                  AS t(id, event_type, routing_key, time_ms, body)",
            &[&ids, &types, &keys, &times, &bodies, &now],
        )
        .await
        .map_err(classify)?;
    }
    tx.commit().await.map_err(classify)?;
    shared.depth.fetch_add(ids.len() as u64, Ordering::SeqCst);
    metrics::counter!("ado_ingest_store_commits_total").increment(1);
    shared.commits.fetch_add(1, Ordering::SeqCst);
    Ok(answers)
}
