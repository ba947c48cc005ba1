//! The `ado-ingest` command line: subcommands only; the work happens in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use ado_ingest::config::Config;

/// mimalloc instead of the system allocator: the hook path allocates many small JSON values, and
/// glibc malloc's bookkeeping showed up as a tenth of the server's CPU in profiles.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "ado-ingest",
    version,
    about = "Azure DevOps service hooks and REST backfill → RabbitMQ"
)]
struct Cli {
    /// TOML configuration file; every key can also be set by an ADO_INGEST_* environment variable.
    #[arg(long, global = true, env = "ADO_INGEST_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Receive service hooks, store them durably and publish them to RabbitMQ.
    Serve,
    /// Print the effective configuration (secrets redacted) and check it.
    CheckConfig,
    /// Show the whole pipeline on this machine: a simulated Azure DevOps organization sends hooks
    /// (with duplicates, reordering and delays) to a real server; exits 0 only when every change
    /// reached RabbitMQ exactly once.
    Demo(ado_ingest::demo::DemoArgs),
    /// Run a simulated Azure DevOps organization (REST API + service hooks) on a port.
    Sim(ado_sim::cli::SimArgs),
    /// Backfill an organization's changes since a time, in-process or through a server (`--server`).
    Backfill(ado_ingest::cli::backfill::BackfillArgs),
    /// Manage the Azure DevOps web-hook subscriptions that post to this service.
    Subscriptions(ado_ingest::cli::subscriptions::SubscriptionsArgs),
    /// Store maintenance: `store migrate` moves an SQLite store onto PostgreSQL.
    Store(ado_ingest::cli::store::StoreArgs),
    /// Print the events arriving on the exchange (a temporary queue bound with `--binding`).
    Tail(ado_ingest::cli::tail::TailArgs),
    /// Sign in with Microsoft Entra ID (device code) for organizations with `login = true`.
    Login(ado_ingest::cli::login::LoginArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve => {
            let config = Config::from_process_env(cli.config.as_deref())?;
            ado_ingest::telemetry::init_tracing(config.log_format);
            serve(config).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo(args) => {
            ado_ingest::telemetry::init_tracing_with_default(
                ado_ingest::config::LogFormat::Text,
                "warn",
            );
            let report = ado_ingest::demo::run(args).await?;
            println!("\n{}", report.table());
            Ok(if report.exact {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Sim(args) => {
            ado_ingest::telemetry::init_tracing(ado_ingest::config::LogFormat::Text);
            ado_sim::cli::run_sim(args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::CheckConfig => {
            let config = Config::from_process_env(cli.config.as_deref())?;
            print!("{}", config.to_redacted_toml());
            // Which credential each organization (and discovery) uses; never the secret itself.
            println!("\n# credentials");
            for org in &config.organizations {
                println!("# {}: {}", org.name(), org.auth_method());
            }
            if config.discovery.enabled() {
                let method = if !config.discovery.pat.is_empty() {
                    "pat"
                } else if config.discovery.entra.is_some() {
                    "entra"
                } else {
                    "login"
                };
                println!("# discovery: {method}");
            }
            if let Err(e) = config.validate_for_serve() {
                eprintln!("warning: `serve` would refuse to start: {e}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Subscriptions(args) => {
            let config = Config::from_process_env(cli.config.as_deref())?;
            ado_ingest::telemetry::init_tracing(config.log_format);
            match args.command {
                ado_ingest::cli::subscriptions::SubscriptionsCommand::Sync(sync) => {
                    let dry_run = sync.dry_run;
                    let results = ado_ingest::cli::subscriptions::run(sync, &config).await?;
                    print!(
                        "{}",
                        ado_ingest::cli::subscriptions::table(&results, dry_run)
                    );
                }
                ado_ingest::cli::subscriptions::SubscriptionsCommand::List(list) => {
                    let results = ado_ingest::cli::subscriptions::run_list(list, &config).await?;
                    print!("{}", ado_ingest::cli::subscriptions::list_table(&results));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Login(args) => {
            let config = Config::from_process_env(cli.config.as_deref())?;
            let mut out = std::io::stdout();
            let path = ado_ingest::cli::login::run(args, &config, &mut out).await?;
            println!("signed in; the sign-in is stored at {path} (readable by this user only)");
            Ok(ExitCode::SUCCESS)
        }
        Command::Tail(args) => {
            let config = Config::from_process_env(cli.config.as_deref())?;
            let stop = CancellationToken::new();
            tokio::spawn(cancel_on_signal(stop.clone()));
            ado_ingest::cli::tail::run(args, &config, std::io::stdout().lock(), stop).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Store(args) => {
            ado_ingest::telemetry::init_tracing(ado_ingest::config::LogFormat::Text);
            match args.command {
                ado_ingest::cli::store::StoreCommand::Migrate(migrate) => {
                    let report = ado_ingest::cli::store::migrate(migrate).await?;
                    print!("{}", ado_ingest::cli::store::summary(&report));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Backfill(args) => {
            // In-process needs the configuration; with --server it only supplies the admin token.
            let config = Config::from_process_env(cli.config.as_deref());
            let job = ado_ingest::cli::backfill::run(args, config).await?;
            Ok(ExitCode::from(ado_ingest::cli::backfill::exit_code(
                job.job.state,
            )))
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    config.validate_for_serve()?;
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    ado_ingest::app::run(config, listener, shutdown).await
}

/// Cancels on SIGTERM or SIGINT (Ctrl-C).
async fn cancel_on_signal(shutdown: CancellationToken) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received");
    shutdown.cancel();
}
