//! Helpers of the publisher tests on top of the test kit: a broker session that declares and reads
//! the publisher's queues and the ledger stream, publisher settings, a store in a temp dir, events.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use futures::StreamExt;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicGetOptions, BasicQosOptions, ExchangeDeleteOptions,
    QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, Connection, ConnectionProperties};

use ado_ingest::normalize::NormalizedEvent;
use ado_ingest::publish::{
    PublisherSettings, all_queue_name, inbound_exchange_name, ledger_queue_name, unrouted_name,
};
use ado_ingest::store::sqlite::SqliteStore;
pub use ado_testkit::proxy::{Proxy, refused_port};
pub use ado_testkit::{Topology, amqp_url as broker_url, eventually};

/// A test's own broker session. Without a broker the test fails, unless
/// `ADO_INGEST_SKIP_BROKER_TESTS` is set (then `None`: the test prints a note and passes).
pub async fn broker_session(exchange: &str) -> Option<TestBroker> {
    match Connection::connect(&broker_url(), ConnectionProperties::default()).await {
        Ok(connection) => {
            let channel = connection.create_channel().await.expect("test channel");
            Some(TestBroker {
                connection,
                channel,
                exchange: exchange.to_string(),
                queues: Vec::new(),
                _topology: Topology::guard(exchange),
            })
        }
        Err(e) if std::env::var_os("ADO_INGEST_SKIP_BROKER_TESTS").is_some() => {
            eprintln!(
                "note: skipping, RabbitMQ unreachable ({e}) and ADO_INGEST_SKIP_BROKER_TESTS is set"
            );
            None
        }
        Err(e) => panic!(
            "RabbitMQ is unreachable at {} ({e}); start it or set ADO_INGEST_SKIP_BROKER_TESTS=1",
            ado_ingest::publish::redact_url(&broker_url())
        ),
    }
}

/// A unique exchange and a broker session with the publisher's topology declared (no ledger).
pub async fn broker_with_topology(test: &str) -> Option<(String, TestBroker)> {
    let exchange = ado_testkit::unique(test);
    let broker = broker_session(&exchange).await?;
    ado_ingest::publish::declare_topology(&broker.channel, &exchange, false)
        .await
        .unwrap();
    Some((exchange, broker))
}

/// Queue arguments for a queue that holds one message and nacks publishes beyond it.
pub fn reject_beyond_one() -> FieldTable {
    let mut arguments = FieldTable::default();
    arguments.insert("x-max-length".into(), AMQPValue::LongLongInt(1));
    arguments.insert(
        "x-overflow".into(),
        AMQPValue::LongString("reject-publish".into()),
    );
    arguments
}

pub struct TestBroker {
    pub connection: Connection,
    pub channel: Channel,
    pub exchange: String,
    queues: Vec<String>,
    /// Deletes the publisher's topology also when the test panics before `cleanup`.
    _topology: Topology,
}

impl TestBroker {
    /// Declares an auto-deleted queue bound to the test exchange with `binding_key`.
    pub async fn bind_queue(
        &mut self,
        suffix: &str,
        binding_key: &str,
        arguments: FieldTable,
    ) -> String {
        let queue = format!("{}.test-{suffix}", self.exchange);
        let options = QueueDeclareOptions {
            auto_delete: true,
            ..QueueDeclareOptions::default()
        };
        self.channel
            .queue_declare(queue.as_str().into(), options, arguments)
            .await
            .expect("declare test queue");
        self.channel
            .queue_bind(
                queue.as_str().into(),
                self.exchange.as_str().into(),
                binding_key.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("bind test queue");
        self.queues.push(queue.clone());
        queue
    }

    /// Takes up to `n` messages from `queue`, waiting up to `within` for them.
    pub async fn take(&self, queue: &str, n: usize, within: Duration) -> Vec<Delivery> {
        let deadline = Instant::now() + within;
        let mut got = Vec::new();
        while got.len() < n && Instant::now() < deadline {
            match self.get(queue).await {
                Some(delivery) => got.push(delivery),
                None => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
        got
    }

    /// One message from `queue`, if any.
    pub async fn get(&self, queue: &str) -> Option<Delivery> {
        self.channel
            .basic_get(queue.into(), BasicGetOptions { no_ack: true })
            .await
            .expect("basic.get")
            .map(|m| m.delivery)
    }

    /// Every entry of the stream `queue` from its start, until none came for `quiet`.
    pub async fn read_stream(&self, queue: &str, quiet: Duration) -> Vec<Delivery> {
        let channel = self
            .connection
            .create_channel()
            .await
            .expect("stream channel");
        channel
            .basic_qos(500, BasicQosOptions::default())
            .await
            .expect("qos");
        let mut arguments = FieldTable::default();
        arguments.insert(
            "x-stream-offset".into(),
            AMQPValue::LongString("first".into()),
        );
        let mut consumer = channel
            .basic_consume(
                queue.into(),
                "test-stream-reader".into(),
                BasicConsumeOptions::default(),
                arguments,
            )
            .await
            .expect("consume the stream");
        let mut got = Vec::new();
        while let Ok(Some(delivery)) = tokio::time::timeout(quiet, consumer.next()).await {
            let delivery = delivery.expect("stream delivery");
            delivery.ack(BasicAckOptions::default()).await.expect("ack");
            got.push(delivery);
        }
        let _ = channel.close(200, "OK".into()).await;
        got
    }

    /// Deletes everything the test and the publisher declared.
    pub async fn cleanup(self) {
        let mut queues = self.queues.clone();
        queues.push(unrouted_name(&self.exchange));
        queues.push(all_queue_name(&self.exchange));
        queues.push(ledger_queue_name(&self.exchange));
        for queue in queues {
            let _ = self
                .channel
                .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                .await;
        }
        let exchanges = [
            inbound_exchange_name(&self.exchange),
            self.exchange.clone(),
            unrouted_name(&self.exchange),
        ];
        for exchange in exchanges {
            let _ = self
                .channel
                .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
                .await;
        }
        let _ = self.connection.close(200, "OK".into()).await;
    }
}

/// Publisher settings for tests: small batches and short backoffs.
pub fn settings(amqp_url: &str, exchange: &str) -> PublisherSettings {
    PublisherSettings {
        amqp_url: amqp_url.to_string(),
        exchange: exchange.to_string(),
        declare_default_queue: false,
        batch_size: 64,
        confirm_timeout: Duration::from_secs(5),
        max_backoff: Duration::from_millis(300),
        ledger: true,
        ledger_max_bytes: 64 * 1024 * 1024,
        signer: None,
    }
}

/// A store in a fresh temporary directory (kept as long as the returned guard).
pub async fn temp_store() -> (tempfile::TempDir, Arc<SqliteStore>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.sqlite").display().to_string();
    let store = Arc::new(SqliteStore::open(&path, 100_000).await.expect("open store"));
    (dir, store)
}

pub fn event(id: &str, routing_key: &str) -> NormalizedEvent {
    let event_type = routing_key
        .splitn(3, '.')
        .nth(2)
        .unwrap_or("ado.passthrough")
        .to_string();
    NormalizedEvent {
        id: id.to_string(),
        event_type,
        routing_key: routing_key.to_string(),
        time: Utc
            .with_ymd_and_hms(2024, 5, 1, 12, 30, 15)
            .single()
            .expect("valid time"),
        body: format!(r#"{{"specversion":"1.0","id":"{id}"}}"#).into_bytes(),
    }
}
