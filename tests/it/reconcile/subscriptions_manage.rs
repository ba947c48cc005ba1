//! `subscriptions list` and `sync --prune` against the simulated Azure DevOps: the list shows
//! ours as the simulator holds them; pruning deletes only ours that are no longer wanted; a 429
//! while listing makes `sync` fail without creating anything, so no run makes a duplicate; an
//! organization with `projects` gets project-scoped subscriptions.

use std::collections::BTreeMap;

use crate::support::reconcile::*;
use ado_ingest::ado::events::EVENT_KINDS;
use ado_ingest::cli::subscriptions::{ListArgs, run_list};
use ado_ingest::config::{Config, HookCredential, Secret};
use ado_ingest::reconcile::subscriptions::{SyncAction, SyncOptions, sync};
use ado_sim::{SubscriptionRequest, SubscriptionStatus};

const HOOK_URL: &str = "http://ingest.example.test/hooks";

fn credential() -> HookCredential {
    HookCredential {
        username: USER.into(),
        password: Secret::new(PASSWORD),
    }
}

fn opts<'a>(cred: &'a HookCredential, projects: &'a [String], prune: bool) -> SyncOptions<'a> {
    SyncOptions {
        hook_url: HOOK_URL,
        credential: Some(cred),
        projects,
        dry_run: false,
        prune,
    }
}

fn per_type(sim: &ado_sim::Simulator) -> BTreeMap<(String, Option<String>), usize> {
    let mut out = BTreeMap::new();
    for s in sim
        .subscriptions("contoso")
        .into_iter()
        .filter(|s| s.url == HOOK_URL)
    {
        *out.entry((s.event_type, s.project_id)).or_default() += 1;
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_prune_throttled_listing_and_project_scopes() {
    let sim = start_sim(fast_sim(52)).await;
    let org = org_config(&sim, "contoso");
    let client = fast_client(&org);
    let cred = credential();

    // A 429 on the filtered list: sync fails and creates nothing; the next run creates each once.
    sim.refuse_route("hooks/subscriptionsquery", 429);
    let err = sync(&client, opts(&cred, &[], false)).await.unwrap_err();
    assert!(err.to_string().contains("429"), "{err}");
    assert!(
        sim.subscriptions("contoso").is_empty(),
        "nothing created from no list"
    );
    sim.clear_refusals();
    sync(&client, opts(&cred, &[], false)).await.unwrap();
    sync(&client, opts(&cred, &[], false)).await.unwrap();
    let counts = per_type(&sim);
    assert_eq!(counts.len(), EVENT_KINDS.len());
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");

    // Someone else's subscription, one of ours a second time, and one of ours for a scope not
    // configured (one project, where the organization is subscribed as a whole).
    let other = sim
        .create_subscription(
            "contoso",
            SubscriptionRequest::webhook("git.push", "https://elsewhere.example/hook"),
        )
        .unwrap();
    let second = sim
        .create_subscription(
            "contoso",
            SubscriptionRequest::webhook("git.push", HOOK_URL),
        )
        .unwrap();
    let some_project = sim.orgs()[0].projects[1].0.clone();
    let stray = sim
        .create_subscription(
            "contoso",
            SubscriptionRequest::webhook("build.complete", HOOK_URL)
                .publisher_input("projectId", &some_project),
        )
        .unwrap();
    let ours_before = sim
        .subscriptions("contoso")
        .iter()
        .filter(|s| s.url == HOOK_URL)
        .count();

    // `list` shows ours (not the other), with their status.
    let first = sim
        .subscriptions("contoso")
        .into_iter()
        .find(|s| s.url == HOOK_URL && s.event_type == "workitem.updated")
        .unwrap();
    sim.set_subscription_status("contoso", &first.id, SubscriptionStatus::DisabledBySystem)
        .unwrap();
    let mut cfg = Config {
        organizations: vec![org.clone()],
        hook_credentials: vec![cred.clone()],
        ..Config::default()
    };
    cfg.reconcile.hook_url = HOOK_URL.into();
    let listed = run_list(
        ListArgs {
            orgs: vec![],
            hook_url: None,
        },
        &cfg,
    )
    .await
    .unwrap();
    let rows = &listed[0].1;
    assert_eq!(rows.len(), ours_before);
    assert!(rows.iter().all(|r| r.id != other));
    let row = rows.iter().find(|r| r.id == first.id).unwrap();
    assert_eq!(row.status, "disabledBySystem");
    assert_eq!(row.project, None);
    let table = ado_ingest::cli::subscriptions::list_table(&listed);
    assert!(
        table.contains("disabledBySystem") && table.contains("(all projects)"),
        "{table}"
    );

    // Without --prune the unwanted are named, not deleted; with it, only they are deleted.
    let lines = sync(&client, opts(&cred, &[], false)).await.unwrap();
    let unwanted: Vec<&str> = lines
        .iter()
        .filter(|l| l.action == SyncAction::Unwanted)
        .filter_map(|l| l.subscription.as_deref())
        .collect();
    assert_eq!(unwanted.len(), 2, "{lines:?}");
    assert!(unwanted.contains(&stray.as_str()));
    assert_eq!(sim.subscriptions("contoso").len(), ours_before + 1);
    let lines = sync(&client, opts(&cred, &[], true)).await.unwrap();
    let pruned: Vec<&str> = lines
        .iter()
        .filter(|l| l.action == SyncAction::Pruned)
        .filter_map(|l| l.subscription.as_deref())
        .collect();
    assert_eq!(pruned.len(), 2, "{lines:?}");
    let left: Vec<String> = sim
        .subscriptions("contoso")
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert!(left.contains(&other), "someone else's subscription is kept");
    assert!(!left.contains(&stray));
    // Of the two git.push ones, one is kept (the enabled one); every type has exactly one.
    assert!(per_type(&sim).values().all(|n| *n == 1));
    assert_eq!(per_type(&sim).len(), EVENT_KINDS.len());
    let _ = second;

    // Scoped to one project: project-filtered subscriptions replace the organization-wide ones.
    let (project_id, project_name) = sim.orgs()[0].projects[0].clone();
    let projects = vec![project_name.clone()];
    let lines = sync(&client, opts(&cred, &projects, true)).await.unwrap();
    assert!(
        lines
            .iter()
            .filter(|l| l.action == SyncAction::Created)
            .all(|l| l.project.as_deref() == Some(project_name.as_str())),
        "{lines:?}"
    );
    let counts = per_type(&sim);
    assert_eq!(counts.len(), EVENT_KINDS.len(), "{counts:?}");
    assert!(
        counts
            .keys()
            .all(|(_, p)| p.as_deref().map(str::to_ascii_lowercase)
                == Some(project_id.to_ascii_lowercase())),
        "{counts:?}"
    );
    // An unknown project is a clear error.
    let err = sync(&client, opts(&cred, &["Nope".to_string()], false))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Nope"), "{err}");
    sim.shutdown().await;
}
