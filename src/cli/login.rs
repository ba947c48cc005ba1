//! `ado-ingest login`: signs a person in with Microsoft Entra ID (device-code flow) and stores
//! the refresh token in `login.token_file` (mode 0600) for organizations and discovery with
//! `login = true`.

use std::time::Duration;

use crate::ado::signin::device_login;
use crate::config::Config;

#[derive(clap::Args, Debug)]
pub struct LoginArgs {
    /// Where to store the sign-in. Default: `login.token_file`.
    #[arg(long)]
    pub token_file: Option<String>,
    /// How long to wait for the sign-in in the browser.
    #[arg(long, default_value = "15m", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

/// Runs the flow, printing the instructions to `out`; returns where the sign-in was stored.
pub async fn run(
    args: LoginArgs,
    config: &Config,
    out: &mut (dyn std::io::Write + Send),
) -> anyhow::Result<String> {
    let mut login = config.login.clone();
    if let Some(path) = args.token_file {
        login.token_file = path;
    }
    let http = reqwest::Client::builder()
        .user_agent(concat!("ado-ingest/", env!("CARGO_PKG_VERSION")))
        .timeout(Duration::from_secs(30))
        .build()?;
    let signed_in = device_login(&login, &http, out, args.timeout)
        .await
        .map_err(anyhow::Error::msg)?;
    signed_in
        .store(std::path::Path::new(&login.token_file))
        .map_err(anyhow::Error::msg)?;
    Ok(login.token_file)
}
