//! A periodic pass (the web-hook subscriptions to this service re-enabled when Azure DevOps switched
//! them off, every stream from its watermark, then the failed-delivery replay) and a
//! backfill (every requested stream over a window, resumable from a job's cursors), with the
//! bookkeeping both need: per-stream errors that do not stop the other streams, and the status.

use chrono::{DateTime, Utc};
use futures::future::join_all;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::ctx::Ctx;
use super::spec::{BackfillSpec, JobProgress, StreamProgress};
use super::walk::{Mode, WATERMARK_NAMESPACE, Walk};
use super::{Inner, REPLAY, ReconcileError, replay, streams, subscriptions};
use crate::config::Stream;

/// Longest watermark text the status shows whole.
const WATERMARK_DISPLAY: usize = 300;

async fn load_ctx(inner: &Inner, projects: &[String]) -> Result<Ctx, ReconcileError> {
    Ctx::load(inner, projects).await
}

fn unique(streams: &[Stream]) -> Vec<Stream> {
    let mut out: Vec<Stream> = Vec::new();
    for s in streams {
        if !out.contains(s) {
            out.push(*s);
        }
    }
    out
}

/// One periodic pass over every stream of the organization, in a `reconcile_pass` span.
pub(super) async fn periodic(inner: &Inner) -> Result<JobProgress, ReconcileError> {
    let span = tracing::info_span!("reconcile_pass", org = %inner.org.name(), mode = "periodic");
    periodic_pass(inner).instrument(span).await
}

async fn periodic_pass(inner: &Inner) -> Result<JobProgress, ReconcileError> {
    let started = Utc::now();
    inner.status.update(|s| {
        s.running = true;
        s.last_pass_started = Some(started);
    });
    let ctx = match load_ctx(inner, &inner.org.projects).await {
        Ok(c) => c,
        Err(e) => {
            inner.status.update(|s| {
                s.running = false;
                s.last_pass_finished = Some(Utc::now());
                s.last_error = Some(e.to_string());
            });
            return Err(e);
        }
    };
    if !inner.config.hook_url.is_empty() {
        let repaired =
            subscriptions::repair(&ctx, &inner.config.hook_url, &inner.config.hook_credentials)
                .await;
        inner.status.update(|s| {
            let st = s.subscriptions.get_or_insert_with(Default::default);
            match repaired {
                Ok(r) => {
                    st.ours = r.ours;
                    st.reenabled_total += r.reenabled.len() as u64;
                    st.unrepairable = r
                        .unrepairable
                        .iter()
                        .map(|(id, why)| format!("{id}: {why}"))
                        .collect();
                    st.last_error = None;
                }
                Err(e) => st.last_error = Some(e.to_string()),
            }
        });
    }
    let never = CancellationToken::new();
    let walks = unique(&inner.org.streams).into_iter().map(|stream| {
        let (ctx, never) = (&ctx, &never);
        async move {
            let mut p = StreamProgress::default();
            let mut on_page = |_: &StreamProgress| {};
            let result = {
                let mut w = Walk {
                    ctx,
                    stream: stream.as_str(),
                    mode: Mode::Periodic,
                    progress: &mut p,
                    on_page: &mut on_page,
                    cancel: never,
                };
                streams::walk(stream, &mut w, &inner.wi_cache)
                    .instrument(tracing::info_span!("walk", stream = stream.as_str()))
                    .await
            };
            let failed = finish(inner, ctx, stream.as_str(), &mut p, result, started).await;
            (stream, p, failed)
        }
    });
    let replayed = async {
        let mut p = StreamProgress::default();
        let mut on_page = |_: &StreamProgress| {};
        let result = {
            let mut w = Walk {
                ctx: &ctx,
                stream: REPLAY,
                mode: Mode::Periodic,
                progress: &mut p,
                on_page: &mut on_page,
                cancel: &never,
            };
            replay::walk(&mut w)
                .instrument(tracing::info_span!("walk", stream = REPLAY))
                .await
        };
        finish(inner, &ctx, REPLAY, &mut p, result, started).await
    };
    let (results, replay_failed) = tokio::join!(join_all(walks), replayed);
    let mut job = JobProgress::new();
    let mut store_failure = replay_failed;
    for (stream, p, failed) in results {
        store_failure = store_failure.or(failed);
        job.insert(stream, p);
    }
    inner.status.update(|s| {
        s.running = false;
        s.last_pass_finished = Some(Utc::now());
        s.last_error = store_failure.as_ref().map(|e| e.to_string());
    });
    match store_failure {
        Some(e) => Err(e),
        None => Ok(job),
    }
}

/// Records a stream's outcome (progress, status, log). Returns a store failure, which fails the
/// pass: nothing can be made durable without the store.
async fn finish(
    inner: &Inner,
    ctx: &Ctx,
    name: &'static str,
    p: &mut StreamProgress,
    result: Result<(), ReconcileError>,
    started: DateTime<Utc>,
) -> Option<ReconcileError> {
    let mut store_failure = None;
    match result {
        Ok(()) => p.done = true,
        Err(e) => {
            tracing::warn!(org = %ctx.org, stream = name, error = %e, "reconcile stream failed");
            p.errors += 1;
            p.last_error = Some(e.to_string());
            if let ReconcileError::Store(_) = e {
                store_failure = Some(e);
            }
        }
    }
    let key = format!("{}/{name}", ctx.org);
    let watermark = ctx
        .store
        .get_state(WATERMARK_NAMESPACE, &key)
        .await
        .ok()
        .flatten()
        .map(|w| shorten(&w));
    metrics::gauge!("ado_ingest_reconcile_last_run_timestamp_seconds",
        "org" => ctx.org.clone(), "stream" => name)
    .set(started.timestamp() as f64);
    let ok = p.done;
    let snapshot = p.clone();
    inner.status.update(|s| {
        let st = s.streams.entry(name.to_string()).or_default();
        st.watermark = watermark;
        st.last_run = Some(started);
        if ok {
            st.last_success = Some(started);
        }
        st.last_error = snapshot.last_error.clone();
        st.gaps = snapshot.gaps.clone();
        let t = &mut st.totals;
        t.pages += snapshot.pages;
        t.objects_seen += snapshot.objects_seen;
        t.events_published += snapshot.events_published;
        t.duplicates_skipped += snapshot.duplicates_skipped;
        t.errors += snapshot.errors;
        t.last_error = snapshot.last_error;
        t.done = ok;
    });
    store_failure
}

fn shorten(text: &str) -> String {
    if text.len() <= WATERMARK_DISPLAY {
        return text.to_string();
    }
    let mut end = WATERMARK_DISPLAY;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

pub(super) async fn backfill<P>(
    inner: &Inner,
    spec: &BackfillSpec,
    mut progress: P,
    resume: JobProgress,
    cancel: CancellationToken,
) -> Result<JobProgress, ReconcileError>
where
    P: FnMut(&JobProgress) + Send,
{
    let until = spec.until.unwrap_or_else(Utc::now);
    if spec.since >= until {
        return Err(ReconcileError::InvalidSpec(format!(
            "since ({}) must be before until ({until})",
            spec.since
        )));
    }
    let streams = if spec.streams.is_empty() {
        unique(&inner.org.streams)
    } else {
        unique(&spec.streams)
    };
    let projects = if spec.projects.is_empty() {
        &inner.org.projects
    } else {
        &spec.projects
    };
    let ctx = load_ctx(inner, projects).await?;
    let mode = Mode::Window {
        since: spec.since,
        until,
    };
    let mut job = resume;
    for stream in streams {
        if job.get(&stream).is_some_and(|p| p.done) {
            continue;
        }
        if cancel.is_cancelled() {
            break;
        }
        let mut p = job.get(&stream).cloned().unwrap_or_default();
        let result = {
            let (job_ref, progress_ref) = (&mut job, &mut progress);
            let mut on_page = |sp: &StreamProgress| {
                job_ref.insert(stream, sp.clone());
                progress_ref(job_ref);
            };
            let mut w = Walk {
                ctx: &ctx,
                stream: stream.as_str(),
                mode,
                progress: &mut p,
                on_page: &mut on_page,
                cancel: &cancel,
            };
            streams::walk(stream, &mut w, &inner.wi_cache)
                .instrument(tracing::info_span!("walk", stream = stream.as_str()))
                .await
        };
        match result {
            Ok(()) => p.done = true,
            Err(ReconcileError::Cancelled) => {}
            Err(e @ ReconcileError::Store(_)) => {
                p.errors += 1;
                p.last_error = Some(e.to_string());
                job.insert(stream, p);
                progress(&job);
                return Err(e);
            }
            Err(e) => {
                tracing::warn!(org = %ctx.org, %stream, error = %e, "backfill stream failed");
                p.errors += 1;
                p.last_error = Some(e.to_string());
            }
        }
        job.insert(stream, p);
        progress(&job);
    }
    Ok(job)
}

/// Only the failed-delivery replay, from its stored position.
pub(super) async fn replay_only(inner: &Inner) -> Result<StreamProgress, ReconcileError> {
    let started = Utc::now();
    let ctx = load_ctx(inner, &inner.org.projects).await?;
    let never = CancellationToken::new();
    let mut p = StreamProgress::default();
    let mut on_page = |_: &StreamProgress| {};
    let result = {
        let mut w = Walk {
            ctx: &ctx,
            stream: REPLAY,
            mode: Mode::Periodic,
            progress: &mut p,
            on_page: &mut on_page,
            cancel: &never,
        };
        replay::walk(&mut w)
            .instrument(tracing::info_span!("walk", stream = REPLAY))
            .await
    };
    match finish(inner, &ctx, REPLAY, &mut p, result, started).await {
        Some(e) => Err(e),
        None => Ok(p),
    }
}
