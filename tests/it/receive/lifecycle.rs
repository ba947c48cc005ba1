//! Process lifecycle under load: SIGKILL loses nothing that was answered 2xx (after a restart on the
//! same store), SIGTERM drains before exiting.

use std::collections::HashMap;
use std::time::Duration;

use crate::support::process::{Load, ServeProcess, free_port};
use crate::support::*;

fn assert_each_once(accepted: &[String], got: &[Received]) {
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
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "published more than once: {twice:?}");
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
    assert_each_once(&accepted, &got);
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
    assert_each_once(&accepted, &got);
}
