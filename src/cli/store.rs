//! `ado-ingest store migrate`: moves a single-node SQLite store onto the PostgreSQL database
//! several replicas share, with a progress bar; safe to run again.

use std::path::PathBuf;

use anyhow::bail;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::reconcile::OWNERS_NAMESPACE;
use crate::store::is_postgres_url;
use crate::store::migrate::{MigrationReport, Phase, sqlite_to_postgres};

#[derive(clap::Args, Debug)]
pub struct StoreArgs {
    #[command(subcommand)]
    pub command: StoreCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum StoreCommand {
    /// Copy an SQLite store (seen ids, undelivered outbox, watermarks, cursors, backfill jobs) into
    /// a PostgreSQL database. Stop `serve` on the SQLite file first; running it twice copies nothing
    /// twice, and state the replicas have moved on since is kept.
    Migrate(MigrateArgs),
}

#[derive(clap::Args, Debug)]
pub struct MigrateArgs {
    /// The SQLite store file (or sqlite://path).
    #[arg(long)]
    pub from: String,
    /// The PostgreSQL database, postgres://user@host/db.
    #[arg(long)]
    pub to: String,
    /// No progress bars (plain summary only), also when stderr is a terminal.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs the migration and returns what it copied.
pub async fn migrate(args: MigrateArgs) -> anyhow::Result<MigrationReport> {
    if !is_postgres_url(&args.to) {
        bail!("--to must be a postgres:// URL, not {:?}", args.to);
    }
    let from = PathBuf::from(args.from.strip_prefix("sqlite://").unwrap_or(&args.from));
    let bars = MultiProgress::with_draw_target(if args.quiet {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    });
    let style = ProgressStyle::with_template("{prefix:>30} {bar:40} {pos}/{len} {per_sec}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    let phases = [Phase::Outbox, Phase::Seen, Phase::State];
    let progress: Vec<ProgressBar> = phases
        .iter()
        .map(|phase| {
            let bar = bars.add(ProgressBar::new(0));
            bar.set_style(style.clone());
            bar.set_prefix(phase.label());
            bar
        })
        .collect();
    let bar = |phase: Phase| &progress[phases.iter().position(|p| *p == phase).unwrap_or(0)];
    let report = sqlite_to_postgres(
        &from,
        &args.to,
        &[OWNERS_NAMESPACE],
        |counts| {
            bar(Phase::Outbox).set_length(counts.outbox);
            bar(Phase::Seen).set_length(counts.seen);
            bar(Phase::State).set_length(counts.state);
        },
        |phase, n| bar(phase).inc(n),
    )
    .await?;
    for bar in &progress {
        bar.finish();
    }
    Ok(report)
}

/// The summary printed after a migration.
pub fn summary(report: &MigrationReport) -> String {
    format!(
        "undelivered events: {} copied, {} already there\n\
         seen ids:           {} copied, {} already there\n\
         state entries:      {} copied, {} kept (newer in PostgreSQL)\n",
        report.outbox_copied,
        report.outbox_present,
        report.seen_copied,
        report.seen_present,
        report.state_copied,
        report.state_kept,
    )
}
