//! The demo's own view of the exchange: a server-named, exclusive queue bound `#` that counts every
//! message by id.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use futures::StreamExt;
use lapin::options::BasicAckOptions;
use lapin::{Connection, ConnectionProperties};

/// One event id as seen on the exchange.
#[derive(Debug, Clone)]
pub struct SeenMessage {
    /// Normalized type (AMQP `type`).
    pub kind: String,
    /// How many times it was published.
    pub count: u32,
    /// `adoorigin` of its first copy: `hook`, `backfill` (the reconciler) or `replay`.
    pub origin: String,
}

/// Messages seen, by id.
pub type Seen = HashMap<String, SeenMessage>;

pub struct Tap {
    _conn: Connection,
    seen: Arc<Mutex<Seen>>,
}

impl Tap {
    pub async fn bind(amqp_url: &str, exchange: &str) -> anyhow::Result<Self> {
        let conn = Connection::connect(amqp_url, ConnectionProperties::default())
            .await
            .with_context(|| {
                format!(
                    "cannot connect to RabbitMQ at {}",
                    crate::publish::redact_url(amqp_url)
                )
            })?;
        let mut consumer = crate::publish::consume_everything(&conn, exchange, None).await?;
        let seen: Arc<Mutex<Seen>> = Arc::default();
        let sink = seen.clone();
        tokio::spawn(async move {
            while let Some(Ok(delivery)) = consumer.next().await {
                let id = delivery
                    .properties
                    .message_id()
                    .as_ref()
                    .map(|s| s.to_string())
                    .unwrap_or_default();
                let kind = delivery
                    .properties
                    .kind()
                    .as_ref()
                    .map(|s| s.to_string())
                    .unwrap_or_default();
                let origin = serde_json::from_slice::<serde_json::Value>(&delivery.data)
                    .ok()
                    .and_then(|v| v["adoorigin"].as_str().map(str::to_string))
                    .unwrap_or_default();
                {
                    let mut seen = sink.lock().expect("tap lock");
                    let entry = seen.entry(id).or_insert(SeenMessage {
                        kind,
                        count: 0,
                        origin,
                    });
                    entry.count += 1;
                }
                let _ = delivery.ack(BasicAckOptions::default()).await;
            }
        });
        Ok(Self { _conn: conn, seen })
    }

    /// Messages received so far.
    pub fn count(&self) -> usize {
        self.seen
            .lock()
            .expect("tap lock")
            .values()
            .map(|m| m.count as usize)
            .sum()
    }

    /// How many of `ids` have arrived at least once.
    pub fn count_of<'a>(&self, ids: impl Iterator<Item = &'a String>) -> usize {
        let seen = self.seen.lock().expect("tap lock");
        ids.filter(|id| seen.contains_key(*id)).count()
    }

    pub fn snapshot(&self) -> Seen {
        self.seen.lock().expect("tap lock").clone()
    }
}
