//! The broker-side objects ado-ingest owns, declared on every (re)connect so a fresh or wiped broker
//! is usable at once: the topic exchange events go to, and an alternate exchange with a quorum queue
//! catching every event no consumer binding matches, so nothing is silently dropped (SPEC §3).

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{Channel, ExchangeKind};

use super::PublishError;

/// Name of the alternate exchange and of the quorum queue bound to it.
pub fn unrouted_name(exchange: &str) -> String {
    format!("{exchange}.unrouted")
}

/// Name of the optional catch-all quorum queue bound with `#`.
pub fn all_queue_name(exchange: &str) -> String {
    format!("{exchange}.all")
}

/// Declares (idempotently) the durable topic exchange `exchange` with `alternate-exchange =
/// {exchange}.unrouted`, that durable fanout exchange bound to the durable quorum queue of the same
/// name, and, when asked, the quorum queue `{exchange}.all` bound with `#`.
pub async fn declare_topology(
    channel: &Channel,
    exchange: &str,
    declare_default_queue: bool,
) -> Result<(), PublishError> {
    let unrouted = unrouted_name(exchange);
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    // The alternate exchange first: the main exchange then never routes to a missing one.
    channel
        .exchange_declare(
            name(&unrouted)?,
            ExchangeKind::Fanout,
            durable,
            FieldTable::default(),
        )
        .await
        .map_err(|e| topology(format!("exchange {unrouted}"), e))?;
    let mut arguments = FieldTable::default();
    arguments.insert(
        "alternate-exchange".into(),
        AMQPValue::LongString(unrouted.as_str().into()),
    );
    channel
        .exchange_declare(name(exchange)?, ExchangeKind::Topic, durable, arguments)
        .await
        .map_err(|e| topology(format!("exchange {exchange}"), e))?;
    declare_bound_quorum_queue(channel, &unrouted, &unrouted, "").await?;
    if declare_default_queue {
        declare_bound_quorum_queue(channel, &all_queue_name(exchange), exchange, "#").await?;
    }
    Ok(())
}

async fn declare_bound_quorum_queue(
    channel: &Channel,
    queue: &str,
    exchange: &str,
    binding_key: &str,
) -> Result<(), PublishError> {
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    let options = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    channel
        .queue_declare(name(queue)?, options, arguments)
        .await
        .map_err(|e| topology(format!("quorum queue {queue}"), e))?;
    channel
        .queue_bind(
            name(queue)?,
            name(exchange)?,
            name(binding_key)?,
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|e| topology(format!("binding {exchange} -> {queue}"), e))
}

/// An AMQP name; refuses (instead of lapin's panic) names over 255 bytes.
fn name(value: &str) -> Result<ShortString, PublishError> {
    ShortString::try_new(value).map_err(|_| PublishError::NameTooLong(value.to_string()))
}

fn topology(what: String, source: lapin::Error) -> PublishError {
    PublishError::Topology { what, source }
}
