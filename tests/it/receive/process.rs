//! Runs the real `ado-ingest serve` binary as a child process (for SIGKILL / SIGTERM tests) and
//! drives concurrent hook load against it.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::support::*;

pub struct ServeProcess {
    pub child: Child,
    pub base: String,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl ServeProcess {
    pub fn spawn(store_dir: &Path, exchange: &str, port: u16, log: &Path) -> Self {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_ado-ingest"))
            .arg("serve")
            .env("ADO_INGEST_LISTEN", format!("127.0.0.1:{port}"))
            .env("ADO_INGEST_EXCHANGE", exchange)
            .env("ADO_INGEST_AMQP_URL", amqp_url())
            .env("ADO_INGEST_STORE", store_dir.join("ado-ingest.sqlite"))
            .env("ADO_INGEST_HOOK_CREDENTIALS", format!("{USER}:{PASSWORD}"))
            .env("ADO_INGEST_SHUTDOWN_GRACE", "20s")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn ado-ingest");
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    pub async fn wait_ready(&self) {
        wait_ready(&self.base, Duration::from_secs(30)).await;
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
}

/// Concurrent load: `workers` tasks post distinct push hooks until stopped or the server goes away.
/// Returns the ids of every hook that was answered 2xx.
pub struct Load {
    pub accepted: Arc<Mutex<Vec<String>>>,
    pub count: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    pub fn start(base: &str, workers: u64, first: u64) -> Self {
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let count = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let next = Arc::new(AtomicU64::new(first));
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let tasks = (0..workers)
            .map(|_| {
                let (accepted, count, stop, next, client) = (
                    accepted.clone(),
                    count.clone(),
                    stop.clone(),
                    next.clone(),
                    client.clone(),
                );
                let url = format!("{base}/hooks");
                tokio::spawn(async move {
                    while !stop.load(Ordering::SeqCst) {
                        let n = next.fetch_add(1, Ordering::SeqCst);
                        let resp = client
                            .post(&url)
                            .header("content-type", "application/json")
                            .header("authorization", basic_auth(USER, PASSWORD))
                            .body(super::outage::push_hook(n))
                            .send()
                            .await;
                        let Ok(resp) = resp else { return };
                        if resp.status().is_success() {
                            let body: serde_json::Value = resp.json().await.unwrap_or_default();
                            if let Some(id) = body["id"].as_str() {
                                accepted.lock().await.push(id.to_string());
                                count.fetch_add(1, Ordering::SeqCst);
                            }
                        } else if resp.status().as_u16() != 503 {
                            panic!("unexpected status {}", resp.status());
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

    /// Stops the workers (they also stop on their own when the server is gone).
    pub async fn finish(self) -> Vec<String> {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.tasks {
            let _ = t.await;
        }
        self.accepted.lock().await.clone()
    }
}
