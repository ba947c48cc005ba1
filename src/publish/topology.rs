//! The broker-side objects ado-ingest owns, declared on every (re)connect so a fresh or wiped broker
//! is usable at once: the topic exchange events go to, and an alternate exchange with a quorum queue
//! catching every event no consumer binding matches, so nothing is silently dropped
//! (docs/contract.md#output-contract); with
//! the ledger, the fanout exchange the publisher sends to, feeding both that topic exchange and the
//! ledger stream in one routing decision.

use lapin::options::{
    ExchangeBindOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
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

/// Name of the fanout exchange the publisher sends to when the ledger is on.
pub fn inbound_exchange_name(exchange: &str) -> String {
    format!("{exchange}.in")
}

/// Name of the ledger stream: every message the publisher sent that the broker routed.
pub fn ledger_queue_name(exchange: &str) -> String {
    format!("{exchange}.ledger")
}

/// Largest ledger segment; retention drops whole segments, so they must be well under the bound.
const LEDGER_SEGMENT_MAX: u64 = 16 * 1024 * 1024;
/// Smallest ledger size accepted (smaller settings are raised to it).
pub const LEDGER_MIN_BYTES: u64 = 4 * 1024 * 1024;

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

/// Declares (idempotently) the ledger: the durable fanout exchange `{exchange}.in`, bound
/// exchange-to-exchange to `exchange` (declared by [`declare_topology`] before) and to the durable
/// stream `{exchange}.ledger` holding at most about `max_bytes`. A message published to
/// `{exchange}.in` is routed to the stream and through `exchange` (its bindings or its alternate
/// exchange) in the same routing decision, so finding it in the stream proves it was routed.
pub async fn declare_ledger(
    channel: &Channel,
    exchange: &str,
    max_bytes: u64,
) -> Result<(), PublishError> {
    let inbound = inbound_exchange_name(exchange);
    let ledger = ledger_queue_name(exchange);
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    channel
        .exchange_declare(
            name(&inbound)?,
            ExchangeKind::Fanout,
            durable,
            FieldTable::default(),
        )
        .await
        .map_err(|e| topology(format!("exchange {inbound}"), e))?;
    let max_bytes = max_bytes.max(LEDGER_MIN_BYTES);
    let segment = (max_bytes / 8).min(LEDGER_SEGMENT_MAX);
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("stream".into()),
    );
    arguments.insert(
        "x-max-length-bytes".into(),
        AMQPValue::LongLongInt(i64::try_from(max_bytes).unwrap_or(i64::MAX)),
    );
    arguments.insert(
        "x-stream-max-segment-size-bytes".into(),
        AMQPValue::LongLongInt(i64::try_from(segment).unwrap_or(i64::MAX)),
    );
    let options = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    channel
        .queue_declare(name(&ledger)?, options, arguments)
        .await
        .map_err(|e| topology(format!("ledger stream {ledger}"), e))?;
    channel
        .queue_bind(
            name(&ledger)?,
            name(&inbound)?,
            name("")?,
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|e| topology(format!("binding {inbound} -> {ledger}"), e))?;
    channel
        .exchange_bind(
            name(exchange)?,
            name(&inbound)?,
            name("")?,
            ExchangeBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|e| topology(format!("binding {inbound} -> {exchange}"), e))
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

/// Deletes everything [`declare_topology`] and [`declare_ledger`] declare for `exchange` (queues
/// with their messages), ignoring what does not exist. For throw-away exchanges: the demo, tests and
/// benchmarks. One channel per operation, since an error closes its channel.
pub async fn delete_topology(amqp_url: &str, exchange: &str) {
    use lapin::{Connection, ConnectionProperties};
    let Ok(conn) = Connection::connect(amqp_url, ConnectionProperties::default()).await else {
        return;
    };
    for queue in [
        unrouted_name(exchange),
        all_queue_name(exchange),
        ledger_queue_name(exchange),
    ] {
        if let Ok(ch) = conn.create_channel().await {
            let _ = ch.queue_delete(queue.into(), Default::default()).await;
            let _ = ch.close(200, "ok".into()).await;
        }
    }
    for x in [
        inbound_exchange_name(exchange),
        exchange.to_string(),
        unrouted_name(exchange),
    ] {
        if let Ok(ch) = conn.create_channel().await {
            let _ = ch.exchange_delete(x.into(), Default::default()).await;
            let _ = ch.close(200, "ok".into()).await;
        }
    }
    let _ = conn.close(200, "topology deleted".into()).await;
}

/// Declares a queue bound with `#` to `exchange` and starts consuming it: every event the exchange
/// routes. `queue = None` asks the broker for an exclusive, server-named queue; a named queue is
/// auto-deleted with its last consumer. For the demo's tally and for tests.
pub async fn consume_everything(
    conn: &lapin::Connection,
    exchange: &str,
    queue: Option<&str>,
) -> lapin::Result<lapin::Consumer> {
    use lapin::options::{BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
    use lapin::types::FieldTable;
    let ch = conn.create_channel().await?;
    let opts = QueueDeclareOptions {
        exclusive: queue.is_none(),
        auto_delete: true,
        ..Default::default()
    };
    let declared = ch
        .queue_declare(queue.unwrap_or("").into(), opts, FieldTable::default())
        .await?;
    let name = declared.name().clone();
    ch.queue_bind(
        name.clone(),
        exchange.into(),
        "#".into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await?;
    ch.basic_consume(
        name,
        "ado-ingest-tap".into(),
        BasicConsumeOptions::default(),
        FieldTable::default(),
    )
    .await
}
