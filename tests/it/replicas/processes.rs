//! Two real `serve` processes on one PostgreSQL database and one exchange, as behind a load
//! balancer: hooks spread over both (some to both) while one is SIGKILLed and restarted; one
//! reconcile pass per interval between them and a takeover when the owner dies; a backfill that
//! its runner's death does not stop.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use ado_sim::{ActivitySpec, FaultRates, RateLimit, Simulator};
use serde_json::{Value, json};

use crate::support::process::{Load, ServeProcess, ServeSpec};
use crate::support::reconcile::{REST_COMPLETE, expected, fast_sim, start_sim};
use crate::support::*;

const TOKEN: &str = "replicas-admin-token";

/// The publisher's confirm window (`publish.batch_size`, default): what a replica can have sent
/// and not yet had confirmed when it is killed.
const CONFIRM_WINDOW: usize = 512;

/// A replica on the shared database; outbox claims expire 3 s after their holder stops renewing.
fn replica(db: &TestDatabase, exchange: &str, dir: &Path, name: &str) -> ServeSpec {
    ServeSpec::new(db.url.clone(), exchange, &dir.join(format!("{name}.log")))
        .with("ADO_INGEST_REPLICA_ID", name)
        .with("ADO_INGEST_POSTGRES_CLAIM_LEASE", "3s")
        .with("ADO_INGEST_POSTGRES_POOL_SIZE", "4")
        .with("ADO_INGEST_ADMIN_TOKEN", TOKEN)
}

/// A config file naming the simulated organization.
fn org_config_file(sim: &Simulator, dir: &Path) -> std::path::PathBuf {
    let org = &sim.orgs()[0];
    let path = dir.join("ado-ingest.toml");
    let toml = format!(
        "[publish]\ninclude_raw = false\n[reconcile]\npage_size = 5\n\
         [[organizations]]\nurl = {:?}\npat = {:?}\nmax_concurrency = 2\n",
        org.base_url.trim_end_matches('/'),
        sim.pat(),
    );
    std::fs::write(&path, toml).unwrap();
    path
}

fn logs(dir: &Path) -> String {
    ["a", "b"]
        .iter()
        .map(|n| {
            let text = std::fs::read_to_string(dir.join(format!("{n}.log"))).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(30).collect();
            format!(
                "--- {n}.log (last lines) ---\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn admin_get(base: &str, path: &str) -> Value {
    get_json(&format!("{base}{path}"), TOKEN).await
}

/// Polls `GET {base}{path}` until `check` holds.
async fn poll(base: &str, path: &str, within: Duration, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let v = admin_get(base, path).await;
        if check(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out polling {path}: {v:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_spread_over_two_replicas_survive_a_sigkill_of_one() {
    let db = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let exchange = unique("replicas");
    let _topology = Topology::guard(&exchange);
    let mut a = ServeProcess::start(replica(&db, &exchange, dir.path(), "a"));
    let mut b = ServeProcess::start(replica(&db, &exchange, dir.path(), "b"));
    a.wait_ready().await;
    b.wait_ready().await;
    let mut tap = Tap::bind(&exchange).await;

    // Every fifth hook goes to both replicas at once; the rest alternate.
    let load = Load::spread(&[a.base.clone(), b.base.clone()], 16, 1, Some(5));
    load.wait_count(600).await;
    a.kill();
    // b takes everything (the load balancer's retry) and a's claims once their lease expires.
    load.wait_count(1_000).await;
    let mut a = a.restart();
    a.wait_ready().await;
    load.wait_count(1_400).await;
    let accepted: BTreeSet<String> = load.finish().await.into_iter().collect();

    let got = tap
        .collect(
            accepted.len(),
            Duration::from_secs(3),
            Duration::from_secs(90),
        )
        .await;
    let (a_status, b_status) = (a.terminate().await, b.terminate().await);
    assert!(
        a_status.success() && b_status.success(),
        "{}",
        logs(dir.path())
    );
    let mut times: BTreeMap<&str, usize> = BTreeMap::new();
    for m in &got {
        *times.entry(m.message_id.as_deref().unwrap()).or_default() += 1;
    }
    let missing: Vec<&String> = accepted
        .iter()
        .filter(|id| !times.contains_key(id.as_str()))
        .collect();
    let twice = times.values().filter(|n| **n == 2).count();
    let more = times.values().filter(|n| **n > 2).count();
    println!(
        "replicas: {} hooks answered 2xx, {} messages, {} ids twice, {} ids more often",
        accepted.len(),
        got.len(),
        twice,
        more
    );
    assert!(
        missing.is_empty(),
        "{} accepted hooks never reached the exchange: {:?}\n{}",
        missing.len(),
        &missing[..missing.len().min(10)],
        logs(dir.path())
    );
    assert!(
        times.keys().all(|id| accepted.contains(*id)),
        "a message no replica accepted"
    );
    // The documented bound: only sends unconfirmed when a replica died are published again, once.
    assert_eq!(more, 0, "an id published three times or more");
    assert!(
        twice <= CONFIRM_WINDOW,
        "{twice} ids published twice: more than one confirm window for one kill"
    );
}

/// Calls of the route every reconcile pass makes exactly once (the project list).
fn passes(sim: &Simulator) -> u64 {
    sim.rest_calls(&sim.orgs()[0].name)
        .get("projects")
        .copied()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_run_one_pass_per_interval_and_the_survivor_takes_over() {
    let sim = start_sim(fast_sim(71)).await;
    let db = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let exchange = unique("replicas");
    let _topology = Topology::guard(&exchange);
    let config = org_config_file(&sim, dir.path());
    let interval = Duration::from_secs(2);
    let spec = |name: &str| ServeSpec {
        config: Some(config.clone()),
        ..replica(&db, &exchange, dir.path(), name).with("ADO_INGEST_RECONCILE_INTERVAL", "2s")
    };
    let mut replicas = vec![
        ServeProcess::start(spec("a")),
        ServeProcess::start(spec("b")),
    ];
    for r in &mut replicas {
        r.wait_ready().await;
    }
    // Both agree on one owner.
    let status = poll(
        &replicas[0].base,
        "/admin/status",
        Duration::from_secs(20),
        |s| s["organizations"][0]["owner"].is_string(),
    )
    .await;
    let owner = status["organizations"][0]["owner"]
        .as_str()
        .unwrap()
        .to_string();
    let other = poll(
        &replicas[1].base,
        "/admin/status",
        Duration::from_secs(20),
        |s| s["organizations"][0]["owner"].is_string(),
    )
    .await;
    assert_eq!(other["organizations"][0]["owner"], owner.as_str());
    let owned_here: Vec<bool> = [&status, &other]
        .iter()
        .map(|s| s["organizations"][0]["owned_here"] == true)
        .collect();
    assert_eq!(
        owned_here.iter().filter(|o| **o).count(),
        1,
        "{owned_here:?}"
    );

    // Over five intervals: five passes (give or take the one at a boundary), not ten.
    let before = passes(&sim);
    tokio::time::sleep(interval * 5).await;
    let during = passes(&sim) - before;
    println!("passes in 5 intervals with two replicas: {during}");
    assert!(
        (4..=6).contains(&during),
        "{during} passes in five intervals\n{}",
        logs(dir.path())
    );

    // SIGKILL the owner: the survivor runs the next pass within one interval plus the lock's
    // release (PostgreSQL drops the dead session's advisory lock when its connection closes).
    let owner_index = replicas
        .iter()
        .position(|r| {
            r.spec
                .env
                .iter()
                .any(|(k, v)| k == "ADO_INGEST_REPLICA_ID" && *v == owner)
        })
        .unwrap();
    let mut dead = replicas.remove(owner_index);
    let survivor = replicas.remove(0);
    let at_kill = passes(&sim);
    let killed = Instant::now();
    dead.kill();
    let took_over = loop {
        if passes(&sim) > at_kill {
            break killed.elapsed();
        }
        assert!(
            killed.elapsed() < interval * 3 + Duration::from_secs(5),
            "no takeover\n{}",
            logs(dir.path())
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    println!("takeover after SIGKILL of the owner: {took_over:?} (interval {interval:?})");
    assert!(
        took_over <= interval + Duration::from_secs(2),
        "takeover took {took_over:?}"
    );
    let status = poll(
        &survivor.base,
        "/admin/status",
        Duration::from_secs(5),
        |s| s["organizations"][0]["owned_here"] == true,
    )
    .await;
    assert_eq!(status["organizations"][0]["owner"], status["replica"]);
    assert!(survivor.terminate().await.success());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_started_on_one_replica_finishes_on_the_other() {
    let sim = start_sim(fast_sim(73)).await;
    let db = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let exchange = unique("replicas");
    let _topology = Topology::guard(&exchange);
    let config = org_config_file(&sim, dir.path());
    let spec = |name: &str| ServeSpec {
        config: Some(config.clone()),
        ..replica(&db, &exchange, dir.path(), name).with("ADO_INGEST_RECONCILE_INTERVAL", "1h")
    };
    let mut a = ServeProcess::start(spec("a"));
    let mut b = ServeProcess::start(spec("b"));
    a.wait_ready().await;
    b.wait_ready().await;
    let mut tap = Tap::bind(&exchange).await;

    // History whose hooks were all lost, served slowly (a throttled identity), so the job is
    // mid-way when its runner dies.
    sim.set_faults(FaultRates {
        drop: 1.0,
        ..FaultRates::default()
    });
    sim.generate(&ActivitySpec::new(100)).unwrap();
    sim.set_rate_limit(Some(RateLimit {
        budget: 20.0,
        window: Duration::from_secs(1),
        cost_per_request: 1.0,
        block_at: 1e9,
        delay_per_unit: Duration::from_millis(25),
        max_delay: Duration::from_millis(80),
    }));
    let org = sim.orgs()[0].name.to_ascii_lowercase();
    let window = json!({"organization": org, "since": "2000-01-01T00:00:00Z"});
    let created = post_json(&format!("{}/admin/backfills", a.base), TOKEN, &window).await;
    let id = created["id"].as_str().expect("a job id").to_string();
    let job_path = format!("/admin/backfills/{id}");
    let running = poll(&a.base, &job_path, Duration::from_secs(60), |j| {
        j["totals"]["events_published"].as_u64().unwrap_or(0) > 0
            || j["state"] != "running" && j["state"] != "queued"
    })
    .await;
    assert_eq!(
        running["state"], "running",
        "the job finished before the kill: {running:#}"
    );
    a.kill();

    let done = poll(&b.base, &job_path, Duration::from_secs(180), |j| {
        j["state"] == "succeeded" || j["state"] == "failed"
    })
    .await;
    assert_eq!(done["state"], "succeeded", "{done:#}\n{}", logs(dir.path()));
    assert!(
        done["runs"].as_u64().unwrap_or(0) >= 2,
        "resumed, not restarted: {done:#}"
    );

    // The runner was SIGKILLed: what its publisher had sent but not seen confirmed is sent again
    // by the other replica, once, and never more than one confirm window of it.
    let mut published: BTreeSet<String> = BTreeSet::new();
    let mut twice: BTreeMap<String, usize> = BTreeMap::new();
    for (_, body) in tap
        .drain(Duration::from_secs(3), Duration::from_secs(90))
        .await
    {
        let id = body["id"].as_str().unwrap().to_string();
        if !published.insert(id.clone()) {
            *twice.entry(id).or_default() += 1;
        }
    }
    assert!(
        twice.values().all(|n| *n == 1) && twice.len() <= CONFIRM_WINDOW,
        "more duplicates than one crash allows: {twice:?}"
    );
    let truth = expected(&sim.truth());
    let known: BTreeSet<&str> = truth.iter().map(|e| e.id.as_str()).collect();
    assert!(
        published.iter().all(|id| known.contains(id.as_str())),
        "an event that did not happen"
    );
    let missing: Vec<String> = truth
        .iter()
        .filter(|e| REST_COMPLETE.contains(&e.event_type.as_str()) && !published.contains(&e.id))
        .map(|e| format!("{} {}", e.event_type, e.truth.summary))
        .collect();
    assert!(missing.is_empty(), "never published: {missing:?}");
    println!(
        "backfill across a SIGKILL: {} events published ({} twice), job totals {}, runs {}",
        published.len(),
        twice.len(),
        done["totals"],
        done["runs"]
    );
    assert!(b.terminate().await.success());
    sim.shutdown().await;
}
