//! Subscriptions Azure DevOps switched off are switched back on: with `reconcile.hook_url` set, a
//! pass re-enables the web-hook subscriptions posting to this service that are on probation,
//! restoring the password from `hook_credentials` (here the subscriptions were created with a
//! stale one, so every delivery failed with 401), and hooks flow again.
//!
//! Needs RabbitMQ on 127.0.0.1:5672.

use std::time::Duration;

use crate::support::reconcile::*;
use ado_sim::{ActivitySpec, SubscriptionStatus};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_on_probation_are_reenabled_with_the_configured_password() {
    let sim = start_sim(fast_sim(41)).await;
    let org = org_config(&sim, "contoso");
    let server = start_server(server_options(vec![org], 50).hook_url_is_self()).await;
    let reconciler = server.reconcilers.find("contoso").unwrap().clone();
    // Another receiver's subscriptions (nothing listens there): not ours, never touched.
    let other = sim
        .subscribe_all("contoso", "http://127.0.0.1:9/elsewhere", None)
        .unwrap();
    let ours = sim
        .subscribe_all("contoso", &server.hooks_url(), Some((USER, "rotated-away")))
        .unwrap();

    // Every delivery is refused (401): each subscription that gets an event goes on probation.
    sim.generate(&ActivitySpec::new(60)).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let on_probation = loop {
        let n = sim
            .subscriptions("contoso")
            .iter()
            .filter(|s| ours.contains(&s.id) && s.status == SubscriptionStatus::OnProbation)
            .count();
        if n >= 5 || std::time::Instant::now() > deadline {
            break n;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(on_probation >= 5, "only {on_probation} on probation");

    // Of the other receiver's, those on probation now cannot recover by themselves.
    let others_off: Vec<String> = sim
        .subscriptions("contoso")
        .into_iter()
        .filter(|s| other.contains(&s.id) && s.status == SubscriptionStatus::OnProbation)
        .map(|s| s.id)
        .collect();
    assert!(!others_off.is_empty());

    reconciler.run_once().await.unwrap();
    let status = server.reconcilers.statuses().remove(0);
    let subs = status.subscriptions.expect("subscription check ran");
    assert_eq!(subs.ours, ours.len());
    assert!(subs.reenabled_total >= on_probation as u64, "{subs:?}");
    assert!(
        subs.unrepairable.is_empty() && subs.last_error.is_none(),
        "{subs:?}"
    );
    for s in sim.subscriptions("contoso") {
        if ours.contains(&s.id) {
            assert_ne!(
                s.status,
                SubscriptionStatus::OnProbation,
                "{} still on probation",
                s.id
            );
        } else if others_off.contains(&s.id) {
            // Not ours: left as Azure DevOps set it.
            assert_ne!(s.status, SubscriptionStatus::Enabled, "{} re-enabled", s.id);
        }
    }
    // Their probation retries would keep deliveries from settling for a long time.
    for id in &other {
        sim.delete_subscription("contoso", id).unwrap();
    }

    // Hooks flow again: new changes are delivered (accepted with the restored password).
    let first_new = sim.truth().len();
    sim.generate(&ActivitySpec::new(30)).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let new_delivered = loop {
        let n = sim.truth()[first_new..]
            .iter()
            .filter(|t| t.org == "contoso" && t.delivery.delivered > 0)
            .count();
        if n >= 5 || std::time::Instant::now() > deadline {
            break n;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        new_delivered >= 5,
        "only {new_delivered} new changes delivered by hook"
    );
    sim.shutdown().await;
    server.stop().await;
}
