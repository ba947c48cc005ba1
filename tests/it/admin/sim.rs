//! End to end against the simulated Azure DevOps with every hook dropped: a backfill started through
//! `POST /admin/backfills` on a real `serve` (and `ado-ingest backfill` in-process) publishes every
//! change REST can reproduce exactly once, and the job's counters agree with what reached the broker.
//! (Field-by-field exactness of each stream is the reconciler's tests' business.)

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use ado_ingest::config::OrganizationConfig;
use ado_sim::{ActivitySpec, FaultRates, Simulator};
use serde_json::{Value, json};

use crate::support::reconcile::{
    REST_COMPLETE, Tap, TestServer, Topology, expected, fast_sim, server_options, start_sim, unique,
};

const TOKEN: &str = "sim-admin-token";

/// Ground truth: event id → normalized type and summary, through the hook path.
fn truth_ids(sim: &Simulator) -> BTreeMap<String, String> {
    expected(&sim.truth())
        .into_iter()
        .map(|e| {
            let what = format!("{} {} at {}", e.event_type, e.truth.summary, e.truth.time);
            (e.id, what)
        })
        .collect()
}

/// Ids received on the tap until `quiet` passes without a message; panics on an id received twice.
async fn ids_once(tap: &mut Tap, quiet: Duration) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for (_, body) in tap.drain(quiet, Duration::from_secs(120)).await {
        let id = body["id"].as_str().unwrap().to_string();
        assert!(ids.insert(id.clone()), "{id} published twice");
    }
    ids
}

fn check_against_truth(
    published: &BTreeSet<String>,
    truth: &BTreeMap<String, String>,
    known_gap: &[&str],
) {
    for id in published {
        assert!(
            truth.contains_key(id),
            "published {id} is no change of the ground truth"
        );
    }
    let missing: Vec<_> = truth
        .iter()
        .filter(|(id, t)| {
            let ty = t.split(' ').next().unwrap_or_default();
            REST_COMPLETE.contains(&ty) && !known_gap.contains(&ty) && !published.contains(*id)
        })
        .collect();
    assert!(missing.is_empty(), "never published: {missing:?}");
}

fn org_config(sim: &Simulator) -> OrganizationConfig {
    let info = sim.orgs()[0].clone();
    OrganizationConfig::with_pat(info.base_url.trim_end_matches('/'), sim.pat())
}

async fn poll(url: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let v = ado_testkit::get_json(url, TOKEN).await;
        if check(&v) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {v:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_through_the_admin_api_publishes_every_change_whose_hook_was_dropped() {
    backfill_through_the_admin_api(22, &[]).await;
}

/// Seed 21 leaves a YAML run waiting for an approval: its completed first stage is in the REST
/// timeline while the run is still in progress, and the backfill must publish that state too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_finds_the_completed_stage_of_a_run_waiting_for_approval() {
    backfill_through_the_admin_api(21, &[]).await;
}

async fn backfill_through_the_admin_api(seed: u64, known_gap: &[&str]) {
    let sim = start_sim(fast_sim(seed)).await;
    let org = org_config(&sim);
    let server = TestServer::start(
        server_options(vec![org.clone()], 7).with("ADO_INGEST_ADMIN_TOKEN", TOKEN),
    )
    .await;
    let base = server.base.clone();

    // The periodic pass at start-up walks the (still quiet) organization; then the broker is up.
    let status = poll(&format!("{base}/admin/status"), "the first pass", |s| {
        s["broker"]["connected"] == true && s["organizations"][0]["last_pass_finished"].is_string()
    })
    .await;
    assert_eq!(status["organizations"][0]["organization"], org.name());
    let mut tap = Tap::bind(&server.exchange).await;
    let before = ids_once(&mut tap, Duration::from_secs(1)).await;

    // Activity whose every hook is lost.
    sim.set_faults(FaultRates {
        drop: 1.0,
        ..FaultRates::default()
    });
    sim.subscribe_all(
        &org.name(),
        &format!("{base}/hooks"),
        Some(("ado", "hook-secret")),
    )
    .unwrap();
    sim.generate(&ActivitySpec::new(60)).unwrap();
    sim.settle(Duration::from_secs(30)).await.unwrap();
    let truth = truth_ids(&sim);
    assert!(truth.len() >= 30, "{} changes", truth.len());

    let backfills = format!("{base}/admin/backfills");
    let window = json!({"organization": org.url, "since": "2000-01-01T00:00:00Z"});
    let created = ado_testkit::post_json(&backfills, TOKEN, &window).await;
    let id = created["id"].as_str().expect("a job id").to_string();
    let job = poll(
        &format!("{base}/admin/backfills/{id}"),
        "the backfill",
        |j| j["state"] != "queued" && j["state"] != "running",
    )
    .await;
    assert_eq!(job["state"], "succeeded", "{job:#}");
    let published = ids_once(&mut tap, Duration::from_secs(3)).await;

    assert!(published.is_disjoint(&before));
    let all: BTreeSet<String> = before.union(&published).cloned().collect();
    check_against_truth(&all, &truth, known_gap);
    // The job published exactly what reached the broker; what the first pass had already
    // published was skipped as a duplicate.
    let totals = &job["totals"];
    assert_eq!(
        totals["events_published"].as_u64().unwrap(),
        published.len() as u64,
        "{job:#}"
    );
    assert!(totals["duplicates_skipped"].as_u64().unwrap() >= before.len() as u64);
    assert!(
        totals["pages"].as_u64().unwrap() > 5,
        "small pages: {job:#}"
    );
    assert_eq!(totals["errors"], 0);

    // A second backfill of the same window finds only duplicates.
    let streams = json!({"organization": org.name(), "since": "2000-01-01T00:00:00Z", "streams": ["git", "workitems"]});
    let again = ado_testkit::post_json(&backfills, TOKEN, &streams).await;
    let url = format!("{base}/admin/backfills/{}", again["id"].as_str().unwrap());
    let job = poll(&url, "the second backfill", |j| {
        j["state"] == "succeeded" || j["state"] == "failed"
    })
    .await;
    assert_eq!(job["state"], "succeeded", "{job:#}");
    assert_eq!(job["totals"]["events_published"], 0, "{job:#}");
    assert!(job["totals"]["duplicates_skipped"].as_u64().unwrap() > 0);
    assert!(ids_once(&mut tap, Duration::from_secs(1)).await.is_empty());

    server.stop().await.expect("stopped in time").unwrap();
    sim.shutdown().await;
}

/// `ado-ingest backfill` without `--server`: the real binary on a configuration file runs the
/// reconciler in-process, publishes through its own publisher and drains the outbox before exiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_in_process_command_backfills_publishes_and_drains_the_outbox() {
    let sim = start_sim(fast_sim(23)).await;
    sim.generate(&ActivitySpec::new(40)).unwrap();
    sim.settle(Duration::from_secs(30)).await.unwrap();
    let truth = truth_ids(&sim);
    let org = org_config(&sim);
    let exchange = unique("admin-cli");
    let _topology = Topology::guard(&exchange);

    // The exchange must exist before the tap can be bound; the command's publisher declares the
    // same topology again.
    let conn = ado_testkit::broker::connect().await;
    let ch = conn.create_channel().await.unwrap();
    ado_ingest::publish::declare_topology(&ch, &exchange, false)
        .await
        .unwrap();
    let mut tap = Tap::bind(&exchange).await;

    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.sqlite");
    let config = dir.path().join("ado-ingest.toml");
    let toml = format!(
        "store = {store:?}\nexchange = {exchange:?}\namqp_url = {amqp_url:?}\n\
         [publish]\ninclude_raw = false\n[reconcile]\npage_size = 25\n\
         [[organizations]]\nurl = {:?}\npat = {:?}\n",
        org.url,
        sim.pat(),
        store = store.display().to_string(),
        amqp_url = ado_testkit::amqp_url(),
    );
    std::fs::write(&config, toml).unwrap();
    let out = tokio::time::timeout(
        Duration::from_secs(240),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_ado-ingest"))
            .arg("--config")
            .arg(&config)
            .args([
                "backfill",
                "--org",
                &org.name(),
                "--since",
                "2000-01-01T00:00:00Z",
            ])
            .env_remove("ADO_INGEST_CONFIG")
            .env_remove("ADO_INGEST_ADMIN_TOKEN")
            .stdin(std::process::Stdio::null())
            .output(),
    )
    .await
    .expect("the command finishes")
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("running in-process") && stderr.contains(" succeeded in "),
        "{stderr}"
    );

    let published = ids_once(&mut tap, Duration::from_secs(2)).await;
    check_against_truth(&published, &truth, &[]);
    // Everything it stored reached the broker before it exited, and its counters say so.
    let store = ado_ingest::store::open(&store.display().to_string(), 1000)
        .await
        .unwrap();
    assert_eq!(store.outbox_depth().await.unwrap(), 0);
    let jobs = ado_ingest::jobs::JobRecord::list(store.as_ref())
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].state, ado_ingest::jobs::JobState::Succeeded);
    assert_eq!(jobs[0].totals().events_published, published.len() as u64);
    assert_eq!(jobs[0].totals().errors, 0);

    let _ = conn.close(200, "bye".into()).await;
    sim.shutdown().await;
}

/// Degrade, never fail a job: with the recycle bin, `workitemsbatch` and the build definitions
/// each refused (403) or missing (404) in turn, a backfill through the admin API ends `succeeded`,
/// publishes every revision and build, and names the gap in the job, `GET /admin/status` and
/// `ado_ingest_reconcile_gaps_total` (a refused `workitemsbatch` is no gap: the list API stands in).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfills_with_an_auxiliary_call_refused_succeed_and_report_the_gap() {
    let sim = start_sim(fast_sim(24)).await;
    let org = org_config(&sim);
    let server = TestServer::start(
        server_options(vec![org.clone()], 50)
            .with("ADO_INGEST_ADMIN_TOKEN", TOKEN)
            .with("ADO_INGEST_RECONCILE_INTERVAL", "2s"),
    )
    .await;
    let base = server.base.clone();
    // The publisher declares the exchange once it is connected.
    poll(&format!("{base}/admin/status"), "the broker", |s| {
        s["broker"]["connected"] == true
    })
    .await;
    let mut tap = Tap::bind(&server.exchange).await;
    // Made once the tap listens: whatever a periodic pass publishes is seen too.
    sim.generate(&ActivitySpec::new(250)).unwrap();
    let truth = expected(&sim.truth());
    let cases: [(&str, &str, Option<&str>, &[&str]); 3] = [
        (
            "wit/recyclebin",
            "workitems",
            Some("deletions and restores are not recovered"),
            &["workitem.created", "workitem.commented"],
        ),
        (
            "wit/workitemsbatch",
            "workitems",
            None,
            &["workitem.created", "workitem.commented"],
        ),
        (
            "build/definitions",
            "builds",
            Some("pipeline run, stage and job state changes are not recovered"),
            &["build.completed"],
        ),
    ];
    let mut published: BTreeSet<String> = BTreeSet::new();
    for status in [403u16, 404] {
        for (route, stream, consequence, types) in cases {
            sim.clear_refusals();
            sim.refuse_route(route, status);
            let body = json!({"organization": org.name(), "since": "2000-01-01T00:00:00Z", "streams": [stream]});
            let created =
                ado_testkit::post_json(&format!("{base}/admin/backfills"), TOKEN, &body).await;
            let id = created["id"].as_str().expect("a job id").to_string();
            let job = poll(
                &format!("{base}/admin/backfills/{id}"),
                "the backfill",
                |j| j["state"] != "queued" && j["state"] != "running",
            )
            .await;
            let case = format!("{route} {status}");
            assert_eq!(job["state"], "succeeded", "{case}: {job:#}");
            let gaps: Vec<String> =
                serde_json::from_value(job["totals"]["gaps"].clone()).unwrap_or_default();
            let expected_gap = consequence.map(|c| format!("{route} refused ({status}): {c}"));
            assert_eq!(
                gaps,
                expected_gap.iter().cloned().collect::<Vec<_>>(),
                "{case}: {job:#}"
            );
            if let Some(gap) = &expected_gap {
                let metrics = reqwest::get(format!("{base}/metrics"))
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                assert!(
                    metrics
                        .lines()
                        .any(|l| l.starts_with("ado_ingest_reconcile_gaps_total")
                            && l.contains(&format!("stream=\"{stream}\""))),
                    "{case}: no gap counter for {stream}"
                );
                // The status board shows it once the next periodic pass met it too.
                poll(
                    &format!("{base}/admin/status"),
                    "the gap in the status",
                    |s| {
                        s["organizations"][0]["streams"][stream]["gaps"]
                            .as_array()
                            .is_some_and(|g| g.iter().any(|x| x == gap.as_str()))
                    },
                )
                .await;
            }
            published.extend(ids_once(&mut tap, Duration::from_secs(2)).await);
            let missing: Vec<&str> = truth
                .iter()
                .filter(|e| types.contains(&e.event_type.as_str()) && !published.contains(&e.id))
                .map(|e| e.truth.summary.as_str())
                .collect();
            assert!(missing.is_empty(), "{case}: not published: {missing:?}");
        }
    }
    server.stop().await.expect("stopped in time").unwrap();
    sim.shutdown().await;
}
