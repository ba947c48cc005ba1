//! The benchmark (a command, not a test): end-to-end durable hooks/s at fixed concurrency, latency
//! at a fixed rate, peak RSS, and two baselines (bare axum + JSON parse, bare confirmed publishing),
//! printed as one table. See the README's "Benchmark" section.
//!
//! `cargo build --release && cargo run --release --example bench -- [--requests N] [--rate R]
//! [--seconds S] [--concurrency C] [--setup sqlite,postgres,postgres-2,postgres-2-first | --setup all]`

// A crate root looks for modules next to itself; ours live in `examples/bench/`.
#[path = "bench/baseline.rs"]
mod baseline;
#[path = "bench/cpu.rs"]
mod cpu;
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
use server::{ServerUnderTest, StoreUnderTest, Tap};

/// What runs behind the load: one server on SQLite, or replicas sharing a PostgreSQL database.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Setup {
    Sqlite,
    Postgres { replicas: usize, balance: Balance },
}

/// How the load reaches several replicas, as the proxy in front of them would send it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Balance {
    /// Request `i` to replica `i % N` (HAProxy `balance roundrobin`, a Kubernetes Service).
    RoundRobin,
    /// Every request to the first replica while it is up; the others are hot standbys (HAProxy
    /// `balance first`, the setting of `deploy/haproxy.cfg` for replicas sharing one host).
    First,
}

impl Balance {
    /// How the bench's rows name it.
    fn name(self) -> &'static str {
        match self {
            Balance::RoundRobin => "round-robin",
            Balance::First => "all to the first",
        }
    }
}

const ONE_REPLICA: Setup = Setup::Postgres {
    replicas: 1,
    balance: Balance::RoundRobin,
};

impl Setup {
    fn parse(s: &str) -> Result<Vec<Setup>, String> {
        match s {
            "sqlite" => Ok(vec![Setup::Sqlite]),
            "postgres" => Ok(vec![ONE_REPLICA]),
            "all" => Ok(vec![
                Setup::Sqlite,
                ONE_REPLICA,
                Setup::Postgres {
                    replicas: 2,
                    balance: Balance::RoundRobin,
                },
                Setup::Postgres {
                    replicas: 2,
                    balance: Balance::First,
                },
            ]),
            other => {
                let unknown = || {
                    format!(
                        "unknown setup {other:?}: sqlite, postgres, postgres-N (N replicas, \
                         round-robin), postgres-N-first (N replicas, all to the first) or all"
                    )
                };
                let rest = other.strip_prefix("postgres-").ok_or_else(unknown)?;
                let (count, balance) = match rest.strip_suffix("-first") {
                    Some(count) => (count, Balance::First),
                    None => (rest, Balance::RoundRobin),
                };
                match count.parse::<usize>() {
                    Ok(1) if balance == Balance::RoundRobin => Ok(vec![ONE_REPLICA]),
                    Ok(1) => Err(format!("{other:?}: -first needs at least 2 replicas")),
                    Ok(n) if n >= 2 => Ok(vec![Setup::Postgres {
                        replicas: n,
                        balance,
                    }]),
                    _ => Err(unknown()),
                }
            }
        }
    }

    fn label(self) -> String {
        match self {
            Setup::Sqlite => "SQLite".into(),
            Setup::Postgres { replicas: 1, .. } => "PostgreSQL, 1 replica".into(),
            Setup::Postgres {
                replicas,
                balance: Balance::RoundRobin,
            } => format!("PostgreSQL, {replicas} replicas"),
            Setup::Postgres { replicas, balance } => {
                format!("PostgreSQL, {replicas} replicas, {}", balance.name())
            }
        }
    }

    /// How many of the setup's servers the load is sent to (the first ones).
    fn loaded(self) -> usize {
        match self {
            Setup::Sqlite
            | Setup::Postgres {
                balance: Balance::First,
                ..
            } => 1,
            Setup::Postgres { replicas, .. } => replicas,
        }
    }

    fn targets(self) -> (f64, Duration) {
        match self {
            Setup::Sqlite => (TARGET_HOOKS_PER_SECOND, TARGET_P99),
            Setup::Postgres { .. } => (TARGET_PG_HOOKS_PER_SECOND, TARGET_PG_P99),
        }
    }
}

const TARGET_HOOKS_PER_SECOND: f64 = 5_000.0;
const TARGET_P99: Duration = Duration::from_millis(20);
/// On PostgreSQL (a network round trip per group commit instead of an fsync'd local file).
const TARGET_PG_HOOKS_PER_SECOND: f64 = 3_000.0;
const TARGET_PG_P99: Duration = Duration::from_millis(25);
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
    /// What to measure, in order: `sqlite`, `postgres` (one replica), `postgres-N` (N replicas on
    /// one database, requests round-robin), `postgres-N-first` (N replicas, every request to the
    /// first: the others are standbys) or `all` (sqlite, postgres, postgres-2, postgres-2-first).
    #[arg(long, value_delimiter = ',', default_value = "sqlite")]
    setup: Vec<String>,
    /// A setting for every server under test, `ADO_INGEST_KEY=value` (repeatable), e.g.
    /// `ADO_INGEST_PUBLISH_LEDGER=true` to measure the opt-in ledger.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    settings: Vec<String>,
    /// Rounds of the whole setup list, interleaved (a, b, a, b, …); each setup is then shown by
    /// its median round (by end-to-end rate), with every round's rate beside it. On a shared
    /// machine that drifts, one round compares setups by when they ran as much as by what they are.
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// A PostgreSQL database to create (and drop) each run's database from.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres_admin_url: String,
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
    /// Phase 1's group commits and publish batches, all replicas together.
    commits: f64,
    publish_batches: f64,
    /// CPU used from phase 1's first request to its outbox seen empty.
    cpu: cpu::Usage,
}

async fn run(args: Args) -> anyhow::Result<()> {
    if let Some(bad) = args
        .settings
        .iter()
        .find(|s| !s.starts_with("ADO_INGEST_") || !s.contains('='))
    {
        bail!("--set {bad:?}: expected ADO_INGEST_KEY=value");
    }
    if args.requests == 0
        || args.concurrency == 0
        || args.seconds == 0
        || args.rate <= 0.0
        || args.rounds == 0
    {
        bail!("--requests, --concurrency, --seconds, --rate and --rounds must be positive");
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

    let mut setups = Vec::new();
    for name in &args.setup {
        setups.extend(Setup::parse(name).map_err(anyhow::Error::msg)?);
    }
    let mut rounds: Vec<(Setup, Vec<ServerNumbers>)> =
        setups.iter().map(|s| (*s, Vec::new())).collect();
    for round in 1..=args.rounds {
        for (setup, numbers) in &mut rounds {
            if args.rounds > 1 {
                eprintln!("bench: round {round} of {}", args.rounds);
            }
            numbers.push(measure_setup(&args, &mix, &client, &binary, *setup).await?);
        }
    }
    let measured: Vec<(Setup, ServerNumbers, Vec<RoundFigures>)> = rounds
        .into_iter()
        .map(|(setup, numbers)| {
            let (median, all) = median_round(numbers, args.requests);
            (setup, median, all)
        })
        .collect();
    let exchange = format!("bench.{:016x}", rand::random::<u64>());

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
    if !args.settings.is_empty() {
        println!("server settings: {}", args.settings.join(" "));
    }
    println!();
    let mut table = Vec::new();
    let one_replica = measured
        .iter()
        .find(|(s, _, _)| matches!(s, Setup::Postgres { replicas: 1, .. }))
        .map(|(_, n, _)| n.end_to_end_rate(args.requests));
    for (setup, numbers, all) in &measured {
        table.extend(rows(&args, *setup, numbers, all, one_replica));
    }
    table.extend(baseline_rows(&args, &bare_http, &bare_amqp, bench_rss));
    report::print_table(&table);
    Ok(())
}

/// What each round measured, beside the median round that is shown in full.
struct RoundFigures {
    /// End-to-end hooks/s.
    rate: f64,
    /// p99 of the latency phase: one stalled round shows here apart from the others.
    p99: Duration,
}

/// The round with the median end-to-end rate (the lower middle one for an even count), and every
/// round's figures in the order they ran.
fn median_round(numbers: Vec<ServerNumbers>, requests: u64) -> (ServerNumbers, Vec<RoundFigures>) {
    let figures: Vec<RoundFigures> = numbers
        .iter()
        .map(|n| RoundFigures {
            rate: n.end_to_end_rate(requests),
            p99: n.latency.quantile(0.99),
        })
        .collect();
    let mut order: Vec<usize> = (0..numbers.len()).collect();
    order.sort_by(|a, b| figures[*a].rate.total_cmp(&figures[*b].rate));
    let middle = order[(order.len() - 1) / 2];
    let median = numbers.into_iter().nth(middle).expect("at least one round");
    (median, figures)
}

/// Starts the setup's servers on a fresh store and exchange, measures them, stops them and
/// removes what the run made.
async fn measure_setup(
    args: &Args,
    mix: &Mix,
    client: &reqwest::Client,
    binary: &std::path::Path,
    setup: Setup,
) -> anyhow::Result<ServerNumbers> {
    let exchange = format!("bench.{:016x}", rand::random::<u64>());
    let (store, replicas, database) = match setup {
        Setup::Sqlite => (StoreUnderTest::Sqlite, 1, None),
        Setup::Postgres { replicas, .. } => {
            let (name, url) = server::create_database(&args.postgres_admin_url).await?;
            (StoreUnderTest::Postgres(url), replicas, Some(name))
        }
    };
    let password = format!("{:032x}", rand::random::<u128>());
    eprintln!(
        "bench: {}: starting {replicas} x {} serve (exchange {exchange})",
        setup.label(),
        binary.display()
    );
    let mut servers = Vec::new();
    let mut started = Ok(());
    for i in 0..replicas {
        let replica = format!("bench-{}", (b'a' + i as u8) as char);
        match ServerUnderTest::spawn(
            binary,
            &args.amqp_url,
            &exchange,
            &store,
            &replica,
            &password,
            &args.settings,
        ) {
            Ok(server) => servers.push(server),
            Err(e) => {
                started = Err(e);
                break;
            }
        }
    }
    let measured = match started {
        Ok(()) => measure_server(args, mix, client, &mut servers, setup.loaded()).await,
        Err(e) => Err(e),
    };
    let mut stopped = Ok(());
    for server in servers {
        let result = server.stop().await;
        stopped = stopped.and(result);
    }
    server::cleanup(&args.amqp_url, &exchange).await;
    if let Some(name) = database {
        server::drop_database(&args.postgres_admin_url, &name).await;
    }
    let numbers = measured.with_context(|| setup.label())?;
    stopped?;
    Ok(numbers)
}

/// Waits for readiness, binds our queue, runs both phases and reads the server's peak RSS.
async fn measure_server(
    args: &Args,
    mix: &Mix,
    client: &reqwest::Client,
    servers: &mut [ServerUnderTest],
    loaded: usize,
) -> anyhow::Result<ServerNumbers> {
    for server in servers.iter_mut() {
        server.wait_ready(client).await?;
    }
    let tap = Tap::bind(&args.amqp_url, &servers[0].exchange).await?;
    let target = Target {
        client: client.clone(),
        urls: servers
            .iter()
            .take(loaded)
            .map(|s| format!("{}/hooks", s.base))
            .collect(),
        auth: Some(servers[0].auth.clone()),
        expect: StatusCode::ACCEPTED,
    };

    eprintln!(
        "bench: phase 1: {} hooks at concurrency {}, then until the outbox is empty",
        args.requests, args.concurrency
    );
    let bodies = Arc::new(mix.bodies(0, args.requests));
    let pids: Vec<u32> = servers.iter().map(ServerUnderTest::pid).collect();
    let cpu_before = cpu::Snapshot::take(&pids);
    let throughput = load::closed_loop(&target, bodies, args.concurrency)
        .await
        .context("phase 1 (throughput)")?;
    let drained = wait_all_drained(servers, client).await?;
    let cpu = cpu::Usage::between(&cpu_before, &cpu::Snapshot::take(&pids));
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
    let (mut commits, mut publish_batches) = (0.0, 0.0);
    for server in servers.iter() {
        let totals = server.metric_totals(client).await?;
        let total = |name: &str| totals.get(name).copied().unwrap_or(0.0);
        commits += total("ado_ingest_store_commits_total");
        publish_batches += total("ado_ingest_publish_latency_seconds_count");
    }

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
    let drained = wait_all_drained(servers, client).await?;
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
        peak_rss: servers
            .iter()
            .map(ServerUnderTest::peak_rss)
            .collect::<anyhow::Result<Vec<u64>>>()?
            .into_iter()
            .max()
            .unwrap_or(0),
        commits,
        publish_batches,
        cpu,
    })
}

/// When every server's outbox view was empty (on PostgreSQL they share one outbox, and each
/// replica publishes what it claimed).
async fn wait_all_drained(
    servers: &mut [ServerUnderTest],
    client: &reqwest::Client,
) -> anyhow::Result<std::time::Instant> {
    let mut last = std::time::Instant::now();
    for server in servers.iter_mut() {
        last = last.max(server.wait_drained(client, DRAIN_TIMEOUT).await?);
    }
    Ok(last)
}

impl ServerNumbers {
    fn end_to_end_rate(&self, requests: u64) -> f64 {
        requests as f64 / self.end_to_end.as_secs_f64()
    }
}

/// The rows of one setup: its throughput, latency and memory, each beside its target.
fn rows(
    args: &Args,
    setup: Setup,
    n: &ServerNumbers,
    all_rounds: &[RoundFigures],
    one_replica: Option<f64>,
) -> Vec<Row> {
    let c = args.concurrency;
    let e2e = n.end_to_end_rate(args.requests);
    let p99 = n.latency.quantile(0.99);
    let r = args.rate;
    let (target_rate, target_p99) = setup.targets();
    let name = setup.label();
    let mut rows = vec![
        Row::check(
            format!("{name}: end-to-end durable hooks/s (c={c}, all broker-confirmed)"),
            rate(e2e),
            format!(">= {target_rate:.0}/s"),
            e2e >= target_rate,
        ),
        Row::info(
            format!("  {} hooks: first request to outbox empty", args.requests),
            ms(n.end_to_end),
        ),
    ];
    rows.extend(each_round(
        "  end-to-end hooks/s of each round (median shown)",
        all_rounds,
        |f| format!("{:.0}", f.rate),
    ));
    rows.extend([
        Row::info("  ingest only (all 202)", rate(n.throughput.per_second())),
        Row::info(
            "  hooks per group commit / events per publish batch",
            format!(
                "{:.1} / {:.1}",
                args.requests as f64 / n.commits.max(1.0),
                args.requests as f64 / n.publish_batches.max(1.0)
            ),
        ),
        Row::info(
            format!("  CPU µs per hook: {}", cpu::per_hook_label()),
            n.cpu.per_hook(args.requests),
        ),
        Row::info(
            "  context switches per hook (machine)",
            n.cpu.switches_per_hook(args.requests),
        ),
        Row::info(
            "  hypervisor steal during phase 1",
            format!("{:.1} %", n.cpu.steal * 100.0),
        ),
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
            format!("  latency p50 / p90 at {r:.0} hooks/s"),
            format!(
                "{} / {}",
                ms(n.latency.quantile(0.5)),
                ms(n.latency.quantile(0.9))
            ),
        ),
        Row::check(
            format!("  latency p99 at {r:.0} hooks/s"),
            ms(p99),
            format!("<= {}", ms(target_p99)),
            p99 <= target_p99,
        ),
        Row::info(
            format!("  latency max at {r:.0} hooks/s"),
            ms(n.latency.quantile(1.0)),
        ),
    ]);
    rows.extend(each_round(
        format!("  latency p99 at {r:.0} hooks/s of each round (ms)"),
        all_rounds,
        |f| format!("{:.1}", f.p99.as_secs_f64() * 1000.0),
    ));
    rows.extend([
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
            "  peak RSS of ado-ingest serve (VmHWM, largest replica)",
            mb(n.peak_rss),
            format!("<= {}", mb(TARGET_RSS_BYTES)),
            n.peak_rss <= TARGET_RSS_BYTES,
        ),
    ]);
    if let (Setup::Postgres { replicas, balance }, Some(one)) = (setup, one_replica)
        && replicas > 1
    {
        // "No slower than one": within the run-to-run noise of this shared machine (5 %).
        rows.push(Row::check(
            format!(
                "  {replicas} replicas ({}) vs 1 replica (end-to-end)",
                balance.name()
            ),
            format!("{:.2}x", e2e / one),
            ">= 0.95x".to_string(),
            e2e >= one * 0.95,
        ));
    }
    rows
}

/// One figure of every round on one line, when there was more than one round.
fn each_round(
    label: impl Into<String>,
    rounds: &[RoundFigures],
    figure: impl Fn(&RoundFigures) -> String,
) -> Option<Row> {
    (rounds.len() > 1).then(|| {
        let listed: Vec<String> = rounds.iter().map(figure).collect();
        Row::info(label, listed.join(" "))
    })
}

/// The same run's baselines: what the machine does without ado-ingest in the way.
fn baseline_rows(
    args: &Args,
    bare_http: &Run,
    bare_amqp: &baseline::Published,
    bench_rss: u64,
) -> Vec<Row> {
    let c = args.concurrency;
    vec![
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
