//! `ado-sim`: the simulated Azure DevOps organization on its own (`ado-ingest sim` is the same).

use clap::Parser;

/// Run a simulated Azure DevOps organization (REST API + service hooks) on a port.
#[derive(Parser)]
#[command(name = "ado-sim", version)]
struct Cli {
    #[command(flatten)]
    args: ado_sim::cli::SimArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    ado_sim::cli::run_sim(Cli::parse().args).await
}
