//! Shared by the admin tests: an in-test backfill engine that really walks fixed lists (one per
//! stream) page by page, with cursors, cancel points and pages released by the test, and helpers to
//! build an admin-enabled router or a whole HTTP server on a store.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ado_ingest::config::{Config, OrganizationConfig, Secret};
use ado_ingest::health::Health;
use ado_ingest::http::admin::AdminState;
use ado_ingest::http::auth::HookAuthenticator;
use ado_ingest::http::{AppState, router};
use ado_ingest::jobs::{
    BackfillEngine, EngineError, EngineProvider, JobRecord, JobRunner, JobState, ProgressSink,
    RunnerSettings,
};
use ado_ingest::reconcile::{BackfillSpec, JobProgress, Reconcilers};
use ado_ingest::store::{self, Store};
use async_trait::async_trait;
use axum::Router;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

pub const TOKEN: &str = "admin-test-token";

/// Walks `items` objects per stream, `page_size` at a time; each page waits for a permit from the
/// test ([`ListEngine::release`]) or, when unlimited, for `page_delay`. The cursor is the index of
/// the next object; every page walked is recorded in `walked` as (stream, first index).
pub struct ListEngine {
    pub items: usize,
    pub page_size: usize,
    pub permits: Option<Arc<Semaphore>>,
    pub page_delay: Duration,
    /// Fail the job when this page (0-based, across the job) would be walked.
    pub fail_on_page: Option<u64>,
    pub walked: Mutex<Vec<(String, usize)>>,
}

impl ListEngine {
    /// An engine whose pages each need a permit from [`ListEngine::release`].
    pub fn gated(items: usize, page_size: usize) -> Arc<Self> {
        Arc::new(Self {
            items,
            page_size,
            permits: Some(Arc::new(Semaphore::new(0))),
            page_delay: Duration::ZERO,
            fail_on_page: None,
            walked: Mutex::new(Vec::new()),
        })
    }

    /// An engine that walks freely, `page_delay` per page.
    pub fn free(items: usize, page_size: usize, page_delay: Duration) -> Arc<Self> {
        Arc::new(Self {
            items,
            page_size,
            permits: None,
            page_delay,
            fail_on_page: None,
            walked: Mutex::new(Vec::new()),
        })
    }

    pub fn release(&self, pages: usize) {
        if let Some(p) = &self.permits {
            p.add_permits(pages);
        }
    }

    pub fn walked(&self) -> Vec<(String, usize)> {
        self.walked.lock().unwrap().clone()
    }

    pub fn pages_per_stream(&self) -> u64 {
        self.items.div_ceil(self.page_size) as u64
    }

    /// Waits for the next page's turn; `false` when cancelled first.
    async fn wait_turn(&self, cancel: &CancellationToken) -> bool {
        match &self.permits {
            Some(p) => tokio::select! {
                _ = cancel.cancelled() => false,
                permit = p.acquire() => { permit.expect("semaphore open").forget(); true }
            },
            None => tokio::select! {
                _ = cancel.cancelled() => false,
                _ = tokio::time::sleep(self.page_delay) => true,
            },
        }
    }
}

#[async_trait]
impl BackfillEngine for ListEngine {
    async fn backfill(
        &self,
        spec: &BackfillSpec,
        progress: ProgressSink,
        resume: JobProgress,
        cancel: CancellationToken,
    ) -> Result<JobProgress, EngineError> {
        let mut job = resume;
        let mut pages_walked: u64 = job.values().map(|p| p.pages).sum();
        for stream in &spec.streams {
            let mut p = job.get(stream).cloned().unwrap_or_default();
            if p.done {
                continue;
            }
            let mut next: usize = p
                .cursor
                .as_deref()
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            while next < self.items {
                if !self.wait_turn(&cancel).await {
                    return Ok(job);
                }
                if self.fail_on_page == Some(pages_walked) {
                    return Err(EngineError::Failed(format!(
                        "{stream}: page {next} answered 500"
                    )));
                }
                let len = self.page_size.min(self.items - next);
                self.walked.lock().unwrap().push((stream.to_string(), next));
                next += len;
                pages_walked += 1;
                p.pages += 1;
                p.objects_seen += len as u64;
                // Every other object "was already delivered by a hook".
                p.duplicates_skipped += (len / 2) as u64;
                p.events_published += (len - len / 2) as u64;
                p.cursor = Some(next.to_string());
                job.insert(*stream, p.clone());
                progress(&job);
            }
            p.done = true;
            job.insert(*stream, p.clone());
            progress(&job);
        }
        Ok(job)
    }
}

/// Hands the same engine to every organization.
pub fn provider(engine: Arc<ListEngine>) -> Arc<dyn EngineProvider> {
    Arc::new(
        move |_: &OrganizationConfig| -> Result<Arc<dyn BackfillEngine>, EngineError> {
            Ok(engine.clone())
        },
    )
}

pub fn orgs() -> Vec<OrganizationConfig> {
    let mut server =
        OrganizationConfig::with_pat("https://tfs.example.com/tfs/DefaultCollection", "pat");
    server.name = Some("onprem".into());
    vec![
        OrganizationConfig::with_pat("https://dev.azure.com/Fabrikam", "pat"),
        server,
    ]
}

pub async fn open_store(dir: &std::path::Path) -> Arc<dyn Store> {
    store::open(
        &dir.join("ado-ingest.sqlite").display().to_string(),
        100_000,
    )
    .await
    .expect("open store")
}

pub fn fast_settings() -> RunnerSettings {
    RunnerSettings {
        persist_interval: Duration::from_millis(20),
        resume_unfinished: true,
    }
}

/// A runner plus an admin-enabled router on `store`.
pub struct Admin {
    pub router: Router,
    pub runner: JobRunner,
    pub stop: CancellationToken,
}

/// A runner on `store` for [`orgs`], every job walked by `engine`, and the token that stops it.
pub async fn start_runner(
    store: Arc<dyn Store>,
    engine: Arc<ListEngine>,
    settings: RunnerSettings,
) -> (JobRunner, CancellationToken) {
    let stop = CancellationToken::new();
    let runner = JobRunner::start(store, orgs(), provider(engine), settings, stop.clone())
        .await
        .expect("start runner");
    (runner, stop)
}

/// A backfill of `org`'s `streams` since 2025-01-01.
pub fn backfill_spec(org: &str, streams: &[ado_ingest::config::Stream]) -> BackfillSpec {
    BackfillSpec {
        organization: org.into(),
        projects: Vec::new(),
        streams: streams.to_vec(),
        since: chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2025, 1, 1, 0, 0, 0).unwrap(),
        until: None,
    }
}

pub async fn admin(store: Arc<dyn Store>, token: &str, engine: Arc<ListEngine>) -> Admin {
    let (runner, stop) = start_runner(store.clone(), engine, fast_settings()).await;
    let config = Config {
        admin_token: Secret::new(token),
        organizations: orgs(),
        allow_anonymous_hooks: true,
        ..Config::default()
    };
    let state = AppState {
        config: Arc::new(config),
        store,
        health: Arc::new(Health::new()),
        metrics: ado_ingest::telemetry::metrics_handle(),
        auth: HookAuthenticator::new(&[], true),
        admin: AdminState::new(&Secret::new(token), runner.clone(), Reconcilers::default()),
        tenants: Default::default(),
    };
    Admin {
        router: router(state),
        runner,
        stop,
    }
}

impl Admin {
    /// Stops the runner (running jobs stay resumable) and waits for it.
    pub async fn shutdown(self) {
        self.stop.cancel();
        self.runner.stopped().await;
    }
}

/// Polls until `check` holds for the job (or panics after `timeout`, showing the job).
pub async fn wait_job(
    runner: &JobRunner,
    id: &str,
    timeout: Duration,
    check: impl Fn(&JobRecord) -> bool,
) -> JobRecord {
    let deadline = Instant::now() + timeout;
    loop {
        let job = runner.get(id).await.expect("get").expect("job exists");
        if check(&job) {
            return job;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting; job is {job:#?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub fn is(state: JobState) -> impl Fn(&JobRecord) -> bool {
    move |j| j.state == state
}
