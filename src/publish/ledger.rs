//! Reading the ledger stream back after a crash or a lost connection: which of the sends whose
//! outcome was never recorded did the broker route? A unique marker is appended to the stream
//! first; everything routed before it (in particular by the previous, dead session) is in the
//! stream before the marker, so reading from the oldest unrecorded send up to the marker sees every
//! such send that was routed. (A send of a dead connection that the broker routes only after the
//! marker, while still processing that connection's last frames, is not seen: it is published
//! again — a duplicate, never a loss.)

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Confirmation};

use super::batch::{APP_ID, SEND_ID_HEADER};
use super::link::Link;
use crate::store::InFlightMessage;

/// How far before the oldest send the stream is read: the stream indexes by the broker's clock,
/// the sends were timed by this host's, and chunks are indexed by their first message.
pub(crate) const CLOCK_MARGIN: Duration = Duration::from_secs(60);
/// Ledger entries the broker may send ahead of our acks (stream consumers require a prefetch).
const PREFETCH: u16 = 1000;
/// Acks are sent for this many entries at once (`multiple`), well within the prefetch.
const ACK_EVERY: u64 = 250;
/// How long closing the reading channel may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// What reading the ledger found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Seqs of the in-flight rows whose send is in the ledger: the broker routed them.
    pub routed: Vec<i64>,
    /// Ledger entries read.
    pub entries: u64,
    /// Why the ledger could not be read up to the marker, if it could not: rows not found may then
    /// have been routed all the same.
    pub incomplete: Option<String>,
}

/// Looks up the sends of `rows` in the ledger stream `queue`, giving up at `deadline`.
pub async fn scan(
    link: &Link,
    queue: &ShortString,
    rows: &[InFlightMessage],
    deadline: Instant,
) -> Scan {
    let mut scan = Scan::default();
    let marker = format!("ado-ingest.ledger-marker.{:032x}", rand::random::<u128>());
    if let Err(reason) = write_marker(&link.channel, queue, &marker, deadline).await {
        scan.incomplete = Some(reason);
        return scan;
    }
    let channel = match link.open_channel().await {
        Ok(channel) => channel,
        Err(e) => {
            scan.incomplete = Some(format!("cannot open a channel to read the ledger: {e}"));
            return scan;
        }
    };
    let oldest = rows.iter().map(|r| r.sent_at).min().unwrap_or_default();
    let from = oldest.timestamp() - i64::try_from(CLOCK_MARGIN.as_secs()).unwrap_or(60);
    let from = u64::try_from(from).unwrap_or(0);
    if let Err(reason) = read_until(&channel, queue, &marker, rows, from, deadline, &mut scan).await
    {
        scan.incomplete = Some(reason);
    }
    if channel.status().connected() {
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, channel.close(200, "OK".into())).await;
    }
    scan
}

/// Appends the marker to the stream (default exchange) and waits for its confirm.
async fn write_marker(
    channel: &Channel,
    queue: &ShortString,
    marker: &str,
    deadline: Instant,
) -> Result<(), String> {
    let properties = BasicProperties::default()
        .with_delivery_mode(2)
        .with_message_id(marker.into())
        .with_app_id(APP_ID.into());
    let options = BasicPublishOptions {
        mandatory: true,
        ..BasicPublishOptions::default()
    };
    let confirm = channel
        .basic_publish("".into(), queue.clone(), options, b"", properties)
        .await
        .map_err(|e| format!("cannot write the marker into the ledger: {e}"))?;
    match tokio::time::timeout_at(deadline.into(), confirm).await {
        Ok(Ok(Confirmation::Ack(None))) => Ok(()),
        Ok(Ok(Confirmation::Ack(Some(_)))) => Err(format!("the ledger stream {queue} is missing")),
        Ok(Ok(other)) => Err(format!(
            "the broker did not take the ledger marker: {other:?}"
        )),
        Ok(Err(e)) => Err(format!("cannot write the marker into the ledger: {e}")),
        Err(_) => Err("timed out writing the marker into the ledger".into()),
    }
}

/// Consumes the stream from `from` (Unix seconds) until the marker, collecting routed rows.
async fn read_until(
    channel: &Channel,
    queue: &ShortString,
    marker: &str,
    rows: &[InFlightMessage],
    from: u64,
    deadline: Instant,
    scan: &mut Scan,
) -> Result<(), String> {
    let read_error = |e: lapin::Error| format!("cannot read the ledger stream {queue}: {e}");
    let mut wanted: HashMap<&str, Vec<(i64, i64)>> = HashMap::with_capacity(rows.len());
    for row in rows {
        wanted
            .entry(row.id.as_str())
            .or_default()
            .push((row.send_id, row.seq));
    }
    channel
        .basic_qos(PREFETCH, BasicQosOptions::default())
        .await
        .map_err(read_error)?;
    let mut arguments = FieldTable::default();
    arguments.insert("x-stream-offset".into(), AMQPValue::Timestamp(from));
    let tag: ShortString = "ado-ingest-ledger-scan".into();
    let mut consumer = channel
        .basic_consume(
            queue.clone(),
            tag.clone(),
            BasicConsumeOptions::default(),
            arguments,
        )
        .await
        .map_err(read_error)?;
    let mut routed = HashSet::new();
    let result = loop {
        let delivery = match tokio::time::timeout_at(deadline.into(), consumer.next()).await {
            Ok(Some(Ok(delivery))) => delivery,
            Ok(Some(Err(e))) => break Err(read_error(e)),
            Ok(None) => break Err("the broker cancelled the ledger consumer".into()),
            Err(_) => {
                break Err(format!(
                    "timed out after reading {} ledger entries",
                    scan.entries
                ));
            }
        };
        scan.entries += 1;
        let id = delivery
            .properties
            .message_id()
            .as_ref()
            .map(ShortString::as_str);
        if id == Some(marker) {
            break Ok(());
        }
        if let (Some(sends), Some(send_id)) = (id.and_then(|id| wanted.get(id)), send_id(&delivery))
        {
            routed.extend(
                sends
                    .iter()
                    .filter(|(s, _)| *s == send_id)
                    .map(|(_, seq)| *seq),
            );
        }
        // Stream consumers get more entries only as they ack (credit); one ack covers many.
        if scan.entries.is_multiple_of(ACK_EVERY) {
            let ack = BasicAckOptions { multiple: true };
            if let Err(e) = channel.basic_ack(delivery.delivery_tag, ack).await {
                break Err(read_error(e));
            }
        }
    };
    scan.routed = routed.into_iter().collect();
    scan.routed.sort_unstable();
    if result.is_ok() {
        let _ = channel
            .basic_cancel(tag, BasicCancelOptions::default())
            .await;
    }
    result
}

/// The send id header of a ledger entry, whatever integer type it came back as.
fn send_id(delivery: &lapin::message::Delivery) -> Option<i64> {
    let headers = delivery.properties.headers().as_ref()?;
    match headers.inner().get(SEND_ID_HEADER)? {
        AMQPValue::LongLongInt(v) => Some(*v),
        AMQPValue::LongInt(v) => Some(i64::from(*v)),
        AMQPValue::LongUInt(v) => Some(i64::from(*v)),
        AMQPValue::ShortInt(v) => Some(i64::from(*v)),
        AMQPValue::ShortUInt(v) => Some(i64::from(*v)),
        AMQPValue::ShortShortInt(v) => Some(i64::from(*v)),
        AMQPValue::ShortShortUInt(v) => Some(i64::from(*v)),
        _ => None,
    }
}
