//! HTTP load: closed loop (N requests, fixed concurrency, keep-alive) and open loop (one request per
//! scheduled tick, latency from the scheduled send time so a slow server cannot slow the schedule
//! and hide its own latency).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;
use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};

/// Where and how to post: request `i` goes to `urls[i % len]` (replicas behind a round-robin
/// load balancer).
#[derive(Clone)]
pub struct Target {
    pub client: reqwest::Client,
    pub urls: Vec<String>,
    pub auth: Option<HeaderValue>,
    /// Every request must get this status.
    pub expect: StatusCode,
}

impl Target {
    /// Posts one body; the response body is read so the connection goes back to the pool.
    async fn post(&self, i: usize, body: Bytes) -> Result<(), String> {
        let mut request = self
            .client
            .post(&self.urls[i % self.urls.len()])
            .header(CONTENT_TYPE, "application/json; charset=utf-8")
            .body(body);
        if let Some(auth) = &self.auth {
            request = request.header(AUTHORIZATION, auth.clone());
        }
        let response = request.send().await.map_err(|e| format!("{e:#}"))?;
        let status = response.status();
        let text = response.bytes().await.map_err(|e| format!("{e:#}"))?;
        if status != self.expect {
            return Err(format!("{status}: {}", String::from_utf8_lossy(&text)));
        }
        Ok(())
    }
}

/// Timings of one run.
pub struct Run {
    pub started: Instant,
    /// Time from the first send to the last response.
    pub elapsed: Duration,
    /// Per-request latency, sorted.
    pub latencies: Vec<Duration>,
}

impl Run {
    pub fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// The `q`-quantile (0..=1) by nearest rank.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = (q * self.latencies.len() as f64).ceil() as usize;
        self.latencies[rank.clamp(1, self.latencies.len()) - 1]
    }
}

/// Fails the run with a count and a few examples when any request did not get `expect`.
fn finish(
    started: Instant,
    ended: Instant,
    mut latencies: Vec<Duration>,
    failures: Vec<String>,
) -> anyhow::Result<Run> {
    if !failures.is_empty() {
        let examples: Vec<&str> = failures.iter().take(3).map(String::as_str).collect();
        bail!(
            "{} of {} requests failed, e.g. {examples:?}",
            failures.len(),
            latencies.len() + failures.len()
        );
    }
    latencies.sort_unstable();
    Ok(Run {
        started,
        elapsed: ended - started,
        latencies,
    })
}

/// Posts every body once with `concurrency` requests in flight.
pub async fn closed_loop(
    target: &Target,
    bodies: Arc<Vec<Bytes>>,
    concurrency: usize,
) -> anyhow::Result<Run> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (target, bodies, next) = (target.clone(), bodies.clone(), next.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut failures = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = bodies.get(i) else { break };
                    let sent = Instant::now();
                    match target.post(i, body.clone()).await {
                        Ok(()) => latencies.push(sent.elapsed()),
                        Err(e) => failures.push(e),
                    }
                }
                (latencies, failures, Instant::now())
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(bodies.len());
    let mut failures = Vec::new();
    let mut ended = started;
    for worker in workers {
        let (l, f, done) = worker.await?;
        latencies.extend(l);
        failures.extend(f);
        ended = ended.max(done);
    }
    finish(started, ended, latencies, failures)
}

/// Posts body `i` at `start + i / rate`, each in its own task.
pub async fn open_loop(target: &Target, bodies: Vec<Bytes>, rate: f64) -> anyhow::Result<Run> {
    // A short lead so the first ticks are not already late.
    let started = Instant::now() + Duration::from_millis(20);
    let mut tasks = tokio::task::JoinSet::new();
    for (i, body) in bodies.into_iter().enumerate() {
        let due = started + Duration::from_secs_f64(i as f64 / rate);
        // The timer has millisecond resolution: a tick may fire up to ~1 ms late, and that
        // delay counts as latency (measured from `due`).
        tokio::time::sleep_until(due.into()).await;
        let target = target.clone();
        tasks.spawn(async move {
            let result = target.post(i, body).await;
            (result, due.elapsed(), Instant::now())
        });
    }
    let mut latencies = Vec::with_capacity(tasks.len());
    let mut failures = Vec::new();
    let mut ended = started;
    while let Some(joined) = tasks.join_next().await {
        let (result, latency, done) = joined?;
        match result {
            Ok(()) => latencies.push(latency),
            Err(e) => failures.push(e),
        }
        ended = ended.max(done);
    }
    finish(started, ended, latencies, failures)
}
