//! The two baselines that bound what ado-ingest could reach on this machine: an axum endpoint that
//! only parses the JSON (HTTP + parse, nothing durable), and bare confirm-mode publishing of the
//! same bodies (the broker's own limit for persistent, mandatory, confirmed messages).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use bytes::Bytes;
use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties};

use crate::load::{self, Run, Target};

async fn parse_only(body: Bytes) -> StatusCode {
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(_) => StatusCode::OK,
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

/// Baseline A: the same closed loop against a bare axum endpoint on its own 2-thread runtime
/// (like the server's process, not sharing the client's worker threads).
pub async fn bare_axum(
    client: &reqwest::Client,
    bodies: Arc<Vec<Bytes>>,
    concurrency: usize,
) -> anyhow::Result<Run> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bare-axum")
        .enable_all()
        .build()?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let server = runtime.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let app = Router::new().route("/hooks", post(parse_only));
        axum::serve(listener, app).await
    });
    let target = Target {
        client: client.clone(),
        urls: vec![format!("http://{addr}/hooks")],
        auth: None,
        expect: reqwest::StatusCode::OK,
    };
    let run = load::closed_loop(&target, bodies, concurrency).await;
    server.abort();
    // Dropping a runtime inside async code would panic; this one is torn down in the background.
    runtime.shutdown_background();
    run
}

/// Baseline B's result.
pub struct Published {
    pub count: usize,
    pub elapsed: Duration,
}

impl Published {
    pub fn per_second(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64()
    }
}

/// Baseline B: publish every body persistent + mandatory to a temporary topic exchange bound to a
/// temporary durable queue, `window` at a time, awaiting all confirms of a window before the next.
/// The exchange and queue are deleted afterwards, also on error.
pub async fn bare_publish(
    amqp_url: &str,
    name: &str,
    bodies: &[Bytes],
    window: usize,
) -> anyhow::Result<Published> {
    let conn = Connection::connect(amqp_url, ConnectionProperties::default())
        .await
        .context("cannot connect to RabbitMQ")?;
    let channel = conn.create_channel().await?;
    let result = async {
        declare(&channel, name).await?;
        let published = publish_all(&channel, name, bodies, window).await?;
        let passive = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        let queued = channel
            .queue_declare(name.into(), passive, FieldTable::default())
            .await?
            .message_count();
        if (queued as usize) < bodies.len() {
            bail!(
                "only {queued} of {} messages reached the queue",
                bodies.len()
            );
        }
        Ok(published)
    }
    .await;
    // A fresh channel: the one above may have been closed by an error.
    if let Ok(ch) = conn.create_channel().await {
        let _ = ch.queue_delete(name.into(), Default::default()).await;
        let _ = ch.exchange_delete(name.into(), Default::default()).await;
    }
    let _ = conn.close(200, "bye".into()).await;
    result
}

async fn declare(channel: &Channel, name: &str) -> anyhow::Result<()> {
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    channel
        .exchange_declare(
            name.into(),
            lapin::ExchangeKind::Topic,
            durable,
            FieldTable::default(),
        )
        .await?;
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("classic".into()),
    );
    let options = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    channel
        .queue_declare(name.into(), options, arguments)
        .await?;
    channel
        .queue_bind(
            name.into(),
            name.into(),
            "#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    Ok(())
}

async fn publish_all(
    channel: &Channel,
    exchange: &str,
    bodies: &[Bytes],
    window: usize,
) -> anyhow::Result<Published> {
    let options = BasicPublishOptions {
        mandatory: true,
        ..BasicPublishOptions::default()
    };
    let properties = BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type("application/json".into());
    let started = Instant::now();
    for chunk in bodies.chunks(window.max(1)) {
        // Publishes of a window go out back to back; then every confirm of the window is awaited.
        let publishes = chunk.iter().map(|body| {
            channel.basic_publish(
                exchange.into(),
                "bench.baseline".into(),
                options,
                body,
                properties.clone(),
            )
        });
        let confirms = futures::future::join_all(publishes).await;
        for confirm in confirms {
            match confirm?.await? {
                Confirmation::Ack(None) => {}
                Confirmation::Ack(Some(_)) => bail!("the broker returned a message as unroutable"),
                Confirmation::Nack(_) => bail!("the broker nacked a message"),
                Confirmation::NotRequested => bail!("the channel is not in confirm mode"),
            }
        }
    }
    Ok(Published {
        count: bodies.len(),
        elapsed: started.elapsed(),
    })
}
