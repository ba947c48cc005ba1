//! A queue bound with `#` to a test's exchange, reading back what the service published.

use std::time::{Duration, Instant};

use futures::StreamExt;
use lapin::Connection;
use lapin::options::BasicAckOptions;
use serde_json::Value;

/// One message read back from the exchange.
#[derive(Debug, Clone)]
pub struct Received {
    pub routing_key: String,
    pub message_id: Option<String>,
    pub content_type: Option<String>,
    pub kind: Option<String>,
    pub delivery_mode: Option<u8>,
    pub timestamp: Option<u64>,
    /// String-valued headers (e.g. the signature headers).
    pub headers: std::collections::BTreeMap<String, String>,
    pub body: Value,
    /// The body as published, byte for byte (what a signature covers).
    pub data: Vec<u8>,
}

pub struct Tap {
    /// Kept so the consumer's connection lives as long as the tap.
    _conn: Connection,
    pub queue: String,
    consumer: lapin::Consumer,
}

impl Tap {
    /// Declares `{exchange}.tap` (deleted by the exchange's [`crate::Topology`]) and consumes it.
    pub async fn bind(exchange: &str) -> Self {
        let conn = crate::broker::connect().await;
        let queue = format!("{exchange}.tap");
        let consumer = ado_ingest::publish::consume_everything(&conn, exchange, Some(&queue))
            .await
            .expect("bind the tap queue");
        Self {
            _conn: conn,
            queue,
            consumer,
        }
    }

    /// The next message within `wait`.
    async fn next(&mut self, wait: Duration) -> Option<Received> {
        match tokio::time::timeout(wait, self.consumer.next()).await {
            Ok(Some(Ok(d))) => {
                let p = &d.properties;
                let received = Received {
                    routing_key: d.routing_key.to_string(),
                    message_id: p.message_id().as_ref().map(|s| s.to_string()),
                    content_type: p.content_type().as_ref().map(|s| s.to_string()),
                    kind: p.kind().as_ref().map(|s| s.to_string()),
                    delivery_mode: *p.delivery_mode(),
                    timestamp: *p.timestamp(),
                    headers: p
                        .headers()
                        .as_ref()
                        .map(|h| {
                            h.inner()
                                .iter()
                                .filter_map(|(k, v)| match v {
                                    lapin::types::AMQPValue::LongString(s) => {
                                        Some((k.to_string(), s.to_string()))
                                    }
                                    _ => None,
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    body: serde_json::from_slice(&d.data).unwrap_or(Value::Null),
                    data: d.data.clone(),
                };
                d.ack(BasicAckOptions::default()).await.expect("ack");
                Some(received)
            }
            _ => None,
        }
    }

    /// Collects messages until `expected` arrived and then `quiet` passed without more, or `timeout`.
    pub async fn collect(
        &mut self,
        expected: usize,
        quiet: Duration,
        timeout: Duration,
    ) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let wait = if out.len() >= expected { quiet } else { left };
            match self.next(wait.min(left)).await {
                Some(r) => out.push(r),
                None if out.len() >= expected || wait >= left => break,
                None => {}
            }
        }
        out
    }

    /// `(routing key, body)` of every message until `quiet` passes without one (or `timeout`).
    pub async fn drain(&mut self, quiet: Duration, timeout: Duration) -> Vec<(String, Value)> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        while Instant::now() < deadline {
            match self.next(quiet).await {
                Some(r) => out.push((r.routing_key, r.body)),
                None => break,
            }
        }
        out
    }
}
