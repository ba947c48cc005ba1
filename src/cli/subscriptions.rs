//! `ado-ingest subscriptions sync`: creates and repairs, in every configured organization, the
//! web-hook subscriptions that post to this service (`reconcile.hook_url`), and prints what it did.

use anyhow::{Context, bail};

use crate::ado::{ClientOptions, OrgClient};
use crate::config::Config;
use crate::reconcile::subscriptions::{SyncAction, SyncLine, sync};

#[derive(clap::Args, Debug)]
pub struct SubscriptionsArgs {
    #[command(subcommand)]
    pub command: SubscriptionsCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum SubscriptionsCommand {
    /// One enabled web-hook subscription per event type in each organization, posting to this
    /// service with its first `hook_credentials` user: missing ones are created, drifted ones
    /// (probation, disabled by the system, another URL, resource version or user) repaired.
    Sync(SyncArgs),
}

#[derive(clap::Args, Debug)]
pub struct SyncArgs {
    /// Only these organizations (configured name or URL; repeatable). Default: all.
    #[arg(long = "org")]
    pub orgs: Vec<String>,
    /// The URL Azure DevOps posts to. Default: `reconcile.hook_url`.
    #[arg(long)]
    pub hook_url: Option<String>,
    /// Show what would change without changing anything.
    #[arg(long)]
    pub dry_run: bool,
}

/// Syncs every chosen organization; returns the lines per organization name.
pub async fn run(args: SyncArgs, config: &Config) -> anyhow::Result<Vec<(String, Vec<SyncLine>)>> {
    let hook_url = args
        .hook_url
        .clone()
        .unwrap_or_else(|| config.reconcile.hook_url.clone());
    if hook_url.trim().is_empty() {
        bail!(
            "no hook URL: set reconcile.hook_url (ADO_INGEST_RECONCILE_HOOK_URL) or pass --hook-url"
        );
    }
    let credential = config.hook_credentials.first();
    if credential.is_none() && !config.allow_anonymous_hooks {
        bail!(
            "no hook_credentials: the subscriptions would post without the Basic credentials `serve` requires"
        );
    }
    let chosen: Vec<_> = config
        .organizations
        .iter()
        .filter(|o| {
            args.orgs.is_empty()
                || args.orgs.iter().any(|w| {
                    let w = w.trim().trim_end_matches('/');
                    o.name().eq_ignore_ascii_case(w)
                        || o.url.trim().trim_end_matches('/').eq_ignore_ascii_case(w)
                })
        })
        .collect();
    if chosen.is_empty() {
        bail!("no [[organizations]] configured (or none matches --org)");
    }
    let mut out = Vec::new();
    for org in chosen {
        let client = OrgClient::new(org, ClientOptions::for_org(org))
            .with_context(|| format!("cannot set up the REST client of {}", org.name()))?;
        let lines = sync(&client, hook_url.trim(), credential, args.dry_run)
            .await
            .with_context(|| format!("{}: subscriptions sync failed", org.name()))?;
        out.push((org.name(), lines));
    }
    Ok(out)
}

/// The printed report: one row per organization and event type.
pub fn table(results: &[(String, Vec<SyncLine>)], dry_run: bool) -> String {
    let mut s = String::new();
    if dry_run {
        s.push_str("dry run: nothing was changed\n");
    }
    for (org, lines) in results {
        s.push_str(&format!("{org}\n"));
        for l in lines {
            s.push_str(&format!(
                "  {:<36} {:<38} {}\n",
                l.event_type,
                l.subscription.as_deref().unwrap_or("-"),
                l.action
            ));
        }
        let changed = lines
            .iter()
            .filter(|l| matches!(l.action, SyncAction::Created | SyncAction::Repaired(_)))
            .count();
        s.push_str(&format!("  {changed} of {} changed\n", lines.len()));
    }
    s
}
