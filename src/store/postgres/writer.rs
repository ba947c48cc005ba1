//! Group commit for hooks on PostgreSQL: every insert request queued while the previous statement
//! was committing goes into ONE statement (one transaction), so N concurrent hooks cost about one commit (one WAL
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

/// The whole batch in ONE statement (one implicit transaction, one round trip): ids new to `seen`
/// are taken in sorted order (two replicas' batches sharing ids cannot deadlock), only those get
/// an outbox row — held by this replica, in arrival order — and the tally grows by as many.
/// Another replica committing one of these ids first makes the insert wait for it and skip it;
/// RETURNING says which are really ours.
const INSERT_BATCH: &str = "
    WITH input AS (
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bytea[])
            WITH ORDINALITY AS t(id, event_type, routing_key, time_ms, body, arrival)
    ),
    new_seen AS (
        INSERT INTO seen (id, first_seen)
        SELECT id, $6 FROM input ORDER BY id
        ON CONFLICT DO NOTHING
        RETURNING id
    ),
    queued AS (
        INSERT INTO outbox (id, event_type, routing_key, time_ms, body, next_attempt_at_ms, claimed_by)
        SELECT i.id, i.event_type, i.routing_key, i.time_ms, i.body, $6, $8
        FROM input i JOIN new_seen USING (id)
        ORDER BY i.arrival
        RETURNING id
    ),
    tallied AS (
        INSERT INTO outbox_tally (key, n)
        SELECT $7, COUNT(*) FROM queued HAVING COUNT(*) > 0
        ON CONFLICT (key) DO UPDATE SET n = outbox_tally.n + EXCLUDED.n
    )
    SELECT id FROM queued";

/// Decides per request which events are candidates, runs [`INSERT_BATCH`] and answers per request.
#[allow(clippy::type_complexity)]
async fn try_commit(
    pool: &Pool,
    batch: &[InsertRequest],
    shared: &Shared,
) -> Result<Vec<Result<Vec<InsertOutcome>, StoreError>>, Attempt> {
    let client = pool.get().await.map_err(|e| {
        Attempt::Fail(StoreError::Unavailable(format!(
            "no database connection: {e}"
        )))
    })?;
    let events: usize = batch.iter().map(|r| r.events.len()).sum();
    let mut depth = shared.depth.load(Ordering::SeqCst);
    // Near the bound only: which ids are known already, so that duplicates are not counted
    // against it (the common case skips this round trip).
    let known: HashSet<String> = if depth.saturating_add(events as u64) > shared.outbox_max {
        let all_ids: Vec<&str> = batch
            .iter()
            .flat_map(|r| r.events.iter().map(|e| e.id.as_str()))
            .collect();
        client
            .query("SELECT id FROM seen WHERE id = ANY($1)", &[&all_ids])
            .await
            .map_err(classify)?
            .into_iter()
            .map(|row| row.get(0))
            .collect()
    } else {
        HashSet::new()
    };

    // Per request, in order: which events are candidates; a request that would overflow the
    // outbox is refused as a whole and takes nothing from the others.
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
        return Ok(answers);
    }

    let mut ids = Vec::with_capacity(taken.len());
    let mut types = Vec::with_capacity(taken.len());
    let mut keys = Vec::with_capacity(taken.len());
    let mut times = Vec::with_capacity(taken.len());
    let mut bodies: Vec<&[u8]> = Vec::with_capacity(taken.len());
    for (request, answer) in batch.iter().zip(answers.iter()) {
        let Ok(outcomes) = answer else { continue };
        for (event, outcome) in request.events.iter().zip(outcomes.iter()) {
            if *outcome == InsertOutcome::Accepted {
                ids.push(event.id.as_str());
                types.push(event.event_type.as_str());
                keys.push(event.routing_key.as_str());
                times.push(event.time.timestamp_millis());
                bodies.push(event.body.as_slice());
            }
        }
    }
    let statement = client
        .prepare_cached(INSERT_BATCH)
        .await
        .map_err(classify)?;
    let inserted: HashSet<String> = client
        .query(
            &statement,
            &[
                &ids,
                &types,
                &keys,
                &times,
                &bodies,
                &now_ms(),
                &shared.tally_added,
                &shared.replica,
            ],
        )
        .await
        .map_err(classify)?
        .into_iter()
        .map(|row| row.get(0))
        .collect();
    for (request, answer) in batch.iter().zip(answers.iter_mut()) {
        let Ok(outcomes) = answer else { continue };
        for (event, outcome) in request.events.iter().zip(outcomes.iter_mut()) {
            if *outcome == InsertOutcome::Accepted && !inserted.contains(&event.id) {
                *outcome = InsertOutcome::Duplicate;
            }
        }
    }
    shared
        .depth
        .fetch_add(inserted.len() as u64, Ordering::SeqCst);
    metrics::counter!("ado_ingest_store_commits_total").increment(1);
    shared.commits.fetch_add(1, Ordering::SeqCst);
    Ok(answers)
}
