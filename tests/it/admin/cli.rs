//! `ado-ingest backfill --server URL` (the real binary) against an admin server on 127.0.0.1:0
//! whose runner walks an in-test engine: success, refusals, and Ctrl-C cancelling the job.

use std::process::Stdio;
use std::time::{Duration, Instant};

use ado_ingest::jobs::JobState;
use tokio::process::Command;
use tokio_util::sync::CancellationToken;

use crate::support::admin::*;

async fn serve(router: axum::Router) -> (String, CancellationToken) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let stop = CancellationToken::new();
    let s = stop.clone();
    tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(s.cancelled_owned())
            .await
    });
    (base, stop)
}

fn backfill(base: &str, token: &str, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ado-ingest"));
    cmd.args([
        "backfill",
        "--server",
        base,
        "--since",
        "2025-01-01T00:00:00Z",
    ])
    .args(extra)
    .env_remove("ADO_INGEST_CONFIG")
    .env("ADO_INGEST_ADMIN_TOKEN", token)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    cmd
}

#[tokio::test]
async fn the_command_follows_a_server_side_backfill_to_success() {
    let dir = tempfile::tempdir().unwrap();
    let engine = ListEngine::free(8, 1, Duration::from_millis(150));
    let on = admin(open_store(dir.path()).await, TOKEN, engine.clone()).await;
    let (base, stop) = serve(on.router.clone()).await;

    let out = backfill(
        &base,
        TOKEN,
        &["--org", "fabrikam", "--stream", "git", "--stream", "builds"],
    )
    .output()
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // stderr is not a terminal: plain lines, the first as soon as the job runs, then the summary.
    assert!(stderr.contains(" running — git: pages "), "{stderr}");
    assert!(
        stderr.contains("succeeded in ")
            && stderr.contains("pages 16 · objects 16 · published 16 · duplicates 0 · errors 0"),
        "{stderr}"
    );
    let jobs = on.runner.list().await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].state, JobState::Succeeded);
    assert!(stderr.contains(&jobs[0].id), "{stderr}");
    stop.cancel();
    on.shutdown().await;
}

#[tokio::test]
async fn refusals_are_reported_with_the_servers_reason_and_a_failure_exit() {
    let dir = tempfile::tempdir().unwrap();
    let on = admin(open_store(dir.path()).await, TOKEN, ListEngine::gated(1, 1)).await;
    let (base, stop) = serve(on.router.clone()).await;

    let cases: [(&str, &[&str], &str); 3] = [
        (
            "wrong-token",
            &["--org", "fabrikam"],
            "401 Unauthorized unauthorized",
        ),
        (
            TOKEN,
            &["--org", "contoso"],
            "unknown_organization: unknown organization \"contoso\"; configured: fabrikam, onprem",
        ),
        (
            TOKEN,
            &["--org", "fabrikam", "--stream", "wiki"],
            "unknown_stream",
        ),
    ];
    for (token, args, expected) in cases {
        let out = backfill(&base, token, args).output().await.unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    let out = backfill("ftp://example", TOKEN, &["--org", "fabrikam"])
        .output()
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("--server must be an http://"));
    assert!(on.runner.list().await.unwrap().is_empty());
    stop.cancel();
    on.shutdown().await;
}

#[cfg(unix)]
#[tokio::test]
async fn ctrl_c_cancels_the_job_on_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let engine = ListEngine::gated(10, 1);
    let on = admin(open_store(dir.path()).await, TOKEN, engine.clone()).await;
    let (base, stop) = serve(on.router.clone()).await;

    let child = backfill(&base, TOKEN, &["--org", "onprem", "--stream", "tfvc"])
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let id = loop {
        if let Some(job) = on.runner.list().await.unwrap().first()
            && job.state == JobState::Running
        {
            break job.id.clone();
        }
        assert!(Instant::now() < deadline, "the job never ran");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    engine.release(3);
    wait_job(&on.runner, &id, Duration::from_secs(20), |j| {
        j.totals().pages == 3
    })
    .await;
    // Let the command see the job running before interrupting it.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let kill = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("the command exits after Ctrl-C")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted: cancelling the backfill"),
        "{stderr}"
    );
    assert!(stderr.contains("cancelled in "), "{stderr}");
    let job = on.runner.get(&id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Cancelled);
    assert_eq!(job.totals().pages, 3);
    stop.cancel();
    on.shutdown().await;
}
