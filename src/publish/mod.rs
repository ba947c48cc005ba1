//! The only part that talks to RabbitMQ: drains the store's outbox to the exchange with publisher
//! confirms. A row leaves the outbox only once the broker acked it, or (with the ledger) once the
//! ledger shows the broker routed a send whose ack was lost to a crash or a broken connection
//! (see `recovery`); everything else (nack, return, timeout, lost connection) leaves it there to be
//! retried with backoff, and the connection is re-established automatically.

mod backoff;
pub mod batch;
pub mod ledger;
pub mod link;
mod recovery;
pub mod signing;
mod topology;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lapin::types::ShortString;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

pub use backoff::redact_url;
pub use batch::{APP_ID, CONTENT_TYPE, SEND_ID_HEADER};
pub use topology::{
    LEDGER_MIN_BYTES, all_queue_name, consume_everything, declare_ledger, declare_topology,
    delete_topology, inbound_exchange_name, ledger_queue_name, unrouted_name,
};

use crate::config::Config;
use crate::health::Health;
use crate::store::Store;
use batch::{BatchOutcome, publish_batch};
use link::Link;

/// First reconnect delay; doubles up to `max_backoff`.
const RECONNECT_BASE: Duration = Duration::from_millis(200);
/// First retry delay of a row that was not acked; doubles per attempt up to `max_backoff`.
const RETRY_BASE: Duration = Duration::from_secs(1);
/// Longest idle wait: rows whose retry time comes are picked up at least this often.
const IDLE_TICK: Duration = Duration::from_millis(500);
/// How often, on a store shared by replicas, the publisher looks for sends another replica left
/// unconfirmed when it died (its claims expire after `postgres.claim_lease`).
const IN_FLIGHT_SWEEP: Duration = Duration::from_secs(5);
/// Pause after the store failed to answer a claim.
const STORE_RETRY: Duration = Duration::from_secs(1);

/// What the publisher needs from the configuration.
#[derive(Clone)]
pub struct PublisherSettings {
    /// AMQP URL (may carry a password: never logged, see [`redact_url`]); several, comma-separated,
    /// are the nodes of a cluster, tried in turn.
    pub amqp_url: String,
    pub exchange: String,
    pub declare_default_queue: bool,
    /// Outbox rows published per confirm round.
    pub batch_size: usize,
    /// How long to wait for a batch's confirms (also bounds connecting).
    pub confirm_timeout: Duration,
    /// Cap of the reconnect and retry backoff.
    pub max_backoff: Duration,
    /// Publish through `{exchange}.in` and its ledger stream (see [`declare_ledger`]), so sends
    /// left unconfirmed by a crash or a lost connection are not published twice.
    pub ledger: bool,
    /// Size bound of the ledger stream.
    pub ledger_max_bytes: u64,
    /// Signs every message when set (`publish.signing_keys`).
    pub signer: Option<signing::Signer>,
}

impl From<&Config> for PublisherSettings {
    fn from(config: &Config) -> Self {
        Self {
            amqp_url: config.amqp_url.expose().to_string(),
            exchange: config.exchange.clone(),
            declare_default_queue: config.publish.declare_default_queue,
            batch_size: config.publish.batch_size.max(1),
            confirm_timeout: config.publish.confirm_timeout,
            max_backoff: config.publish.max_backoff,
            ledger: config.publish.ledger,
            ledger_max_bytes: config.publish.ledger_max_bytes,
            // Config::validate refused malformed keys already.
            signer: signing::Signer::from_keys(&config.publish.signing_keys())
                .ok()
                .flatten(),
        }
    }
}

impl fmt::Debug for PublisherSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublisherSettings")
            .field("amqp_url", &redact_url(&self.amqp_url))
            .field("exchange", &self.exchange)
            .field("declare_default_queue", &self.declare_default_queue)
            .field("batch_size", &self.batch_size)
            .field("confirm_timeout", &self.confirm_timeout)
            .field("max_backoff", &self.max_backoff)
            .field("ledger", &self.ledger)
            .field("ledger_max_bytes", &self.ledger_max_bytes)
            .field("signer", &self.signer)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("cannot connect: {0}")]
    Connect(#[source] lapin::Error),
    #[error("timed out connecting after {0:?}")]
    ConnectTimeout(Duration),
    #[error("cannot open a confirm-mode channel: {0}")]
    Channel(#[source] lapin::Error),
    /// Typically the exchange exists with other settings (e.g. without the alternate exchange).
    #[error(
        "cannot declare {what} (if it exists with other settings, delete it or choose another exchange name): {source}"
    )]
    Topology { what: String, source: lapin::Error },
    #[error("AMQP name longer than 255 bytes: {0:?}")]
    NameTooLong(String),
}

/// Publishes the outbox until `shutdown` is cancelled, then keeps draining until the outbox is
/// empty or `drain_grace` has passed, closes the connection and returns. Broker state is reported
/// through `health`.
pub async fn run(
    settings: PublisherSettings,
    store: Arc<dyn Store>,
    health: Arc<Health>,
    shutdown: CancellationToken,
    drain_grace: Duration,
) {
    let target = if settings.ledger {
        inbound_exchange_name(&settings.exchange)
    } else {
        settings.exchange.clone()
    };
    let names = (
        ShortString::try_new(target.clone()).map_err(|_| target),
        ShortString::try_new(ledger_queue_name(&settings.exchange))
            .map_err(|_| ledger_queue_name(&settings.exchange)),
    );
    let (exchange, ledger_queue) = match names {
        (Ok(exchange), Ok(ledger_queue)) => (exchange, ledger_queue),
        (Err(name), _) | (_, Err(name)) => {
            let error = PublishError::NameTooLong(name);
            tracing::error!(%error, "publisher cannot start");
            health.set_broker_down(error.to_string());
            return;
        }
    };
    let urls = crate::config::split_urls(&settings.amqp_url);
    let publisher = Publisher {
        target: redact_url(urls.first().map_or("", String::as_str)),
        urls,
        current: 0,
        settings,
        exchange,
        ledger_queue,
        store,
        health,
        shutdown,
        drain_grace,
        drain_deadline: None,
    };
    publisher.run().await;
}

struct Publisher {
    settings: PublisherSettings,
    /// The broker URL in use without its password, for logs.
    target: String,
    /// Every broker URL (cluster nodes), and the index of the one to try first.
    urls: Vec<String>,
    current: usize,
    /// Where events are published: `{exchange}.in` with the ledger, else the exchange itself.
    exchange: ShortString,
    ledger_queue: ShortString,
    store: Arc<dyn Store>,
    health: Arc<Health>,
    shutdown: CancellationToken,
    drain_grace: Duration,
    /// Set when shutdown is first noticed.
    drain_deadline: Option<Instant>,
}

impl Publisher {
    async fn run(mut self) {
        let mut failures = 0u32;
        let mut sessions = 0u64;
        while !self.finished().await {
            if sessions > 0 || failures > 0 {
                metrics::counter!("ado_ingest_broker_reconnects_total").increment(1);
            }
            let link = match self.connect().await {
                Ok(link) => link,
                Err(error) => {
                    let what = match error {
                        PublishError::Connect(_) | PublishError::ConnectTimeout(_) => "unreachable",
                        _ => "refused the setup",
                    };
                    let detail = backoff::scrub(&error.to_string(), &self.settings.amqp_url);
                    let reason = format!("broker {} {what}: {detail}", self.target);
                    tracing::warn!(%reason, attempt = failures + 1, "no broker session; events wait in the outbox");
                    self.health.set_broker_down(reason);
                    let delay =
                        backoff::backoff(failures, RECONNECT_BASE, self.settings.max_backoff);
                    failures = failures.saturating_add(1);
                    self.pause(delay).await;
                    continue;
                }
            };
            failures = 0;
            sessions += 1;
            tracing::info!(broker = %self.target, exchange = %self.settings.exchange, "connected to the broker, publishing with confirms");
            self.health.set_broker_connected();
            let span =
                tracing::info_span!("publisher_session", session = sessions, broker = %self.target);
            match self.serve(&link).instrument(span).await {
                Ok(()) => {
                    link.close().await;
                    tracing::info!("publisher drained and disconnected");
                }
                Err(reason) => {
                    let reason = backoff::scrub(&reason, &self.settings.amqp_url);
                    tracing::warn!(%reason, broker = %self.target, "lost the broker; reconnecting");
                    // Another node of a cluster is tried first: this one may be the one that failed.
                    self.current = (self.current + 1) % self.urls.len().max(1);
                    self.health
                        .set_broker_down(format!("broker {} lost: {reason}", self.target));
                    link.close().await;
                }
            }
        }
        self.report_depth().await;
        self.health.set_broker_down("the publisher has stopped");
    }

    /// Opens a session on the first broker URL that answers, starting with the current one; each
    /// try is bounded by the confirm timeout and, while draining, by the deadline.
    async fn connect(&mut self) -> Result<Link, PublishError> {
        let mut last = None;
        for step in 0..self.urls.len().max(1) {
            let index = (self.current + step) % self.urls.len().max(1);
            let Some(url) = self.urls.get(index).cloned() else {
                break;
            };
            let limit = self.bounded(self.settings.confirm_timeout);
            let result = match tokio::time::timeout(limit, Link::open(&self.settings, &url)).await {
                Ok(result) => result,
                Err(_) => Err(PublishError::ConnectTimeout(limit)),
            };
            self.target = redact_url(&url);
            match result {
                Ok(link) => {
                    self.current = index;
                    return Ok(link);
                }
                Err(error) => {
                    if self.urls.len() > 1 {
                        let detail = backoff::scrub(&error.to_string(), &url);
                        tracing::warn!(broker = %self.target, %detail, "broker node unavailable; trying the next one");
                    }
                    last = Some(error);
                }
            }
        }
        Err(last.unwrap_or(PublishError::ConnectTimeout(Duration::ZERO)))
    }

    /// Publishes batch after batch on one session. `Ok` once finished (shutdown drained),
    /// `Err(reason)` when the session broke.
    async fn serve(&mut self, link: &Link) -> Result<(), String> {
        self.resolve_in_flight(link).await?;
        let notify = self.store.outbox_notify();
        let mut swept = Instant::now();
        loop {
            if self.finished().await {
                return Ok(());
            }
            if let Some(reason) = link.broken() {
                return Err(reason);
            }
            if self.store.is_shared() && swept.elapsed() >= IN_FLIGHT_SWEEP {
                swept = Instant::now();
                self.resolve_in_flight(link).await?;
            }
            let rows = match self.store.claim_pending(self.settings.batch_size).await {
                Ok(rows) => rows,
                Err(error) => {
                    tracing::error!(%error, "cannot read the outbox");
                    self.pause(STORE_RETRY).await;
                    continue;
                }
            };
            if rows.is_empty() {
                self.report_depth().await;
                // notify_one keeps a permit, so a commit made since the claim is not missed.
                tokio::select! {
                    _ = notify.notified() => {}
                    _ = tokio::time::sleep(IDLE_TICK) => {}
                    _ = self.shutdown.cancelled(), if !self.shutdown.is_cancelled() => {}
                }
                continue;
            }
            let send_id = if self.settings.ledger {
                // Recorded before the publish: a crash from here on leaves the rows in flight.
                let send_id = rand::random::<i64>();
                let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
                if let Err(error) = self.store.mark_sending(&seqs, send_id).await {
                    tracing::error!(%error, "cannot record the events being sent; not sending them");
                    self.pause(STORE_RETRY).await;
                    continue;
                }
                Some(send_id)
            } else {
                None
            };
            let deadline = Instant::now() + self.bounded(self.settings.confirm_timeout);
            let outcome = publish_batch(
                &link.channel,
                &self.exchange,
                rows,
                send_id,
                self.settings.signer.as_ref(),
                deadline,
            )
            .await;
            self.settle(&outcome).await;
            self.report_depth().await;
            if let Some(reason) = outcome.broken {
                return Err(reason);
            }
        }
    }

    /// Records a batch in the store: acked rows in one call, failed rows per backoff step.
    /// Unconfirmed rows stay in flight when the ledger can tell later whether they were routed.
    async fn settle(&self, outcome: &BatchOutcome) {
        if let Err(error) = self.store.mark_published(&outcome.acked).await {
            // They stay in the outbox and will be published again (same message_id).
            tracing::error!(%error, rows = outcome.acked.len(), "cannot remove published events from the outbox");
        }
        let keep_in_flight = self.settings.ledger;
        let failures = [
            (&outcome.rejected, false),
            (&outcome.unconfirmed, keep_in_flight),
        ];
        for (rows, in_flight) in failures {
            let mut by_attempts: BTreeMap<u32, Vec<i64>> = BTreeMap::new();
            for (seq, attempts) in rows {
                by_attempts.entry(*attempts).or_default().push(*seq);
            }
            for (attempts, seqs) in by_attempts {
                let delay = backoff::backoff(attempts, RETRY_BASE, self.settings.max_backoff);
                let recorded = if in_flight {
                    self.store.mark_unconfirmed(&seqs, delay).await
                } else {
                    self.store.mark_failed(&seqs, delay).await
                };
                if let Err(error) = recorded {
                    tracing::error!(%error, rows = seqs.len(), "cannot schedule the retry of unpublished events");
                }
            }
        }
    }

    /// Whether to stop: only after shutdown, once the outbox is empty or the grace is over.
    async fn finished(&mut self) -> bool {
        if !self.shutdown.is_cancelled() {
            return false;
        }
        let deadline = *self
            .drain_deadline
            .get_or_insert_with(|| Instant::now() + self.drain_grace);
        let depth = self.store.outbox_depth().await;
        match depth {
            Ok(0) => true,
            Ok(left) if Instant::now() >= deadline => {
                tracing::warn!(
                    left,
                    "shutdown grace over; the remaining events stay in the outbox for the next start"
                );
                true
            }
            Err(error) if Instant::now() >= deadline => {
                tracing::warn!(%error, "shutdown grace over; cannot tell how many events remain");
                true
            }
            _ => false,
        }
    }

    /// `limit`, shortened to what is left of the drain grace once shutting down.
    fn bounded(&self, limit: Duration) -> Duration {
        match self.drain_deadline {
            Some(deadline) => limit.min(deadline.saturating_duration_since(Instant::now())),
            None => limit,
        }
    }

    /// Sleeps `delay`, woken early by shutdown (to start draining) and cut at the drain deadline.
    async fn pause(&self, delay: Duration) {
        tokio::select! {
            _ = tokio::time::sleep(self.bounded(delay)) => {}
            _ = self.shutdown.cancelled(), if !self.shutdown.is_cancelled() => {}
        }
    }

    async fn report_depth(&self) {
        if let Ok(depth) = self.store.outbox_depth().await {
            metrics::gauge!("ado_ingest_outbox_depth").set(depth as f64);
        }
    }
}
