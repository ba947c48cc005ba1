//! `ado-sim` / `ado-ingest sim`: runs a simulated organization on a port with continuous seeded activity, so a
//! real `ado-ingest serve` (or anything else) can be pointed at it.

use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use super::{ActivitySpec, FaultRates, OrgSpec, SimConfig, UrlStyle};

/// Options of `ado-ingest sim`.
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// Address to serve the simulated REST API on.
    #[arg(long, default_value = "127.0.0.1:8090", env = "ADO_SIM_LISTEN")]
    pub listen: String,
    /// Seed of the organization and its activity (same seed, same ids and changes).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Organization (Services) or collection (Server) name.
    #[arg(long, default_value = "contoso")]
    pub org: String,
    /// URL style: `services` (http://host/{org}/) or `server` (http://host/tfs/{Collection}/).
    #[arg(long, value_enum, default_value_t = StyleArg::Services)]
    pub style: StyleArg,
    /// Highest REST api-version served (default: 7.2 for services, 7.1 for server).
    #[arg(long)]
    pub api_version: Option<String>,
    /// Number of projects.
    #[arg(long, default_value_t = 3)]
    pub projects: usize,
    /// Personal access token REST clients must send (Basic auth, any user name).
    #[arg(long, default_value = "sim-pat", env = "ADO_SIM_PAT")]
    pub pat: String,
    /// Actions per second (0: no background activity).
    #[arg(long, default_value_t = 2.0)]
    pub rate: f64,
    /// Stop generating after this many actions (default: run until interrupted).
    #[arg(long)]
    pub actions: Option<usize>,
    /// Subscribe this URL to every event type (what `subscriptions sync` would do).
    #[arg(long)]
    pub hook_url: Option<String>,
    /// Basic user name sent with hooks.
    #[arg(long, default_value = "ado", requires = "hook_url")]
    pub hook_user: String,
    /// Basic password sent with hooks.
    #[arg(long, env = "ADO_SIM_HOOK_PASSWORD", requires = "hook_url")]
    pub hook_password: Option<String>,
    /// Multiplier on Azure DevOps' delivery delays (1 = real retry/probation timings).
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// Probability that a delivery is lost.
    #[arg(long, default_value_t = 0.0)]
    pub drop: f64,
    /// Probability that a delivery is sent twice.
    #[arg(long, default_value_t = 0.0)]
    pub duplicate: f64,
    /// Probability that a delivery overtakes the next one.
    #[arg(long, default_value_t = 0.0)]
    pub reorder: f64,
    /// Probability that a delivery is delayed (up to 30 s × time scale).
    #[arg(long, default_value_t = 0.0)]
    pub delay: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StyleArg {
    Services,
    Server,
}

/// Runs the simulator until Ctrl-C.
pub async fn run_sim(args: SimArgs) -> anyhow::Result<()> {
    let stop = CancellationToken::new();
    let on_signal = stop.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        on_signal.cancel();
    });
    run_sim_until(args, stop).await
}

/// Runs the simulator until `stop` is cancelled (what tests and embedding callers use).
pub async fn run_sim_until(args: SimArgs, stop: CancellationToken) -> anyhow::Result<()> {
    for (name, p) in [
        ("drop", args.drop),
        ("duplicate", args.duplicate),
        ("reorder", args.reorder),
        ("delay", args.delay),
    ] {
        anyhow::ensure!(
            (0.0..=1.0).contains(&p),
            "--{name} is a probability between 0 and 1, got {p}"
        );
    }
    anyhow::ensure!(
        args.rate >= 0.0 && args.rate.is_finite(),
        "--rate must be a non-negative number of actions per second"
    );
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (is the port in use? choose another with --listen)",
                args.listen
            )
        })?;
    let mut org = match args.style {
        StyleArg::Services => OrgSpec::services(&args.org),
        StyleArg::Server => OrgSpec::server(&args.org),
    };
    org.projects = args.projects.max(1);
    if let Some(v) = &args.api_version {
        anyhow::ensure!(
            super::model::seed::parse_api_version(v).is_some(),
            "--api-version looks like 7.1, got {v}"
        );
        org.api_version = v.clone();
    }
    let config = SimConfig {
        seed: args.seed,
        orgs: vec![org],
        pat: args.pat.clone(),
        time_scale: args.time_scale,
        clock: super::ClockMode::Wall,
        faults: FaultRates {
            drop: args.drop,
            duplicate: args.duplicate,
            reorder: args.reorder,
            delay: args.delay,
            ..FaultRates::default()
        },
        ..SimConfig::default()
    };
    let sim = super::start(config, listener)
        .await
        .context("cannot start the simulator")?;
    let info = sim.orgs().remove(0);
    println!(
        "Simulated Azure DevOps {} `{}`",
        if info.style == UrlStyle::Server {
            "Server collection"
        } else {
            "organization"
        },
        info.name
    );
    println!("  REST base URL:  {}", info.base_url);
    println!("  collection id:  {}", info.collection_id);
    println!("  PAT:            {} (Basic auth, any user name)", args.pat);
    if let Some(url) = &args.hook_url {
        let basic = args
            .hook_password
            .as_deref()
            .map(|p| (args.hook_user.as_str(), p));
        let subs = sim.subscribe_all(&info.name, url, basic)?;
        println!("  subscribed {url} to {} event types", subs.len());
    }
    let mut done = 0usize;
    let mut ticker = tokio::time::interval(if args.rate > 0.0 {
        Duration::from_secs_f64(1.0 / args.rate)
    } else {
        Duration::from_secs(3600)
    });
    let mut report = tokio::time::interval(Duration::from_secs(10));
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = ticker.tick(), if args.rate > 0.0 && args.actions.is_none_or(|a| done < a) => {
                sim.generate(&ActivitySpec::new(1))?;
                done += 1;
            }
            _ = report.tick() => {
                let s = sim.stats();
                println!(
                    "actions {done}, changes {}, deliveries ok {} failed {} dropped {} outstanding {}",
                    sim.truth_len(), s.succeeded, s.failed, s.dropped_by_fault + s.dropped_on_probation, s.outstanding
                );
            }
        }
    }
    println!("stopping…");
    sim.shutdown().await;
    Ok(())
}
