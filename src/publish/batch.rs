//! One confirm round: publish a batch of outbox rows back to back (pipelined), then collect every
//! publisher confirm. Only a plain ack counts as published; a nack, a returned (unroutable,
//! mandatory) message, a missing confirm or a channel error keeps the row for a retry.

use std::time::Instant;

use lapin::options::BasicPublishOptions;
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Confirmation};

use super::signing::{ID_HEADER, SIGNATURE_HEADER, Signer, TIMESTAMP_HEADER};
use crate::store::PendingMessage;

/// `content-type` of every message: CloudEvents structured mode (docs/contract.md#output-contract).
pub const CONTENT_TYPE: &str = "application/cloudevents+json";
/// `app_id` of every message.
pub const APP_ID: &str = "ado-ingest";
/// Header carrying the id of the send ([`crate::store::Store::mark_sending`]) when the ledger is on:
/// it tells this send's ledger entry from those of earlier sends of the same event that were refused.
pub const SEND_ID_HEADER: &str = "ado-ingest-send";
/// AMQP short strings (routing key, message id, type) hold at most 255 bytes.
const MAX_SHORT_STRING: usize = 255;

/// What became of a batch.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    /// Rows the broker acked without returning them: delete from the outbox.
    pub acked: Vec<i64>,
    /// Rows the broker refused (nack, return), with their attempts so far (for the backoff).
    pub rejected: Vec<(i64, u32)>,
    /// Rows whose confirm never came (timeout, channel or connection error): the broker may or may
    /// not have routed them.
    pub unconfirmed: Vec<(i64, u32)>,
    /// Set when the channel or connection can no longer be trusted: reconnect.
    pub broken: Option<String>,
}

impl BatchOutcome {
    fn reject(&mut self, row_seq: i64, attempts: u32, outcome: &'static str) {
        self.rejected.push((row_seq, attempts));
        metrics::counter!("ado_ingest_publish_confirms_total", "outcome" => outcome).increment(1);
    }

    fn unconfirmed(&mut self, row_seq: i64, attempts: u32, outcome: &'static str) {
        self.unconfirmed.push((row_seq, attempts));
        metrics::counter!("ado_ingest_publish_confirms_total", "outcome" => outcome).increment(1);
    }

    fn broke(&mut self, reason: String) {
        self.broken.get_or_insert(reason);
    }
}

/// Publishes `rows` to `exchange` with `mandatory = true` (tagged with `send_id`, if given) and
/// waits for their confirms until `confirm_deadline`.
pub async fn publish_batch(
    channel: &Channel,
    exchange: &ShortString,
    rows: Vec<PendingMessage>,
    send_id: Option<i64>,
    signer: Option<&Signer>,
    confirm_deadline: Instant,
) -> BatchOutcome {
    let signed_at = chrono::Utc::now().timestamp();
    let started = Instant::now();
    let mut outcome = BatchOutcome::default();
    let mut in_flight = Vec::with_capacity(rows.len());
    let options = BasicPublishOptions {
        mandatory: true,
        ..BasicPublishOptions::default()
    };
    // All publishes are driven at once: each one's frames are queued (and its delivery tag taken)
    // on its first poll, in row order, so the batch goes out back to back and keeps its order;
    // awaiting them one by one would add an IO-loop round trip per message.
    let publishes = rows.iter().map(|row| {
        channel.basic_publish(
            exchange.clone(),
            short(&row.routing_key),
            options,
            &row.body,
            properties(row, send_id, signer.map(|s| (s, signed_at))),
        )
    });
    let published = futures::future::join_all(publishes).await;
    for (row, result) in rows.into_iter().zip(published) {
        match result {
            Ok(confirm) => in_flight.push((row.seq, row.attempts, row.id, confirm)),
            Err(e) => {
                outcome.unconfirmed(row.seq, row.attempts, "error");
                outcome.broke(format!("publish failed: {e}"));
            }
        }
    }
    for (seq, attempts, id, confirm) in in_flight {
        // A timed-out wait still polls the confirm once, so confirms already received count.
        match tokio::time::timeout_at(confirm_deadline.into(), confirm).await {
            Ok(Ok(Confirmation::Ack(None))) => {
                outcome.acked.push(seq);
                metrics::counter!("ado_ingest_publish_confirms_total", "outcome" => "ack")
                    .increment(1);
            }
            Ok(Ok(Confirmation::Ack(Some(returned)))) => {
                tracing::warn!(
                    event_id = %id,
                    reply_code = returned.reply_code,
                    reply_text = %returned.reply_text,
                    "broker returned an event as unroutable (is the alternate exchange missing?); will retry"
                );
                outcome.reject(seq, attempts, "returned");
            }
            Ok(Ok(Confirmation::Nack(_))) => {
                tracing::warn!(event_id = %id, "broker nacked an event; will retry");
                outcome.reject(seq, attempts, "nack");
            }
            Ok(Ok(Confirmation::NotRequested)) => {
                outcome.unconfirmed(seq, attempts, "error");
                outcome.broke("the channel is not in confirm mode".into());
            }
            Ok(Err(e)) => {
                outcome.unconfirmed(seq, attempts, "error");
                outcome.broke(format!("confirm failed: {e}"));
            }
            Err(_) => {
                outcome.unconfirmed(seq, attempts, "timeout");
                // The broker may still confirm later; a fresh channel keeps the books simple.
                outcome.broke("timed out waiting for publisher confirms".into());
            }
        }
    }
    metrics::histogram!("ado_ingest_publish_latency_seconds")
        .record(started.elapsed().as_secs_f64());
    outcome
}

/// Persistent CloudEvents message properties (docs/contract.md#output-contract), plus the send id
/// header with the ledger and the signature headers with signing keys.
fn properties(
    row: &PendingMessage,
    send_id: Option<i64>,
    signer: Option<(&Signer, i64)>,
) -> BasicProperties {
    let properties = BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type(CONTENT_TYPE.into())
        .with_message_id(short(&row.id))
        .with_type(short(&row.event_type))
        .with_timestamp(u64::try_from(row.time.timestamp()).unwrap_or(0))
        .with_app_id(APP_ID.into());
    if send_id.is_none() && signer.is_none() {
        return properties;
    }
    let mut headers = FieldTable::default();
    if let Some(send_id) = send_id {
        headers.insert(SEND_ID_HEADER.into(), AMQPValue::LongLongInt(send_id));
    }
    if let Some((signer, timestamp)) = signer {
        let text = |s: String| AMQPValue::LongString(s.into());
        headers.insert(ID_HEADER.into(), text(row.id.clone()));
        headers.insert(TIMESTAMP_HEADER.into(), text(timestamp.to_string()));
        headers.insert(
            SIGNATURE_HEADER.into(),
            text(signer.signature(&row.id, timestamp, &row.body)),
        );
    }
    properties.with_headers(headers)
}

/// Cuts a value to the AMQP short-string limit at a char boundary. Ids and types are far shorter,
/// but a routing key is built from tenant names: better a truncated key (the event still reaches
/// matching bindings or the unrouted queue) than a panic or an event stuck forever.
fn short(value: &str) -> ShortString {
    let mut end = value.len().min(MAX_SHORT_STRING);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    if end < value.len() {
        tracing::warn!(value = %&value[..end], "AMQP field longer than 255 bytes truncated");
    }
    ShortString::try_new(&value[..end]).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut_at_a_char_boundary() {
        let long = "é".repeat(200); // 400 bytes
        let cut = short(&long);
        assert!(cut.as_str().len() <= MAX_SHORT_STRING);
        assert!(long.starts_with(cut.as_str()));
        assert_eq!(cut.as_str().len(), 254);
        assert_eq!(short("a.b.c").as_str(), "a.b.c");
    }
}
