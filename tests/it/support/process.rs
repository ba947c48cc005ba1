//! Runs the real `ado-ingest serve` binary as a child process (for SIGKILL / SIGTERM tests), and
//! drives concurrent hook load against one server or spreads it over several replicas.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::Mutex;

use super::*;

/// What a `serve` process runs on: its store (SQLite path or `postgres://` URL), exchange, port,
/// log file, and any further `ADO_INGEST_*` settings or a config file.
#[derive(Clone)]
pub struct ServeSpec {
    pub store: String,
    pub exchange: String,
    pub port: u16,
    pub log: PathBuf,
    pub env: Vec<(String, String)>,
    pub config: Option<PathBuf>,
}

impl ServeSpec {
    pub fn new(store: impl Into<String>, exchange: &str, log: &Path) -> Self {
        Self {
            store: store.into(),
            exchange: exchange.into(),
            port: free_port(),
            log: log.to_path_buf(),
            env: Vec::new(),
            config: None,
        }
    }

    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }
}

pub struct ServeProcess {
    pub child: Child,
    pub base: String,
    pub spec: ServeSpec,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl ServeProcess {
    /// A single node on an SQLite store in `store_dir`.
    pub fn spawn(store_dir: &Path, exchange: &str, port: u16, log: &Path) -> Self {
        let store = store_dir.join("ado-ingest.sqlite").display().to_string();
        Self::start(ServeSpec {
            port,
            ..ServeSpec::new(store, exchange, log)
        })
    }

    pub fn start(spec: ServeSpec) -> Self {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&spec.log)
            .unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_ado-ingest"));
        if let Some(config) = &spec.config {
            command.arg("--config").arg(config);
        }
        command
            .arg("serve")
            .env_remove("ADO_INGEST_CONFIG")
            .env("ADO_INGEST_LISTEN", format!("127.0.0.1:{}", spec.port))
            .env("ADO_INGEST_EXCHANGE", &spec.exchange)
            .env("ADO_INGEST_AMQP_URL", amqp_url())
            .env("ADO_INGEST_STORE", &spec.store)
            .env("ADO_INGEST_HOOK_CREDENTIALS", format!("{USER}:{PASSWORD}"))
            .env("ADO_INGEST_SHUTDOWN_GRACE", "20s")
            .env("RUST_LOG", "info");
        for (k, v) in &spec.env {
            command.env(k, v);
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn ado-ingest");
        Self {
            child,
            base: format!("http://127.0.0.1:{}", spec.port),
            spec,
        }
    }

    /// The same process again (same port, store, settings), as after a restart.
    pub fn restart(&self) -> Self {
        Self::start(self.spec.clone())
    }

    /// Waits until `/readyz` answers 200; panics with the end of the process's log if it does
    /// not within 60 s (or the process exited).
    pub async fn wait_ready(&mut self) {
        let url = format!("{}/readyz", self.base);
        let ready = eventually(Duration::from_secs(60), || {
            let url = url.clone();
            async move {
                let r = reqwest::get(url).await;
                r.is_ok_and(|r| r.status() == 200)
            }
        })
        .await;
        if !ready {
            let exited = self.child.try_wait().ok().flatten();
            let log = std::fs::read_to_string(&self.spec.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            panic!(
                "{} never became ready (exited: {exited:?}); log:\n{}",
                self.base,
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{sig} failed");
    }

    /// SIGKILL, and waits until the process is gone.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        let _ = self.child.wait();
    }

    /// SIGTERM, and waits (at most 60 s) for the exit.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        self.signal("TERM");
        tokio::task::spawn_blocking(move || self.child.wait().unwrap())
            .await
            .unwrap()
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        // A test that fails midway must not leave servers running.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A `git.push` hook with a distinct event id for each `n`.
pub fn push_hook(n: u64) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "subscriptionId": "7c7e5e1b-1f7e-4a8e-9b5e-0a1b2c3d4e5f",
        "notificationId": n,
        "id": format!("00000000-0000-4000-8000-{n:012}"),
        "eventType": "git.push",
        "publisherId": "tfs",
        "message": null,
        "detailedMessage": null,
        "resourceVersion": "1.0",
        "resourceContainers": {
            "collection": {"id": "c0ffee00-0000-4000-8000-000000000001", "baseUrl": "https://dev.azure.com/contoso/"},
            "account": {"id": "c0ffee00-0000-4000-8000-000000000002", "baseUrl": "https://dev.azure.com/contoso/"},
            "project": {"id": "c0ffee00-0000-4000-8000-000000000003", "baseUrl": "https://dev.azure.com/contoso/"}
        },
        "createdDate": "2026-11-26T08:00:00Z",
        "resource": {
            "pushId": n,
            "date": "2026-11-26T08:00:00Z",
            "url": format!("https://dev.azure.com/contoso/_apis/git/repositories/5febef5a-833d-4e14-b9c0-14cb638f91e6/pushes/{n}"),
            "pushedBy": {"id": "d6245f20-2af8-44f4-9451-8107cb2767db", "displayName": "Jamal Hartnett", "uniqueName": "jamal@contoso.com"},
            "refUpdates": [{"name": "refs/heads/main", "oldObjectId": format!("{:040x}", n), "newObjectId": format!("{:040x}", n + 1)}],
            "commits": [{"commitId": format!("{:040x}", n + 1), "author": {"name": "Jamal Hartnett", "email": "jamal@contoso.com", "date": "2026-11-26T07:59:00Z"}, "committer": {"name": "Jamal Hartnett", "email": "jamal@contoso.com", "date": "2026-11-26T07:59:00Z"}, "comment": "change", "url": "https://dev.azure.com/contoso/_apis/git/repositories/5febef5a-833d-4e14-b9c0-14cb638f91e6/commits/x"}],
            "repository": {
                "id": "5febef5a-833d-4e14-b9c0-14cb638f91e6", "name": "Fabrikam-Fiber-Git",
                "url": "https://dev.azure.com/contoso/_apis/git/repositories/5febef5a-833d-4e14-b9c0-14cb638f91e6",
                "project": {"id": "c0ffee00-0000-4000-8000-000000000003", "name": "Fabrikam Fiber", "url": "https://dev.azure.com/contoso/_apis/projects/c0ffee00-0000-4000-8000-000000000003", "state": "wellFormed"},
                "defaultBranch": "refs/heads/main",
                "remoteUrl": "https://dev.azure.com/contoso/_git/Fabrikam-Fiber-Git"
            }
        }
    }))
    .unwrap()
}

/// Concurrent load: `workers` tasks post distinct push hooks until stopped. With one server, a
/// worker stops when the server goes away. With several (replicas behind a load balancer), hook
/// `n` goes to server `n % len`, every `to_all_every`-th hook to all of them at once (Azure DevOps'
/// retries can land anywhere), and a hook a server cannot take is retried on the next one.
/// Keeps the ids of every hook some server answered 2xx.
pub struct Load {
    pub accepted: Arc<Mutex<Vec<String>>>,
    pub count: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// What one POST came to.
enum Posted {
    Accepted(String),
    Refused,
    Unreachable,
}

async fn post_once(client: &reqwest::Client, base: &str, n: u64) -> Posted {
    let resp = client
        .post(format!("{base}/hooks"))
        .header("content-type", "application/json")
        .header("authorization", basic_auth(USER, PASSWORD))
        .body(push_hook(n))
        .send()
        .await;
    let Ok(resp) = resp else {
        return Posted::Unreachable;
    };
    let status = resp.status();
    if status.is_success() {
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        match body["id"].as_str() {
            Some(id) => Posted::Accepted(id.to_string()),
            None => Posted::Unreachable,
        }
    } else if status.as_u16() == 503 {
        Posted::Refused
    } else {
        panic!("unexpected status {status}");
    }
}

impl Load {
    pub fn start(base: &str, workers: u64, first: u64) -> Self {
        Self::spread(&[base.to_string()], workers, first, None)
    }

    pub fn spread(bases: &[String], workers: u64, first: u64, to_all_every: Option<u64>) -> Self {
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let count = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let next = Arc::new(AtomicU64::new(first));
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let bases: Arc<Vec<String>> = Arc::new(bases.to_vec());
        let tasks = (0..workers)
            .map(|_| {
                let (accepted, count, stop, next, client, bases) = (
                    accepted.clone(),
                    count.clone(),
                    stop.clone(),
                    next.clone(),
                    client.clone(),
                    bases.clone(),
                );
                tokio::spawn(async move {
                    while !stop.load(Ordering::SeqCst) {
                        let n = next.fetch_add(1, Ordering::SeqCst);
                        let to_all = to_all_every.is_some_and(|every| n % every == 0);
                        let mut ids = Vec::new();
                        let mut unreachable = 0;
                        if to_all {
                            let posts = bases.iter().map(|b| post_once(&client, b, n));
                            for posted in futures::future::join_all(posts).await {
                                match posted {
                                    Posted::Accepted(id) => ids.push(id),
                                    Posted::Unreachable => unreachable += 1,
                                    Posted::Refused => {}
                                }
                            }
                        }
                        // One server at a time, from this hook's own, until one takes it (a hook
                        // posted to all that none took is retried this way too).
                        let first = (n as usize) % bases.len();
                        let mut tries = 0;
                        while ids.is_empty() && tries < bases.len() {
                            let base = &bases[(first + tries) % bases.len()];
                            tries += 1;
                            match post_once(&client, base, n).await {
                                Posted::Accepted(id) => ids.push(id),
                                Posted::Unreachable => unreachable += 1,
                                Posted::Refused => {}
                            }
                        }
                        match ids.first() {
                            Some(id) => {
                                accepted.lock().await.push(id.clone());
                                count.fetch_add(1, Ordering::SeqCst);
                            }
                            // The only server is gone: this worker is done.
                            None if bases.len() == 1 && unreachable > 0 => return,
                            None => tokio::time::sleep(Duration::from_millis(50)).await,
                        }
                    }
                })
            })
            .collect();
        Self {
            accepted,
            count,
            stop,
            tasks,
        }
    }

    pub async fn wait_count(&self, n: u64) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.count.load(Ordering::SeqCst) < n {
            assert!(Instant::now() < deadline, "load stalled");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops the workers (they also stop on their own when the only server is gone).
    pub async fn finish(self) -> Vec<String> {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.tasks {
            let _ = t.await;
        }
        self.accepted.lock().await.clone()
    }
}
