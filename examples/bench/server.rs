//! The server under test: the release `ado-ingest serve` binary as a child process (so its peak RSS
//! is its own), with a temporary store, a unique exchange, and a durable queue of ours bound `#` so
//! every event is routed to a real queue.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine;
use lapin::options::{QueueBindOptions, QueueDeclareOptions, QueuePurgeOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Connection, ConnectionProperties};
use reqwest::header::HeaderValue;

const USER: &str = "bench";

/// `target/release/ado-ingest` next to this example's target dir (or `--binary`), built with
/// `cargo build --release --bin ado-ingest` when it is missing.
pub fn locate_binary(explicit: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(path) = explicit {
        if !path.is_file() {
            bail!("--binary {} does not exist", path.display());
        }
        return Ok(path);
    }
    let exe = std::env::current_exe().context("cannot find the benchmark's own path")?;
    // The example runs from `<target>/<profile>/examples/`.
    let target_dir = exe
        .parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from))
        .context("cannot derive the cargo target dir from the benchmark's path")?;
    let binary = target_dir.join("release").join("ado-ingest");
    if !binary.is_file() {
        eprintln!(
            "bench: {} missing; running cargo build --release --bin ado-ingest",
            binary.display()
        );
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--release", "--bin", "ado-ingest"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("CARGO_TARGET_DIR", &target_dir)
            .status()
            .context("cannot run cargo to build the server")?;
        if !status.success() || !binary.is_file() {
            bail!("building {} failed ({status})", binary.display());
        }
    }
    Ok(binary)
}

/// Where a server under test keeps its store.
#[derive(Clone)]
pub enum StoreUnderTest {
    /// A fresh SQLite file in the server's temporary directory.
    Sqlite,
    /// A PostgreSQL database (shared by the replicas of one run).
    Postgres(String),
}

pub struct ServerUnderTest {
    child: Child,
    pub base: String,
    pub exchange: String,
    /// `Authorization` header value for `POST /hooks`.
    pub auth: HeaderValue,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl ServerUnderTest {
    pub fn spawn(
        binary: &Path,
        amqp_url: &str,
        exchange: &str,
        store: &StoreUnderTest,
        replica: &str,
        password: &str,
        settings: &[String],
    ) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("ado-ingest-bench-")
            .tempdir()
            .context("cannot create the temporary store dir")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let log = dir.path().join("serve.log");
        let log_file = std::fs::File::create(&log)?;
        let mut command = Command::new(binary);
        // Only our settings: an exported ADO_INGEST_* (or a config file) must not skew the run.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("ADO_INGEST_") {
                command.env_remove(key);
            }
        }
        for setting in settings {
            if let Some((key, value)) = setting.split_once('=') {
                command.env(key, value);
            }
        }
        let child = command
            .arg("serve")
            .env("ADO_INGEST_LISTEN", format!("127.0.0.1:{port}"))
            .env("ADO_INGEST_EXCHANGE", exchange)
            .env("ADO_INGEST_AMQP_URL", amqp_url)
            .env(
                "ADO_INGEST_STORE",
                match store {
                    StoreUnderTest::Sqlite => dir.path().join("ado-ingest.sqlite").into_os_string(),
                    StoreUnderTest::Postgres(url) => url.into(),
                },
            )
            .env("ADO_INGEST_REPLICA_ID", replica)
            .env("ADO_INGEST_HOOK_CREDENTIALS", format!("{USER}:{password}"))
            .env("ADO_INGEST_PUBLISH_DECLARE_DEFAULT_QUEUE", "false")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log_file))
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{password}"));
        Ok(Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            exchange: exchange.to_owned(),
            auth: HeaderValue::from_str(&format!("Basic {token}"))?,
            log,
            _dir: dir,
        })
    }

    /// Fails with the server's log when it exited.
    fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "ado-ingest exited ({status}); its log:\n{}",
                self.log_tail()
            );
        }
        Ok(())
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Waits for `/readyz` 200: store writable, topology declared, broker connected.
    pub async fn wait_ready(&mut self, client: &reqwest::Client) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            self.check_alive()?;
            if let Ok(r) = client.get(format!("{}/readyz", self.base)).send().await
                && r.status() == 200
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "ado-ingest not ready after 30 s; its log:\n{}",
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Polls `/readyz` until `outbox_depth` is 0 — every stored event confirmed by the broker — and
    /// returns when that was first seen.
    pub async fn wait_drained(
        &mut self,
        client: &reqwest::Client,
        timeout: Duration,
    ) -> anyhow::Result<Instant> {
        let deadline = Instant::now() + timeout;
        let mut last = None;
        loop {
            // The body names the depth on 200 and 503 alike.
            let response = client.get(format!("{}/readyz", self.base)).send().await?;
            let body: serde_json::Value = response.json().await?;
            let depth = body["outbox_depth"].as_u64();
            if depth == Some(0) {
                return Ok(Instant::now());
            }
            last = depth.or(last);
            self.check_alive()?;
            if Instant::now() > deadline {
                bail!("the outbox still holds {last:?} events after {timeout:?}: {body}");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The server's `/metrics`, each series summed over its labels by metric name (a histogram's
    /// `_count` and `_sum` under their own names).
    pub async fn metric_totals(
        &self,
        client: &reqwest::Client,
    ) -> anyhow::Result<std::collections::HashMap<String, f64>> {
        let text = client
            .get(format!("{}/metrics", self.base))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        let mut totals = std::collections::HashMap::new();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let Some((series, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let name = series.split('{').next().unwrap_or(series);
            if let Ok(value) = value.parse::<f64>() {
                *totals.entry(name.to_string()).or_insert(0.0) += value;
            }
        }
        Ok(totals)
    }

    /// The child's process id (for its CPU time).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Peak resident set size so far (`VmHWM`), in bytes.
    pub fn peak_rss(&self) -> anyhow::Result<u64> {
        peak_rss_of(&format!("/proc/{}/status", self.child.id()))
    }

    /// SIGTERM (graceful shutdown), then SIGKILL if it takes longer than 30 s.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait()? {
                if !status.success() {
                    eprintln!("bench: ado-ingest exited with {status}");
                }
                return Ok(());
            }
            if Instant::now() > deadline {
                self.child.kill()?;
                bail!("ado-ingest ignored SIGTERM for 30 s; killed");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for ServerUnderTest {
    fn drop(&mut self) {
        // After an error: never leave the child behind.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `VmHWM` of a `/proc/*/status` file, in bytes.
pub fn peak_rss_of(status_path: &str) -> anyhow::Result<u64> {
    let text =
        std::fs::read_to_string(status_path).with_context(|| format!("reading {status_path}"))?;
    let kb = text
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .with_context(|| format!("no VmHWM in {status_path}"))?;
    Ok(kb * 1024)
}

/// Our durable classic queue bound `#` to the server's exchange.
pub struct Tap {
    conn: Connection,
    pub queue: String,
}

impl Tap {
    pub async fn bind(amqp_url: &str, exchange: &str) -> anyhow::Result<Self> {
        let conn = Connection::connect(amqp_url, ConnectionProperties::default())
            .await
            .context("cannot connect to RabbitMQ")?;
        let channel = conn.create_channel().await?;
        let queue = format!("{exchange}.bench");
        let mut arguments = FieldTable::default();
        arguments.insert(
            "x-queue-type".into(),
            AMQPValue::LongString("classic".into()),
        );
        let durable = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        channel
            .queue_declare(queue.as_str().into(), durable, arguments)
            .await
            .with_context(|| format!("declaring queue {queue}"))?;
        channel
            .queue_bind(
                queue.as_str().into(),
                exchange.into(),
                "#".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .with_context(|| format!("binding {queue} to {exchange}"))?;
        Ok(Self { conn, queue })
    }

    /// Messages waiting in the queue.
    pub async fn count(&self) -> anyhow::Result<u32> {
        let channel = self.conn.create_channel().await?;
        let passive = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        let q = channel
            .queue_declare(self.queue.as_str().into(), passive, FieldTable::default())
            .await?;
        let _ = channel.close(200, "ok".into()).await;
        Ok(q.message_count())
    }

    pub async fn purge(&self) -> anyhow::Result<()> {
        let channel = self.conn.create_channel().await?;
        channel
            .queue_purge(self.queue.as_str().into(), QueuePurgeOptions::default())
            .await?;
        let _ = channel.close(200, "ok".into()).await;
        Ok(())
    }

    pub async fn close(self) {
        let _ = self.conn.close(200, "bye".into()).await;
    }
}

/// Deletes our queue and everything the server declared for `exchange`; errors are ignored (a name
/// that never existed is fine).
pub async fn cleanup(amqp_url: &str, exchange: &str) {
    match Connection::connect(amqp_url, ConnectionProperties::default()).await {
        Ok(conn) => {
            if let Ok(ch) = conn.create_channel().await {
                let queue = format!("{exchange}.bench");
                let _ = ch
                    .queue_delete(queue.as_str().into(), Default::default())
                    .await;
            }
            let _ = conn.close(200, "bye".into()).await;
        }
        Err(_) => eprintln!("bench: cannot connect to RabbitMQ to delete {exchange}*"),
    }
    ado_ingest::publish::delete_topology(amqp_url, exchange).await;
}

/// A fresh PostgreSQL database for one run, dropped by [`drop_database`].
pub async fn create_database(admin_url: &str) -> anyhow::Result<(String, String)> {
    let name = format!("ado_ingest_bench_{:012x}", rand::random::<u64>() >> 16);
    let (client, connection) = tokio_postgres::connect(admin_url, tokio_postgres::NoTls)
        .await
        .with_context(|| format!("cannot connect to PostgreSQL at {admin_url}"))?;
    tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .with_context(|| format!("cannot create database {name}"))?;
    // Every setup starts just after a checkpoint: otherwise whichever setup runs when the WAL of
    // the previous ones (or the last DROP DATABASE) triggers one pays its writes, and setups
    // differ by that more than by what they measure. Needs a superuser; without one, say so.
    if let Err(e) = client.batch_execute("CHECKPOINT").await {
        eprintln!("bench: cannot run CHECKPOINT before the setup ({e}); results may vary more");
    }
    let url = match admin_url.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => format!("{admin_url}/{name}"),
    };
    Ok((name, url))
}

pub async fn drop_database(admin_url: &str, name: &str) {
    if let Ok((client, connection)) =
        tokio_postgres::connect(admin_url, tokio_postgres::NoTls).await
    {
        tokio::spawn(connection);
        let _ = client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await;
    }
}
