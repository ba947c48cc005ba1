//! `ado-ingest demo`: a simulated Azure DevOps organization sends hooks (with duplicates, reordering
//! and delays) to a real `serve` on an embedded store, and the demo checks that every change the
//! simulator made reached RabbitMQ exactly once.

mod report;
mod tap;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio_util::sync::CancellationToken;

use crate::config::{Config, OrganizationConfig};
use crate::normalize::{NormalizeOptions, normalize_hook, parse_envelope};
use ado_sim::{self as sim, ActivitySpec, FaultRates, SimConfig};

pub use report::{DemoReport, TypeRow};

/// Options of `ado-ingest demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Simulated actions to perform (each makes one or more changes).
    #[arg(long, default_value_t = 300)]
    pub actions: usize,
    /// Seed of the simulated organization and its activity.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Share of hook deliveries sent twice.
    #[arg(long, default_value_t = 0.05)]
    pub duplicate: f64,
    /// Share of hook deliveries sent out of order.
    #[arg(long, default_value_t = 0.05)]
    pub reorder: f64,
    /// Share of hook deliveries delayed.
    #[arg(long, default_value_t = 0.05)]
    pub delay: f64,
    /// Share of hook deliveries lost for good (as on probation); the reconciler, polling the
    /// simulator's REST API every 2 s, fills the gaps.
    #[arg(long, default_value_t = 0.0)]
    pub drop: f64,
    /// Broker to publish to.
    #[arg(
        long,
        env = "ADO_INGEST_AMQP_URL",
        default_value = "amqp://guest:guest@127.0.0.1:5672/%2f"
    )]
    pub amqp_url: String,
    /// Give up waiting for deliveries and messages after this long.
    #[arg(long, default_value = "90s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Keep the demo's exchange (`ado.demo.*`) instead of deleting it at the end.
    #[arg(long)]
    pub keep_exchange: bool,
    /// Show no progress bar (plain lines only).
    #[arg(long)]
    pub quiet: bool,
}

impl Default for DemoArgs {
    fn default() -> Self {
        Self {
            actions: 300,
            seed: 42,
            duplicate: 0.05,
            reorder: 0.05,
            delay: 0.05,
            drop: 0.0,
            amqp_url: "amqp://guest:guest@127.0.0.1:5672/%2f".into(),
            timeout: Duration::from_secs(90),
            keep_exchange: false,
            quiet: true,
        }
    }
}

fn progress_bar(len: u64, quiet: bool) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if quiet {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} {msg}")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar
}

/// Runs the whole demo and returns its report (`exact` tells whether every change arrived once).
pub async fn run(args: DemoArgs) -> anyhow::Result<DemoReport> {
    let started = Instant::now();
    let dir = tempfile::tempdir().context("cannot create a temporary directory for the store")?;
    let suffix: u32 = rand::random();
    let exchange = format!("ado.demo.{suffix:08x}");
    let password = format!("demo-{:016x}", rand::random::<u64>());

    let env: BTreeMap<String, String> = [
        ("ADO_INGEST_EXCHANGE", exchange.clone()),
        ("ADO_INGEST_AMQP_URL", args.amqp_url.clone()),
        (
            "ADO_INGEST_STORE",
            dir.path().join("ado-ingest.sqlite").display().to_string(),
        ),
        ("ADO_INGEST_HOOK_CREDENTIALS", format!("demo:{password}")),
        ("ADO_INGEST_SHUTDOWN_GRACE", "10s".into()),
        ("ADO_INGEST_PUBLISH_MAX_BACKOFF", "2s".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let faults = FaultRates {
        duplicate: args.duplicate,
        reorder: args.reorder,
        delay: args.delay,
        drop: args.drop,
        max_delay: Duration::from_secs(20),
    };
    let sim = sim::start(
        SimConfig {
            seed: args.seed,
            // Azure DevOps' retry and delay timings, a hundred times faster.
            time_scale: 0.01,
            faults,
            ..SimConfig::default()
        },
        sim_listener,
    )
    .await?;
    let org = sim
        .orgs()
        .into_iter()
        .next()
        .context("the simulator has no organization")?;
    // With dropped hooks the demo asks the admin status when the reconciler has caught up.
    let admin_token =
        (args.drop > 0.0).then(|| format!("demo-admin-{:016x}", rand::random::<u64>()));
    let mut env = env;
    if let Some(token) = &admin_token {
        env.insert("ADO_INGEST_ADMIN_TOKEN".into(), token.clone());
    }
    let mut config = Config::load(None, &env)?;
    if args.drop > 0.0 {
        // Lost hooks are found again through the simulator's REST API, like a real organization's.
        config.organizations = vec![OrganizationConfig::with_pat(
            org.base_url.clone(),
            sim.pat(),
        )];
        config.reconcile.interval = Duration::from_secs(2);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(crate::app::run(config, listener, shutdown.clone()));

    let outcome = drive(
        &args,
        &sim,
        &org,
        Endpoints {
            base: &base,
            exchange: &exchange,
            password: &password,
            admin_token: admin_token.as_deref(),
        },
        started,
    )
    .await;
    sim.shutdown().await;

    shutdown.cancel();
    match tokio::time::timeout(Duration::from_secs(30), server).await {
        Ok(Ok(Err(e))) => tracing::warn!(error = %e, "demo server stopped with an error"),
        Err(_) => tracing::warn!("demo server did not stop in time"),
        _ => {}
    }
    if !args.keep_exchange {
        crate::publish::delete_topology(&args.amqp_url, &exchange).await;
    }
    outcome
}

async fn wait_ready(base: &str, amqp_url: &str) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ready = client.get(format!("{base}/readyz")).send().await;
        match ready {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) if Instant::now() >= deadline => {
                let body = r.text().await.unwrap_or_default();
                bail!(
                    "the server did not become ready: {body}\nIs RabbitMQ running at {}? Start it with \
                     `rabbitmq-server -detached` or pass --amqp-url.",
                    crate::publish::redact_url(amqp_url)
                );
            }
            Err(e) if Instant::now() >= deadline => bail!("the demo server is not answering: {e}"),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Subscribes the demo server to every event type through the simulator's hooks REST API, with
/// the same code `ado-ingest subscriptions sync` runs against Azure DevOps.
async fn subscribe(org_url: &str, pat: &str, hook_url: &str, password: &str) -> anyhow::Result<()> {
    let org = OrganizationConfig::with_pat(org_url.trim_end_matches('/'), pat.to_string());
    let client = crate::ado::OrgClient::new(&org, crate::ado::ClientOptions::for_org(&org))?;
    let credential = crate::config::HookCredential {
        username: "demo".into(),
        password: crate::config::Secret::new(password),
    };
    let lines = crate::reconcile::subscriptions::sync(
        &client,
        crate::reconcile::subscriptions::SyncOptions {
            hook_url,
            credential: Some(&credential),
            projects: &[],
            dry_run: false,
            prune: false,
        },
    )
    .await?;
    let created = lines
        .iter()
        .filter(|l| l.action == crate::reconcile::subscriptions::SyncAction::Created)
        .count();
    if created != lines.len() {
        bail!("the simulator already had subscriptions to {hook_url}: {lines:?}");
    }
    Ok(())
}

/// Where the demo's ado-ingest listens and publishes, and its credentials.
struct Endpoints<'a> {
    base: &'a str,
    exchange: &'a str,
    password: &'a str,
    admin_token: Option<&'a str>,
}

/// Whether a reconciler pass that started after `since` has finished and the outbox is empty:
/// after that, what has not arrived cannot be found through REST.
async fn reconciler_caught_up(
    base: &str,
    token: &str,
    since: chrono::DateTime<chrono::Utc>,
) -> bool {
    let Ok(resp) = reqwest::Client::new()
        .get(format!("{base}/admin/status"))
        .bearer_auth(token)
        .send()
        .await
    else {
        return false;
    };
    let Ok(status) = resp.json::<serde_json::Value>().await else {
        return false;
    };
    let time = |v: &serde_json::Value| {
        v.as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&chrono::Utc))
    };
    let empty_outbox = status["outbox"]["depth"].as_u64() == Some(0);
    let orgs = status["organizations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    empty_outbox
        && !orgs.is_empty()
        && orgs.iter().all(|o| {
            let started = time(&o["last_pass_started"]);
            let finished = time(&o["last_pass_finished"]);
            o["running"] == false
                && started.is_some_and(|s| s > since)
                && finished.is_some_and(|f| started.is_some_and(|s| f >= s))
        })
}

async fn drive(
    args: &DemoArgs,
    sim: &sim::Simulator,
    org: &sim::OrgInfo,
    endpoints: Endpoints<'_>,
    started: Instant,
) -> anyhow::Result<DemoReport> {
    let Endpoints {
        base,
        exchange,
        password,
        admin_token,
    } = endpoints;
    wait_ready(base, &args.amqp_url).await?;
    let tap = tap::Tap::bind(&args.amqp_url, exchange).await?;
    // The metrics recorder is process-wide: count only what this demo adds to it.
    let metrics_before = crate::telemetry::metrics_handle().render();

    subscribe(
        &org.base_url,
        &sim.pat(),
        &format!("{base}/hooks"),
        password,
    )
    .await?;
    if !args.quiet {
        eprintln!(
            "ado-ingest demo: simulated organization {} at {} → {base}/hooks → exchange {exchange}",
            org.name, org.base_url
        );
    }

    // Generate activity in small steps so progress is visible while hooks flow.
    let bar = progress_bar(args.actions as u64, args.quiet);
    bar.set_prefix("activity");
    let mut done = 0;
    while done < args.actions {
        let step = (args.actions - done).min(10);
        sim.generate(&ActivitySpec::new(step))?;
        done += step;
        bar.set_position(done as u64);
        bar.set_message(format!(
            "changes {}  hooks delivered {}  events published {}",
            sim.truth_len(),
            sim.stats().succeeded,
            tap.count()
        ));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bar.finish();

    // Expected: every ground-truth change, by the id the receiver derives from its canonical payload.
    let truth = sim.truth();
    let mut expected: BTreeMap<String, &'static str> = BTreeMap::new();
    for entry in &truth {
        let body = serde_json::to_vec(&entry.canonical_payload())?;
        let envelope =
            parse_envelope(&body).map_err(|e| anyhow::anyhow!("simulated payload: {e}"))?;
        let event = normalize_hook(&envelope, &NormalizeOptions::default());
        expected.insert(event.id, entry.normalized_type);
    }

    let wait = progress_bar(expected.len() as u64, args.quiet);
    wait.set_prefix("published");
    let deadline = Instant::now() + args.timeout;
    let settle = sim.settle(args.timeout);
    tokio::pin!(settle);
    let mut settled = None;
    let mut settled_at = None;
    loop {
        let have = tap.count_of(expected.keys());
        wait.set_position(have as u64);
        let stats = sim.stats();
        wait.set_message(format!("deliveries outstanding {}", stats.outstanding));
        if have == expected.len() && settled.is_some() {
            break;
        }
        if let (Some(token), Some(_)) = (admin_token, &settled) {
            let since = *settled_at.get_or_insert_with(chrono::Utc::now);
            if reconciler_caught_up(base, token, since).await {
                break;
            }
        }
        if Instant::now() >= deadline {
            break;
        }
        tokio::select! {
            r = &mut settle, if settled.is_none() => settled = Some(r),
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
    }
    // Let late duplicates (if any were wrongly published) show up before judging.
    tokio::time::sleep(Duration::from_millis(500)).await;
    wait.finish();

    let stats = sim.stats();
    let metrics_after = crate::telemetry::metrics_handle().render();
    Ok(report::build(
        &truth,
        &expected,
        &tap.snapshot(),
        (&metrics_before, &metrics_after),
        stats,
        started.elapsed(),
    ))
}
