//! `ado-ingest subscriptions sync | list`: creates, repairs and (with `--prune`) deletes, in every
//! configured organization, the web-hook subscriptions that post to this service
//! (`reconcile.hook_url`), and prints what it did; `list` shows them with their health.

use anyhow::{Context, bail};

use crate::ado::{ClientOptions, OrgClient};
use crate::config::Config;
use crate::reconcile::subscriptions::{
    ListedSubscription, SyncAction, SyncLine, SyncOptions, list, sync,
};

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
    /// With `projects` set on an organization, one per event type and project.
    Sync(SyncArgs),
    /// The subscriptions posting to this service: event type, project scope, status, probation
    /// retries and the last failed delivery.
    List(ListArgs),
}

#[derive(clap::Args, Debug)]
pub struct ListArgs {
    /// Only these organizations (configured name or URL; repeatable). Default: all.
    #[arg(long = "org")]
    pub orgs: Vec<String>,
    /// The URL Azure DevOps posts to. Default: `reconcile.hook_url`.
    #[arg(long)]
    pub hook_url: Option<String>,
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
    /// Also delete ours (posting to the hook URL) that are no longer wanted: other event types,
    /// other project scopes, second ones for one type and scope. Others are never touched.
    #[arg(long)]
    pub prune: bool,
}

fn hook_url_of(arg: &Option<String>, config: &Config) -> anyhow::Result<String> {
    let url = arg
        .clone()
        .unwrap_or_else(|| config.reconcile.hook_url.clone());
    if url.trim().is_empty() {
        bail!(
            "no hook URL: set reconcile.hook_url (ADO_INGEST_RECONCILE_HOOK_URL) or pass --hook-url"
        );
    }
    Ok(url.trim().to_string())
}

fn chosen<'a>(
    config: &'a Config,
    wanted: &[String],
) -> anyhow::Result<Vec<&'a crate::config::OrganizationConfig>> {
    let chosen: Vec<_> = config
        .organizations
        .iter()
        .filter(|o| {
            wanted.is_empty()
                || wanted.iter().any(|w| {
                    let w = w.trim().trim_end_matches('/');
                    o.name().eq_ignore_ascii_case(w)
                        || o.url.trim().trim_end_matches('/').eq_ignore_ascii_case(w)
                })
        })
        .collect();
    if chosen.is_empty() {
        bail!("no [[organizations]] configured (or none matches --org)");
    }
    Ok(chosen)
}

/// Lists every chosen organization's subscriptions to this service.
pub async fn run_list(
    args: ListArgs,
    config: &Config,
) -> anyhow::Result<Vec<(String, Vec<ListedSubscription>)>> {
    let hook_url = hook_url_of(&args.hook_url, config)?;
    let mut out = Vec::new();
    for org in chosen(config, &args.orgs)? {
        let client = OrgClient::new(org, ClientOptions::for_org(org))
            .with_context(|| format!("cannot set up the REST client of {}", org.name()))?;
        let subs = list(&client, &hook_url)
            .await
            .with_context(|| format!("{}: cannot list the subscriptions", org.name()))?;
        out.push((org.name(), subs));
    }
    Ok(out)
}

/// The `list` table: organization, event type, project scope, status, probation retries, last
/// failure.
pub fn list_table(results: &[(String, Vec<ListedSubscription>)]) -> String {
    let mut s = format!(
        "{:<16} {:<44} {:<20} {:<18} {:>9}  {}\n",
        "organization", "event type", "project", "status", "probation", "last failure"
    );
    for (org, subs) in results {
        if subs.is_empty() {
            s.push_str(&format!(
                "{org:<16} (no subscription posts to this service)\n"
            ));
        }
        for l in subs {
            s.push_str(&format!(
                "{:<16} {:<44} {:<20} {:<18} {:>9}  {}\n",
                org,
                l.event_type,
                l.project.as_deref().unwrap_or("(all projects)"),
                l.status,
                l.probation_retries,
                l.last_failure.as_deref().unwrap_or("-")
            ));
        }
    }
    s
}

/// Syncs every chosen organization; returns the lines per organization name.
pub async fn run(args: SyncArgs, config: &Config) -> anyhow::Result<Vec<(String, Vec<SyncLine>)>> {
    let hook_url = hook_url_of(&args.hook_url, config)?;
    let credential = config.hook_credentials.first();
    if credential.is_none() && !config.allow_anonymous_hooks {
        bail!(
            "no hook_credentials: the subscriptions would post without the Basic credentials `serve` requires"
        );
    }
    let mut out = Vec::new();
    for org in chosen(config, &args.orgs)? {
        let client = OrgClient::new(org, ClientOptions::for_org(org))
            .with_context(|| format!("cannot set up the REST client of {}", org.name()))?;
        let opts = SyncOptions {
            hook_url: &hook_url,
            credential,
            projects: &org.projects,
            dry_run: args.dry_run,
            prune: args.prune,
        };
        let lines = sync(&client, opts)
            .await
            .with_context(|| format!("{}: subscriptions sync failed (nothing was created from an incomplete list; run it again)", org.name()))?;
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
                "  {:<44} {:<20} {:<38} {}\n",
                l.event_type,
                l.project.as_deref().unwrap_or("(all projects)"),
                l.subscription.as_deref().unwrap_or("-"),
                l.action
            ));
        }
        let changed = lines
            .iter()
            .filter(|l| {
                matches!(
                    l.action,
                    SyncAction::Created | SyncAction::Repaired(_) | SyncAction::Pruned
                )
            })
            .count();
        s.push_str(&format!("  {changed} of {} changed\n", lines.len()));
    }
    s
}
