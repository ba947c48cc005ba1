//! `ado-ingest tail`: prints the events arriving on the exchange, from a temporary queue of its own
//! (exclusive, deleted when it stops), for people who want to look without writing a consumer.

use std::io::Write;

use anyhow::Context;
use futures::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::config::Config;

#[derive(clap::Args, Debug)]
pub struct TailArgs {
    /// Binding key(s) of the temporary queue, e.g. `*.*.workitem.#` or `contoso.#` (repeatable).
    #[arg(long, default_value = "#")]
    pub binding: Vec<String>,
    /// One line per event (time, type, subject, id, routing key) instead of pretty JSON.
    #[arg(long)]
    pub oneline: bool,
    /// Stop after this many events.
    #[arg(long)]
    pub limit: Option<u64>,
    /// The exchange (default: `exchange` of the configuration).
    #[arg(long)]
    pub exchange: Option<String>,
}

/// Connects to the first reachable broker of the configuration.
async fn connect(config: &Config) -> anyhow::Result<Connection> {
    let mut last = None;
    for url in config.amqp_urls() {
        match Connection::connect(&url, ConnectionProperties::default()).await {
            Ok(conn) => return Ok(conn),
            Err(e) => last = Some(e),
        }
    }
    Err(anyhow::anyhow!(
        "cannot connect to any broker of amqp_url: {}",
        last.map(|e| e.to_string())
            .unwrap_or_else(|| "none configured".into())
    ))
}

/// How one event is printed.
pub fn render(routing_key: &str, body: &[u8], oneline: bool) -> String {
    let Ok(event) = serde_json::from_slice::<Value>(body) else {
        return format!("{routing_key} (not JSON) {}", String::from_utf8_lossy(body));
    };
    if oneline {
        let field = |name: &str| event[name].as_str().unwrap_or("-").to_string();
        format!(
            "{} {} {} {} {routing_key}",
            field("time"),
            field("type"),
            field("subject"),
            field("id")
        )
    } else {
        serde_json::to_string_pretty(&event).unwrap_or_default()
    }
}

/// Prints events to `out` until `stop`, the limit, or the broker closes; returns how many.
pub async fn run(
    args: TailArgs,
    config: &Config,
    mut out: impl Write,
    stop: CancellationToken,
) -> anyhow::Result<u64> {
    let exchange = args.exchange.unwrap_or_else(|| config.exchange.clone());
    let conn = connect(config).await?;
    let channel = conn.create_channel().await?;
    let queue = channel
        .queue_declare(
            "".into(),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .context("cannot declare the temporary queue")?;
    for binding in &args.binding {
        channel
            .queue_bind(
                queue.name().clone(),
                exchange.as_str().into(),
                binding.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .with_context(|| format!("cannot bind to exchange {exchange} (does it exist?)"))?;
    }
    let mut consumer = channel
        .basic_consume(
            queue.name().clone(),
            "ado-ingest-tail".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    eprintln!(
        "tail: listening on {exchange} with {} (Ctrl-C to stop)",
        args.binding.join(", ")
    );
    let mut printed = 0;
    while args.limit.is_none_or(|limit| printed < limit) {
        let delivery = tokio::select! {
            _ = stop.cancelled() => break,
            next = consumer.next() => match next {
                Some(delivery) => delivery.context("the broker closed the consumer")?,
                None => break,
            },
        };
        writeln!(
            out,
            "{}",
            render(delivery.routing_key.as_str(), &delivery.data, args.oneline)
        )?;
        out.flush()?;
        delivery.ack(BasicAckOptions::default()).await?;
        printed += 1;
    }
    let _ = conn.close(200, "bye".into()).await;
    Ok(printed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_event_or_pretty_json() {
        let body = br#"{"id":"e1","type":"git.push","subject":"repositories/r/pushes/7","time":"2026-01-02T03:04:05Z"}"#;
        assert_eq!(
            render("contoso.p.git.push", body, true),
            "2026-01-02T03:04:05Z git.push repositories/r/pushes/7 e1 contoso.p.git.push"
        );
        assert!(render("k", body, false).contains("\n  \"id\": \"e1\""));
        assert_eq!(render("k", b"oops", true), "k (not JSON) oops");
    }
}
