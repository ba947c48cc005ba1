//! The benchmark (a command, not a test): end-to-end durable hooks/s at fixed concurrency, latency
//! at a fixed rate, peak RSS, and two baselines (bare axum + JSON parse, bare confirmed publishing),
//! printed as one table. See the README's "Benchmark" section.
//!
//! `cargo build --release && cargo run --release --example bench -- [--requests N] [--rate R]
//! [--seconds S] [--concurrency C]`

// A crate root looks for modules next to itself; ours live in `examples/bench/`.
#[path = "bench/baseline.rs"]
mod baseline;
#[path = "bench/fixtures.rs"]
mod fixtures;
#[path = "bench/load.rs"]
mod load;
#[path = "bench/report.rs"]
mod report;
#[path = "bench/server.rs"]
mod server;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use reqwest::StatusCode;

use fixtures::Mix;
use load::{Run, Target};
use report::{Machine, Row, mb, ms, rate};
use server::{ServerUnderTest, Tap};

const TARGET_HOOKS_PER_SECOND: f64 = 5_000.0;
const TARGET_P99: Duration = Duration::from_millis(20);
const TARGET_RSS_BYTES: u64 = 100 * 1024 * 1024;
/// How long the outbox may take to drain after the last response before the run is an error.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Parser)]
#[command(about = "ado-ingest benchmark: throughput, latency at a fixed rate, peak RSS, baselines")]
struct Args {
    /// Requests in the throughput phase and in each baseline.
    #[arg(long, default_value_t = 20_000)]
    requests: u64,
    /// Requests in flight in the throughput phase and baseline A.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Hooks per second in the latency phase.
    #[arg(long, default_value_t = 1_000.0)]
    rate: f64,
    /// Duration of the latency phase.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Messages per confirm round in baseline B.
    #[arg(long, default_value_t = 512)]
    window: usize,
    /// The RabbitMQ broker (the server under test gets the same URL).
    #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f")]
    amqp_url: String,
    /// Hook samples (every *.json).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/ado-samples"))]
    fixtures: PathBuf,
    /// The `ado-ingest` binary; default: `release/ado-ingest` in this example's target dir.
    #[arg(long)]
    binary: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// What the server phases measured.
struct ServerNumbers {
    throughput: Run,
    /// From the first request to the outbox seen empty.
    end_to_end: Duration,
    routed: u32,
    latency: Run,
    latency_drain: Duration,
    peak_rss: u64,
}

async fn run(args: Args) -> anyhow::Result<()> {
    if args.requests == 0 || args.concurrency == 0 || args.seconds == 0 || args.rate <= 0.0 {
        bail!("--requests, --concurrency, --seconds and --rate must be positive");
    }
    if cfg!(debug_assertions) {
        eprintln!("bench: WARNING: the benchmark client is a debug build; use cargo run --release");
    }
    let mix = Mix::load(&args.fixtures)?;
    let machine = Machine::probe(&args.amqp_url).await;
    let load_before = report::load_average();
    let binary = server::locate_binary(args.binary.clone())?;
    let client = reqwest::Client::builder()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(1024)
        .timeout(Duration::from_secs(30))
        .build()?;

    let exchange = format!("bench.{:016x}", rand::random::<u64>());
    eprintln!(
        "bench: starting {} serve (exchange {exchange})",
        binary.display()
    );
    let mut server = ServerUnderTest::spawn(&binary, &args.amqp_url, &exchange)?;
    let measured = measure_server(&args, &mix, &client, &mut server).await;
    let stopped = server.stop().await;
    server::cleanup(&args.amqp_url, &exchange).await;
    let numbers = measured?;
    stopped?;

    eprintln!(
        "bench: baseline A: bare axum endpoint, {} requests at concurrency {}",
        args.requests, args.concurrency
    );
    let bodies = Arc::new(mix.bodies(0, args.requests));
    let bare_http = baseline::bare_axum(&client, bodies.clone(), args.concurrency)
        .await
        .context("baseline A (bare axum)")?;
    eprintln!(
        "bench: baseline B: bare publishing of {} messages, confirms per {}",
        args.requests, args.window
    );
    let bare_amqp = baseline::bare_publish(
        &args.amqp_url,
        &format!("{exchange}.baseline"),
        &bodies,
        args.window,
    )
    .await
    .context("baseline B (bare publishing)")?;
    drop(bodies);
    let bench_rss = server::peak_rss_of("/proc/self/status")?;

    println!();
    println!(
        "ado-ingest benchmark — {} CPUs ({}), RabbitMQ {}, 1-min load average {} before / {} after",
        machine.cpus,
        machine.cpu_model,
        machine.rabbitmq,
        load_before,
        report::load_average()
    );
    println!(
        "fixture mix: {} hook samples round-robin, each request a distinct change; server: {}",
        mix.names.len(),
        binary.display()
    );
    println!();
    report::print_table(&rows(&args, &numbers, &bare_http, &bare_amqp, bench_rss));
    Ok(())
}

/// Waits for readiness, binds our queue, runs both phases and reads the server's peak RSS.
async fn measure_server(
    args: &Args,
    mix: &Mix,
    client: &reqwest::Client,
    server: &mut ServerUnderTest,
) -> anyhow::Result<ServerNumbers> {
    server.wait_ready(client).await?;
    let tap = Tap::bind(&args.amqp_url, &server.exchange).await?;
    let target = Target {
        client: client.clone(),
        url: format!("{}/hooks", server.base),
        auth: Some(server.auth.clone()),
        expect: StatusCode::ACCEPTED,
    };

    eprintln!(
        "bench: phase 1: {} hooks at concurrency {}, then until the outbox is empty",
        args.requests, args.concurrency
    );
    let bodies = Arc::new(mix.bodies(0, args.requests));
    let throughput = load::closed_loop(&target, bodies, args.concurrency)
        .await
        .context("phase 1 (throughput)")?;
    let drained = server.wait_drained(client, DRAIN_TIMEOUT).await?;
    let end_to_end = drained - throughput.started;
    let routed = tap.count().await?;
    if u64::from(routed) < args.requests {
        bail!(
            "outbox empty but only {routed} of {} events reached {}",
            args.requests,
            tap.queue
        );
    }
    tap.purge().await?;

    let count = (args.rate * args.seconds as f64).round() as u64;
    eprintln!(
        "bench: phase 2: {count} hooks at {} hooks/s (open loop)",
        args.rate
    );
    let bodies = mix.bodies(args.requests, count);
    let latency = load::open_loop(&target, bodies, args.rate)
        .await
        .context("phase 2 (latency)")?;
    let latency_end = latency.started + latency.elapsed;
    let drained = server.wait_drained(client, DRAIN_TIMEOUT).await?;
    let routed_latency = tap.count().await?;
    if u64::from(routed_latency) < count {
        bail!(
            "outbox empty but only {routed_latency} of {count} events reached {}",
            tap.queue
        );
    }
    tap.close().await;
    Ok(ServerNumbers {
        throughput,
        end_to_end,
        routed,
        latency,
        latency_drain: drained.saturating_duration_since(latency_end),
        peak_rss: server.peak_rss()?,
    })
}

fn rows(
    args: &Args,
    n: &ServerNumbers,
    bare_http: &Run,
    bare_amqp: &baseline::Published,
    bench_rss: u64,
) -> Vec<Row> {
    let c = args.concurrency;
    let e2e = args.requests as f64 / n.end_to_end.as_secs_f64();
    let p99 = n.latency.quantile(0.99);
    let r = args.rate;
    vec![
        Row::check(
            format!("end-to-end durable hooks/s (c={c}, all broker-confirmed)"),
            rate(e2e),
            format!(">= {TARGET_HOOKS_PER_SECOND:.0}/s"),
            e2e >= TARGET_HOOKS_PER_SECOND,
        ),
        Row::info(
            format!("  {} hooks: first request to outbox empty", args.requests),
            ms(n.end_to_end),
        ),
        Row::info("  ingest only (all 202)", rate(n.throughput.per_second())),
        Row::info(
            format!("  latency p50 / p99 at c={c}"),
            format!(
                "{} / {}",
                ms(n.throughput.quantile(0.5)),
                ms(n.throughput.quantile(0.99))
            ),
        ),
        Row::info(
            "  events in the bound queue",
            format!("{} of {}", n.routed, args.requests),
        ),
        Row::info(
            format!("latency p50 at {r:.0} hooks/s"),
            ms(n.latency.quantile(0.5)),
        ),
        Row::info(
            format!("latency p90 at {r:.0} hooks/s"),
            ms(n.latency.quantile(0.9)),
        ),
        Row::check(
            format!("latency p99 at {r:.0} hooks/s"),
            ms(p99),
            format!("<= {}", ms(TARGET_P99)),
            p99 <= TARGET_P99,
        ),
        Row::info(
            format!("latency max at {r:.0} hooks/s"),
            ms(n.latency.quantile(1.0)),
        ),
        Row::info(
            format!(
                "  achieved: {} hooks in {:.2} s",
                n.latency.latencies.len(),
                n.latency.elapsed.as_secs_f64()
            ),
            rate(n.latency.per_second()),
        ),
        Row::info(
            "  outbox empty after the last response",
            ms(n.latency_drain),
        ),
        Row::check(
            "peak RSS of ado-ingest serve (VmHWM)",
            mb(n.peak_rss),
            format!("<= {}", mb(TARGET_RSS_BYTES)),
            n.peak_rss <= TARGET_RSS_BYTES,
        ),
        Row::info("peak RSS of the bench process (VmHWM)", mb(bench_rss)),
        Row::info(
            format!("baseline A: bare axum + JSON parse (c={c})"),
            rate(bare_http.per_second()),
        ),
        Row::info(
            format!("  latency p50 / p99 at c={c}"),
            format!(
                "{} / {}",
                ms(bare_http.quantile(0.5)),
                ms(bare_http.quantile(0.99))
            ),
        ),
        Row::info(
            format!(
                "baseline B: bare publish, persistent+mandatory, confirms per {}",
                args.window
            ),
            rate(bare_amqp.per_second()),
        ),
    ]
}
