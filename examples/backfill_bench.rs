//! Backfill benchmark (a command, not a test): a simulated organization with ≥ 100,000 work-item
//! revisions, ≥ 10,000 pushes, ≥ 1,000 classic release deployments (with the YAML runs and
//! approvals the same builds activity makes) and ≥ 5,000 pull-request changes (generated in a child process, so the numbers below are the
//! reconciler's own), then a manual backfill of each stream into a fresh SQLite store, printing
//! objects/s, REST calls per 1,000 objects (and per route) and the peak RSS.
//!
//! `cargo run --release --example backfill_bench -- [--revisions 100000] [--pushes 10000]
//! [--deployments 1000] [--pr-changes 5000] [--page-size 1000] [--concurrency 8]`
//!
//! Targets: ≤ 5 REST calls per 1,000 work-item revisions, ≥ 10,000 revisions/s.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ado_ingest::config::{OrganizationConfig, ReconcileConfig, Stream};
use ado_ingest::reconcile::{BackfillSpec, JobProgress, Reconciler};
use ado_ingest::store::{Store, sqlite::SqliteStore};
use ado_sim::{self as sim, ActivityMix, ActivitySpec, SimConfig};
use anyhow::{Context, bail};
use chrono::{TimeZone, Utc};
use clap::Parser;
use tokio_util::sync::CancellationToken;

/// The allocator `ado-ingest` itself runs with (src/main.rs), so the numbers are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TARGET_CALLS_PER_1000: f64 = 5.0;
const TARGET_REVISIONS_PER_SECOND: f64 = 10_000.0;

#[derive(Parser, Clone)]
#[command(about = "ado-ingest backfill benchmark against the simulator")]
struct Args {
    /// Work-item revisions to generate (at least).
    #[arg(long, default_value_t = 100_000)]
    revisions: usize,
    /// Git pushes to generate (at least).
    #[arg(long, default_value_t = 10_000)]
    pushes: usize,
    /// Pull-request changes to generate (at least): creations, updates, merge attempts, comments.
    #[arg(long, default_value_t = 5000)]
    pr_changes: usize,
    /// Classic release deployments to generate (at least), by builds activity.
    #[arg(long, default_value_t = 1000)]
    deployments: usize,
    /// `reconcile.page_size` (`$top` / `$maxPageSize`).
    #[arg(long, default_value_t = 1000)]
    page_size: u32,
    /// The organization's `max_concurrency`.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Internal: run as the simulator process.
    #[arg(long, hide = true)]
    sim_child: bool,
}

/// What the simulator process generated.
struct Generated {
    base_url: String,
    pat: String,
    revisions: usize,
    pushes: usize,
    deployments: usize,
    approvals: usize,
    pr_changes: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if args.sim_child {
        return rt.block_on(sim_child(args));
    }
    rt.block_on(parent(args))
}

/// The simulator: generates the activity, prints `READY …`, serves until stdin closes.
async fn sim_child(args: Args) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let sim = sim::start(
        SimConfig {
            seed: args.seed,
            ..SimConfig::default()
        },
        listener,
    )
    .await?;
    let wit = ActivityMix::only("work_items").context("mix")?;
    let git = ActivityMix::only("git").context("mix")?;
    let revisions = loop {
        let n = revision_count(&sim);
        if n >= args.revisions {
            break n;
        }
        let actions = ((args.revisions - n) * 5 / 4).clamp(1000, 50_000);
        sim.generate(&ActivitySpec {
            actions,
            mix: wit,
            org: None,
        })?;
    };
    let pushes = loop {
        let n = sim
            .truth_summary()
            .get("git.push")
            .map_or(0, |s| s.changes as usize);
        if n >= args.pushes {
            break n;
        }
        let actions = ((args.pushes - n) * 11 / 10).max(100);
        sim.generate(&ActivitySpec {
            actions,
            mix: git,
            org: None,
        })?;
    };
    let builds = ActivityMix::only("builds").context("mix")?;
    let changes = |ty: &str| {
        sim.truth_summary()
            .get(ty)
            .map_or(0, |s| s.changes as usize)
    };
    let deployments = loop {
        let n = changes("release.deployment.completed");
        if n >= args.deployments {
            break n;
        }
        sim.generate(&ActivitySpec {
            actions: ((args.deployments - n) * 12).max(500),
            mix: builds,
            org: None,
        })?;
    };
    let approvals = changes("pipeline.approval.pending");
    let prs = ActivityMix::only("prs").context("mix")?;
    let pr_total = |c: &dyn Fn(&str) -> usize| {
        [
            "git.pullrequest.created",
            "git.pullrequest.updated",
            "git.pullrequest.merge_attempted",
            "git.pullrequest.commented",
        ]
        .iter()
        .map(|t| c(t))
        .sum::<usize>()
    };
    let pr_changes = loop {
        let n = pr_total(&changes);
        if n >= args.pr_changes {
            break n;
        }
        sim.generate(&ActivitySpec {
            actions: (args.pr_changes - n).max(200),
            mix: prs,
            org: None,
        })?;
    };
    // What the PR changes are made of (merge attempts but the latest per PR are hook-only).
    eprintln!(
        "pull-request changes by type: created {}, updated {}, merge attempts {}, comments {}",
        changes("git.pullrequest.created"),
        changes("git.pullrequest.updated"),
        changes("git.pullrequest.merge_attempted"),
        changes("git.pullrequest.commented")
    );
    let org = sim.orgs().into_iter().next().context("no org")?;
    println!(
        "READY {} {} {revisions} {pushes} {deployments} {approvals} {pr_changes}",
        org.base_url,
        sim.pat()
    );
    // Serve until the parent closes our stdin.
    tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        while std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {}
    })
    .await?;
    sim.shutdown().await;
    Ok(())
}

/// Revisions = created + field updates (link-only updates make no revision).
fn revision_count(sim: &sim::Simulator) -> usize {
    sim.truth()
        .iter()
        .filter(|t| match t.normalized_type {
            "workitem.created" => true,
            "workitem.updated" => !t.identity.contains_key("updateId"),
            _ => false,
        })
        .count()
}

async fn parent(args: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
        .args(std::env::args().skip(1))
        .arg("--sim-child")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot start the simulator process")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    })
    .await??;
    let generated = parse_ready(&line)?;
    eprintln!(
        "simulator ready in {:.1} s: {} revisions, {} pushes, {} deployments, {} approvals, {} PR changes",
        started.elapsed().as_secs_f64(),
        generated.revisions,
        generated.pushes,
        generated.deployments,
        generated.approvals,
        generated.pr_changes
    );

    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bench.sqlite");
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(path.to_str().context("path")?, 10_000_000).await?);
    let mut org = OrganizationConfig::with_pat(
        generated.base_url.trim_end_matches('/'),
        generated.pat.clone(),
    );
    org.max_concurrency = args.concurrency;
    let config = ReconcileConfig {
        page_size: args.page_size,
        ..ReconcileConfig::default()
    };
    let reconciler = Reconciler::new(org, store, config, true)?;
    reconciler.client().connect().await?;

    let wit = backfill(&reconciler, Stream::WorkItems).await?;
    let git = backfill(&reconciler, Stream::Git).await?;
    let releases = backfill(&reconciler, Stream::Releases).await?;
    let approvals = backfill(&reconciler, Stream::Approvals).await?;
    let pulls = backfill(&reconciler, Stream::PullRequests).await?;
    let peak_rss = peak_rss()?;
    drop(child.stdin.take());
    let _ = child.wait();

    println!();
    println!(
        "ado-ingest backfill benchmark (simulator in a separate process; page size {}, concurrency {})",
        args.page_size, args.concurrency
    );
    println!(
        "{:<11} {:>9} {:>9} {:>8} {:>11} {:>10} {:>14}",
        "stream", "objects", "events", "seconds", "objects/s", "REST calls", "calls/1000 obj"
    );
    for (name, objects, run) in [
        ("workitems", generated.revisions, &wit),
        ("git pushes", generated.pushes, &git),
        ("releases", generated.deployments, &releases),
        ("approvals", generated.approvals, &approvals),
        ("PR changes", generated.pr_changes, &pulls),
    ] {
        let secs = run.elapsed.as_secs_f64();
        println!(
            "{:<11} {:>9} {:>9} {:>8.2} {:>11.0} {:>10} {:>14.2}",
            name,
            objects,
            run.events,
            secs,
            objects as f64 / secs,
            run.calls,
            run.calls as f64 * 1000.0 / objects as f64
        );
    }
    println!("REST calls by route (work items):");
    for (route, n) in &wit.routes {
        println!("  {n:>8}  {route}");
    }
    for (name, run) in [
        ("git", &git),
        ("releases", &releases),
        ("approvals", &approvals),
        ("pull requests", &pulls),
    ] {
        println!("REST calls by route ({name}):");
        for (route, n) in &run.routes {
            println!("  {n:>8}  {route}");
        }
    }
    let paging = wit
        .routes
        .get("wit/reporting/workitemrevisions")
        .copied()
        .unwrap_or(0);
    let per_1000 = wit.calls as f64 * 1000.0 / generated.revisions as f64;
    let rate = generated.revisions as f64 / wit.elapsed.as_secs_f64();
    println!(
        "peak RSS of the reconciler process: {:.1} MB",
        peak_rss as f64 / 1_048_576.0
    );
    println!(
        "target ≤ {TARGET_CALLS_PER_1000} REST calls / 1,000 revisions: {per_1000:.2} for the whole work-item stream, {:.2} for the revisions report alone -> {}",
        paging as f64 * 1000.0 / generated.revisions as f64,
        verdict(per_1000 <= TARGET_CALLS_PER_1000)
    );
    println!(
        "target ≥ {TARGET_REVISIONS_PER_SECOND} revisions/s: {rate:.0} -> {}",
        verdict(rate >= TARGET_REVISIONS_PER_SECOND)
    );
    Ok(())
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

struct RunStats {
    elapsed: Duration,
    events: u64,
    calls: u64,
    routes: BTreeMap<String, u64>,
}

async fn backfill(r: &Reconciler, stream: Stream) -> anyhow::Result<RunStats> {
    let spec = BackfillSpec {
        organization: r.name(),
        projects: Vec::new(),
        streams: vec![stream],
        since: Utc
            .with_ymd_and_hms(2000, 1, 1, 0, 0, 0)
            .single()
            .context("date")?,
        until: None,
    };
    let calls_before = r.client().counters().calls;
    let routes_before = r.status().rest_calls_by_route;
    let started = Instant::now();
    let job: JobProgress = r
        .backfill(&spec, |_| {}, JobProgress::new(), CancellationToken::new())
        .await?;
    let elapsed = started.elapsed();
    let p = job.get(&stream).context("no progress")?;
    if !p.done {
        bail!("{stream} backfill failed: {:?}", p.last_error);
    }
    let routes = r
        .status()
        .rest_calls_by_route
        .into_iter()
        .map(|(k, v)| {
            let before = routes_before.get(&k).copied().unwrap_or(0);
            (k, v - before)
        })
        .filter(|(_, v)| *v > 0)
        .collect();
    Ok(RunStats {
        elapsed,
        events: p.events_published,
        calls: r.client().counters().calls - calls_before,
        routes,
    })
}

fn parse_ready(line: &str) -> anyhow::Result<Generated> {
    let parts: Vec<&str> = line.split_whitespace().collect();
    match parts.as_slice() {
        [
            "READY",
            url,
            pat,
            revisions,
            pushes,
            deployments,
            approvals,
            pr_changes,
        ] => Ok(Generated {
            base_url: url.to_string(),
            pat: pat.to_string(),
            revisions: revisions.parse()?,
            pushes: pushes.parse()?,
            deployments: deployments.parse()?,
            approvals: approvals.parse()?,
            pr_changes: pr_changes.parse()?,
        }),
        _ => bail!("the simulator process said {line:?}"),
    }
}

/// `VmHWM` (peak resident set) of this process, in bytes.
fn peak_rss() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .context("no VmHWM in /proc/self/status")?;
    Ok(kb * 1024)
}
