//! Signing in with the simulated Entra ID: `login` waits through `authorization_pending` and
//! stores the refresh token readable by its owner only (an expired code is a clear error); `serve`
//! reconciles an organization with `login = true` using bearer tokens it renews before they
//! expire; a revoked sign-in is reported in the status, the log and a metric while the process
//! keeps running, and nothing crash-loops.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use ado_ingest::cli::login::{LoginArgs, run};
use ado_ingest::config::{Config, LoginConfig, OrganizationConfig};
use ado_sim::{ActivitySpec, EntraBehaviour};
use serde_json::Value;

use crate::support::reconcile::{TestServer, fast_sim, server_options, start_sim};

const TOKEN: &str = "signin-admin-token";

async fn status_until(base: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = ado_testkit::get_json(&format!("{base}/admin/status"), TOKEN).await;
        if check(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {s:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_then_serve_with_renewed_bearer_tokens_and_a_revoked_sign_in_reported() {
    let sim = start_sim(fast_sim(91)).await;
    sim.generate(&ActivitySpec::new(60)).unwrap();
    let info = sim.orgs()[0].clone();
    let root = info
        .base_url
        .trim_end_matches('/')
        .trim_end_matches(&info.name)
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("login.json");
    let login = LoginConfig {
        authority: root.clone(),
        token_file: token_file.display().to_string(),
        ..LoginConfig::default()
    };
    let config = Config {
        login: login.clone(),
        ..Config::default()
    };
    let args = || LoginArgs {
        token_file: None,
        timeout: Duration::from_secs(30),
    };

    // An expired code: a clear error, nothing stored.
    sim.set_entra(EntraBehaviour {
        expire_codes: true,
        ..EntraBehaviour::default()
    });
    let mut out = Vec::new();
    let err = run(args(), &config, &mut out).await.unwrap_err();
    assert!(err.to_string().contains("expired"), "{err}");
    assert!(!token_file.exists());

    // Pending twice, then signed in: the instructions are shown, the refresh token stored 0600.
    sim.set_entra(EntraBehaviour {
        pending_polls: 2,
        access_token_lifetime: Duration::from_secs(3),
        ..EntraBehaviour::default()
    });
    let mut out = Vec::new();
    run(args(), &config, &mut out).await.unwrap();
    let shown = String::from_utf8(out).unwrap();
    assert!(
        shown.contains("devicelogin") && shown.contains("SIM"),
        "{shown}"
    );
    let mode = std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the sign-in is readable by its owner only");
    let stored: Value = serde_json::from_slice(&std::fs::read(&token_file).unwrap()).unwrap();
    assert!(
        stored["refresh_token"]
            .as_str()
            .unwrap()
            .starts_with("sim-rt")
    );
    let device_polls = sim.token_grants()["urn:ietf:params:oauth:grant-type:device_code"];
    assert!(device_polls >= 3, "{device_polls} polls");

    // serve with login = true: passes succeed with bearer tokens renewed before their 3 s expiry.
    let mut org = OrganizationConfig::with_pat(info.base_url.trim_end_matches('/'), "unused");
    org.pat = None;
    org.login = true;
    org.login_settings = Some(login.clone());
    let server = TestServer::start(
        server_options(vec![org], 50)
            .with("ADO_INGEST_ADMIN_TOKEN", TOKEN)
            .with("ADO_INGEST_RECONCILE_INTERVAL", "1s"),
    )
    .await;
    let base = server.base.clone();
    let renewals_before = sim
        .token_grants()
        .get("refresh_token")
        .copied()
        .unwrap_or(0);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let s = status_until(&base, "passes with bearer tokens", |s| {
        let o = &s["organizations"][0];
        o["last_pass_finished"].is_string() && o["last_error"].is_null()
    })
    .await;
    let renewals = sim.token_grants()["refresh_token"] - renewals_before;
    assert!(
        renewals >= 2,
        "tokens renewed before expiry: {renewals} renewals; {s:#}"
    );
    let rotated: Value = serde_json::from_slice(&std::fs::read(&token_file).unwrap()).unwrap();
    assert_ne!(
        rotated["refresh_token"], stored["refresh_token"],
        "the rotated refresh token is kept"
    );

    // Revoked: reported, the process keeps serving; no token in the status.
    sim.revoke_sign_ins();
    let s = status_until(&base, "the revoked sign-in", |s| {
        s["organizations"][0]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("revoked or has expired"))
    })
    .await;
    let text = s.to_string();
    assert!(
        !text.contains("sim-rt") && !text.contains("sim-at"),
        "no token in the status"
    );
    assert!(text.contains("ado-ingest login"), "says what to do: {text}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let health = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(health.status(), 200, "still running");
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("ado_ingest_signin_failures_total") && !l.ends_with(" 0")),
        "{metrics}"
    );
    server.stop().await.expect("stopped in time").unwrap();
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managed_identity_reconciles_with_tokens_from_the_metadata_endpoint() {
    use crate::support::reconcile::{open_store, reconcile_config};
    let sim = start_sim(fast_sim(92)).await;
    sim.generate(&ActivitySpec::new(40)).unwrap();
    let info = sim.orgs()[0].clone();
    let root = info
        .base_url
        .trim_end_matches('/')
        .trim_end_matches(&info.name)
        .to_string();
    let mut org = OrganizationConfig::with_pat(info.base_url.trim_end_matches('/'), "unused");
    org.pat = None;
    org.managed_identity = Some(ado_ingest::config::ManagedIdentityConfig {
        client_id: String::new(),
        endpoint: format!("{root}metadata/identity/oauth2/token"),
    });
    assert_eq!(org.auth_method(), "managed_identity");
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir).await;
    let reconciler =
        ado_ingest::reconcile::Reconciler::new(org, store.clone(), reconcile_config(20), false)
            .unwrap();
    let progress = reconciler.run_once().await.unwrap();
    for (stream, p) in &progress {
        assert_eq!(p.errors, 0, "{stream}: {:?}", p.last_error);
    }
    assert!(
        store.outbox_depth().await.unwrap() > 0,
        "changes reconciled"
    );
    assert_eq!(
        sim.token_grants()["managed_identity"],
        1,
        "one token, cached"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_polls_slower_when_told_to_slow_down() {
    let sim = start_sim(fast_sim(93)).await;
    let info = sim.orgs()[0].clone();
    let root = info
        .base_url
        .trim_end_matches('/')
        .trim_end_matches(&info.name)
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        login: LoginConfig {
            authority: root,
            token_file: dir.path().join("login.json").display().to_string(),
            ..LoginConfig::default()
        },
        ..Config::default()
    };
    // Polled every advertised second, but 1.5 s apart are required: one slow_down, then 5 s more
    // between polls, and the sign-in completes.
    sim.set_entra(EntraBehaviour {
        pending_polls: 1,
        interval: Duration::from_millis(1500),
        advertised_interval: Some(Duration::from_secs(1)),
        ..EntraBehaviour::default()
    });
    let started = Instant::now();
    let mut out = Vec::new();
    let args = LoginArgs {
        token_file: None,
        timeout: Duration::from_secs(60),
    };
    run(args, &config, &mut out).await.unwrap();
    let polls = sim.token_grants()["urn:ietf:params:oauth:grant-type:device_code"];
    assert_eq!(polls, 3, "pending, slow_down, success");
    assert!(
        started.elapsed() >= Duration::from_secs(7),
        "the poll after slow_down waited 5 s longer: {:?}",
        started.elapsed()
    );
    sim.shutdown().await;
}
