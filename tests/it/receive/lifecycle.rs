//! Process lifecycle under load: SIGKILL loses nothing that was answered 2xx (after a restart on the
//! same store) and republishes at most the sends it had not seen confirmed; SIGTERM drains before
//! exiting, exactly once.

use std::collections::HashMap;
use std::time::Duration;

use crate::support::process::{Load, ServeProcess, free_port};
use crate::support::*;

/// What the publisher can have sent and not seen confirmed when it dies: one batch
/// (`publish.batch_size`, default 512). Only those are published again after a restart.
const CONFIRM_WINDOW: usize = 512;

/// Every accepted hook reached the exchange; an id appears twice at most, and at most
/// `twice_at_most` ids do (0: exactly once). Prints the counts.
fn assert_delivered(accepted: &[String], got: &[Received], twice_at_most: usize) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for m in got {
        *seen.entry(m.message_id.as_deref().unwrap()).or_default() += 1;
    }
    let missing: Vec<_> = accepted
        .iter()
        .filter(|id| !seen.contains_key(id.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} accepted hooks never reached the exchange: {missing:?}",
        missing.len()
    );
    let twice = seen.values().filter(|n| **n == 2).count();
    let more: Vec<_> = seen.iter().filter(|(_, n)| **n > 2).collect();
    println!(
        "{} hooks accepted, {} messages, {twice} ids twice",
        accepted.len(),
        got.len()
    );
    assert!(more.is_empty(), "published three times or more: {more:?}");
    assert!(
        twice <= twice_at_most,
        "{twice} ids published twice, more than {twice_at_most}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_stream_loses_no_accepted_hook() {
    let dir = tempfile::tempdir().unwrap();
    let exchange = unique("crash");
    let _topology = Topology::guard(&exchange);
    let log = dir.path().join("serve.log");
    let port = free_port();
    let mut first = ServeProcess::spawn(dir.path(), &exchange, port, &log);
    first.wait_ready().await;
    let mut tap = Tap::bind(&exchange).await;

    let load = Load::start(&first.base, 16, 1);
    load.wait_count(400).await;
    first.child.kill().unwrap(); // SIGKILL
    let _ = first.child.wait();
    let accepted = load.finish().await;
    assert!(accepted.len() >= 400);

    let mut second = ServeProcess::spawn(dir.path(), &exchange, port, &log);
    second.wait_ready().await;
    let got = tap
        .collect(
            accepted.len(),
            Duration::from_secs(3),
            Duration::from_secs(60),
        )
        .await;
    second.signal("TERM");
    let _ = second.child.wait();
    // Killed once: at most one confirm window is published again.
    assert_delivered(&accepted, &got, CONFIRM_WINDOW);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_drains_everything_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let exchange = unique("term");
    let _topology = Topology::guard(&exchange);
    let log = dir.path().join("serve.log");
    let mut server = ServeProcess::spawn(dir.path(), &exchange, free_port(), &log);
    server.wait_ready().await;
    let mut tap = Tap::bind(&exchange).await;

    let load = Load::start(&server.base, 16, 1_000_000);
    load.wait_count(400).await;
    server.signal("TERM");
    let status = tokio::task::spawn_blocking(move || server.child.wait().unwrap())
        .await
        .unwrap();
    let accepted = load.finish().await;
    assert!(
        status.success(),
        "exit status {status:?}; log: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let got = tap
        .collect(
            accepted.len(),
            Duration::from_secs(2),
            Duration::from_secs(30),
        )
        .await;
    // A drained shutdown leaves nothing unconfirmed: exactly once.
    assert_delivered(&accepted, &got, 0);
}
