//! `ado-ingest tail` prints what arrives on the exchange through its own temporary queue: one
//! line per event with `--oneline`, only what its binding matches, and stops after `--limit`.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

use crate::support::process::push_hook;
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tail_prints_the_matching_events_one_line_each() {
    let server = TestServer::ready(ServerOptions::default()).await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_ado-ingest"))
        .args([
            "tail",
            "--binding",
            "*.*.git.push",
            "--oneline",
            "--limit",
            "2",
        ])
        .env_remove("ADO_INGEST_CONFIG")
        .env("ADO_INGEST_EXCHANGE", &server.exchange)
        .env("ADO_INGEST_AMQP_URL", amqp_url())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let listening = tokio::time::timeout(Duration::from_secs(20), stderr.next_line())
        .await
        .expect("tail starts")
        .unwrap()
        .unwrap_or_default();
    assert!(listening.contains("listening on"), "{listening}");

    let mut ids = Vec::new();
    for n in [11, 12] {
        let (status, body) = server.post(&push_hook(n)).await;
        assert_eq!(status, 202, "{body}");
        ids.push(body["id"].as_str().unwrap().to_string());
    }
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("tail stops after --limit")
        .unwrap();
    assert!(status.success());
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .await
        .unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    for (line, id) in lines.iter().zip(&ids) {
        assert!(
            line.contains(" git.push ") && line.contains(id.as_str()),
            "{line}"
        );
    }
}
