//! `ado-ingest subscriptions sync` against the simulated Azure DevOps: creates one subscription
//! per event type, is idempotent, repairs what the system switched off, respects what a user
//! switched off, skips what a Server does not raise, and changes nothing in a dry run.

use crate::support::reconcile::*;
use ado_ingest::ado::events::EVENT_KINDS;
use ado_ingest::cli::subscriptions::{SyncArgs, run};
use ado_ingest::config::{Config, HookCredential, Secret};
use ado_ingest::reconcile::subscriptions::SyncAction;
use ado_sim::{OrgSpec, SimConfig, SubscriptionStatus};

const HOOK_URL: &str = "http://ingest.example.test/hooks";

fn config(orgs: Vec<ado_ingest::config::OrganizationConfig>) -> Config {
    let mut c = Config {
        organizations: orgs,
        hook_credentials: vec![HookCredential {
            username: USER.into(),
            password: Secret::new(PASSWORD),
        }],
        ..Config::default()
    };
    c.reconcile.hook_url = HOOK_URL.into();
    c
}

fn args(org: &str, dry_run: bool) -> SyncArgs {
    SyncArgs {
        orgs: vec![org.into()],
        hook_url: None,
        dry_run,
        prune: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_creates_repairs_and_respects_user_choices() {
    let sim = start_sim(SimConfig {
        orgs: vec![
            OrgSpec::services("contoso"),
            OrgSpec::server("DefaultCollection"),
        ],
        ..fast_sim(51)
    })
    .await;
    let cfg = config(vec![
        org_config(&sim, "contoso"),
        org_config(&sim, "DefaultCollection"),
    ]);

    // First run: one subscription per event type, pinned resource version, our user.
    let first = run(args("contoso", false), &cfg).await.unwrap();
    let lines = &first[0].1;
    assert_eq!(lines.len(), EVENT_KINDS.len());
    assert!(
        lines.iter().all(|l| l.action == SyncAction::Created),
        "{lines:?}"
    );
    let subs = sim.subscriptions("contoso");
    assert_eq!(subs.len(), EVENT_KINDS.len());
    for kind in EVENT_KINDS {
        let s: Vec<_> = subs
            .iter()
            .filter(|s| s.event_type == kind.event_type)
            .collect();
        assert_eq!(s.len(), 1, "{}", kind.event_type);
        assert_eq!(
            s[0].resource_version.as_deref(),
            Some(kind.resource_versions[0])
        );
        assert_eq!(s[0].status, SubscriptionStatus::Enabled);
    }

    // Second run: nothing to do.
    let again = run(args("contoso", false), &cfg).await.unwrap();
    assert!(again[0].1.iter().all(|l| l.action == SyncAction::Unchanged));
    assert_eq!(sim.subscriptions("contoso").len(), EVENT_KINDS.len());

    // Switched off by the system: repaired. By a user: left alone.
    let by_system = subs[0].id.clone();
    let by_user = subs[1].id.clone();
    sim.set_subscription_status("contoso", &by_system, SubscriptionStatus::DisabledBySystem)
        .unwrap();
    sim.set_subscription_status("contoso", &by_user, SubscriptionStatus::DisabledByUser)
        .unwrap();
    let third = run(args("contoso", false), &cfg).await.unwrap();
    for l in &third[0].1 {
        let id = l.subscription.as_deref().unwrap();
        let expected = if id == by_system {
            SyncAction::Repaired(vec!["status disabledBySystem".into()])
        } else if id == by_user {
            SyncAction::DisabledByUser
        } else {
            SyncAction::Unchanged
        };
        assert_eq!(l.action, expected, "{}", l.event_type);
    }
    let status_of = |id: &str| sim.subscription("contoso", id).unwrap().status;
    assert_eq!(status_of(&by_system), SubscriptionStatus::Enabled);
    assert_eq!(status_of(&by_user), SubscriptionStatus::DisabledByUser);

    // A Server collection, dry run: what would be created, nothing created; job events are
    // Services-only.
    let dry = run(args("DefaultCollection", true), &cfg).await.unwrap();
    let lines = &dry[0].1;
    for kind in EVENT_KINDS {
        let l = lines
            .iter()
            .find(|l| l.event_type == kind.event_type)
            .unwrap();
        let expected = if kind.on_server {
            SyncAction::Created
        } else {
            SyncAction::NotOnServer
        };
        assert_eq!(l.action, expected, "{}", kind.event_type);
    }
    assert!(EVENT_KINDS.iter().any(|k| !k.on_server));
    assert!(sim.subscriptions("DefaultCollection").is_empty());

    // Without a hook URL there is nothing to subscribe.
    let mut no_url = cfg.clone();
    no_url.reconcile.hook_url.clear();
    let err = run(args("contoso", false), &no_url).await.unwrap_err();
    assert!(err.to_string().contains("hook_url"), "{err}");
    sim.shutdown().await;
}
