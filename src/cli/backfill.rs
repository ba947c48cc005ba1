//! `ado-ingest backfill`: starts a manual backfill and follows it to its end with a progress
//! display — against a running server (`--server URL`, through the admin API) or in-process (the
//! configured store, a publisher like `serve`'s, the organization's reconciler; the outbox is
//! drained before exiting). Ctrl-C cancels the job; a second Ctrl-C stops waiting.

mod local;
mod progress;
mod remote;

use std::time::{Duration, Instant};

use anyhow::Context;
use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, ConfigError};
use crate::jobs::{BackfillRequest, JobState, JobView};

pub use progress::{ProgressDisplay, counters};
pub use remote::Remote;

/// Options of `ado-ingest backfill`.
#[derive(Debug, Clone, clap::Args)]
pub struct BackfillArgs {
    /// Organization: its configured name or URL.
    #[arg(long = "org")]
    pub org: String,
    /// Start of the window (RFC 3339, e.g. 2025-05-01T00:00:00Z).
    #[arg(long)]
    pub since: String,
    /// End of the window (RFC 3339; default: now).
    #[arg(long)]
    pub until: Option<String>,
    /// Project name or id (repeatable; default: the organization's configured projects).
    #[arg(long = "project")]
    pub projects: Vec<String>,
    /// Stream: git, pullrequests, builds, workitems, tfvc (repeatable; default: configured ones).
    #[arg(long = "stream")]
    pub streams: Vec<String>,
    /// Ask the `ado-ingest serve` at this URL (e.g. http://127.0.0.1:8080) to run the backfill.
    #[arg(long)]
    pub server: Option<String>,
    /// Admin token for `--server` (default: `admin_token` of the configuration).
    #[arg(long, env = "ADO_INGEST_ADMIN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

impl BackfillArgs {
    pub fn request(&self) -> BackfillRequest {
        BackfillRequest {
            organization: self.org.clone(),
            projects: self.projects.clone(),
            streams: self.streams.clone(),
            since: self.since.clone(),
            until: self.until.clone(),
        }
    }
}

/// The exit code for how the job ended: 0 succeeded, 130 cancelled, 1 otherwise.
pub fn exit_code(state: JobState) -> u8 {
    match state {
        JobState::Succeeded => 0,
        JobState::Cancelled => 130,
        _ => 1,
    }
}

/// Runs the command; returns the job as it ended (or as it was when waiting was given up).
pub async fn run(
    args: BackfillArgs,
    config: Result<Config, ConfigError>,
) -> anyhow::Result<JobView> {
    init_logging();
    let (interrupt, abort) = (CancellationToken::new(), CancellationToken::new());
    tokio::spawn(count_interrupts(interrupt.clone(), abort.clone()));
    let mut display = ProgressDisplay::for_stderr();
    match &args.server {
        Some(server) => {
            let token = match (&args.token, &config) {
                (Some(t), _) if !t.is_empty() => t.clone(),
                (_, Ok(c)) if !c.admin_token.is_empty() => c.admin_token.expose().to_string(),
                _ => anyhow::bail!(
                    "--server needs the admin token: pass --token or set ADO_INGEST_ADMIN_TOKEN"
                ),
            };
            let remote = Remote::new(server, &token)?;
            let job = remote.create(&args.request()).await?;
            display.note(&format!(
                "backfill {} {} on {server} (GET /admin/backfills/{})",
                job.job.id, job.job.state, job.job.id
            ));
            let source = remote.job(job.job.id.clone());
            follow(
                &source,
                &mut display,
                &interrupt,
                &abort,
                Duration::from_millis(500),
            )
            .await
        }
        None => local::in_process(&args, config?, &mut display, &interrupt, &abort).await,
    }
}

/// Where the command reads its job and sends its cancel.
#[async_trait]
pub trait JobSource: Send + Sync {
    async fn fetch(&self) -> anyhow::Result<JobView>;
    async fn cancel(&self) -> anyhow::Result<JobView>;
}

/// Consecutive read failures tolerated (a server restarting keeps its jobs).
const UNREACHABLE_FOR: Duration = Duration::from_secs(300);

/// Polls the job until it is final, showing it; the first interrupt cancels it, the second stops
/// waiting.
pub async fn follow(
    source: &dyn JobSource,
    display: &mut ProgressDisplay,
    interrupt: &CancellationToken,
    abort: &CancellationToken,
    poll: Duration,
) -> anyhow::Result<JobView> {
    let mut cancel_sent = false;
    let mut last_ok = Instant::now();
    let mut last = None;
    loop {
        tokio::select! {
            _ = interrupt.cancelled(), if !cancel_sent => {
                cancel_sent = true;
                display.note("interrupted: cancelling the backfill (Ctrl-C again to stop waiting)");
                if let Err(e) = source.cancel().await {
                    display.note(&format!("cannot cancel the backfill: {e:#}"));
                }
            }
            _ = abort.cancelled() => {
                return last.context("interrupted before the job could be read");
            }
            _ = tokio::time::sleep(poll) => {}
        }
        match source.fetch().await {
            Ok(job) => {
                last_ok = Instant::now();
                if job.job.state.is_final() {
                    display.finish(&job);
                    return Ok(job);
                }
                display.update(&job);
                last = Some(job);
            }
            Err(e) if last_ok.elapsed() < UNREACHABLE_FOR => {
                display.note(&format!("cannot read the backfill job ({e:#}); retrying"));
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => return Err(e.context("gave up reading the backfill job")),
        }
    }
}

/// First Ctrl-C (or SIGTERM) → `interrupt`, the second → `abort`.
async fn count_interrupts(interrupt: CancellationToken, abort: CancellationToken) {
    for token in [interrupt, abort] {
        if wait_signal().await.is_err() {
            return;
        }
        token.cancel();
    }
}

async fn wait_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}

/// Warnings only unless `RUST_LOG` says otherwise: the progress display is the output.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,lapin=error"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
