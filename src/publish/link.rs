//! One broker session: a connection with one confirm-mode channel and the topology declared.

use std::time::Duration;

use lapin::options::ConfirmSelectOptions;
use lapin::{Channel, Connection, ConnectionProperties};

use super::{PublishError, PublisherSettings, declare_ledger, declare_topology};

/// How long a clean close may take before the session is simply dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

pub struct Link {
    connection: Connection,
    pub channel: Channel,
}

impl Link {
    /// Connects, opens a channel in confirm mode and declares the topology; `Ok` means ready.
    pub async fn open(settings: &PublisherSettings, url: &str) -> Result<Link, PublishError> {
        let properties =
            ConnectionProperties::default().with_connection_name("ado-ingest publisher".into());
        let connection = Connection::connect(url, properties)
            .await
            .map_err(PublishError::Connect)?;
        match Self::prepare(&connection, settings).await {
            Ok(channel) => Ok(Link {
                connection,
                channel,
            }),
            Err(e) => {
                let _ =
                    tokio::time::timeout(CLOSE_TIMEOUT, connection.close(200, "OK".into())).await;
                Err(e)
            }
        }
    }

    async fn prepare(
        connection: &Connection,
        settings: &PublisherSettings,
    ) -> Result<Channel, PublishError> {
        let channel = connection
            .create_channel()
            .await
            .map_err(PublishError::Channel)?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(PublishError::Channel)?;
        declare_topology(&channel, &settings.exchange, settings.declare_default_queue).await?;
        if settings.ledger {
            declare_ledger(&channel, &settings.exchange, settings.ledger_max_bytes).await?;
        }
        Ok(channel)
    }

    /// Another channel on the session (not in confirm mode), e.g. to read the ledger: its errors
    /// close only itself.
    pub async fn open_channel(&self) -> Result<Channel, lapin::Error> {
        self.connection.create_channel().await
    }

    /// Why the session can no longer be used, if it cannot (closed by the broker, socket lost).
    pub fn broken(&self) -> Option<String> {
        let connection = self.connection.status();
        if connection.errored() {
            Some("the connection failed".into())
        } else if !connection.connected() {
            Some("the connection was closed".into())
        } else if !self.channel.status().connected() {
            Some("the channel was closed by the broker".into())
        } else {
            None
        }
    }

    /// Closes the channel and the connection, bounded in time (the broker may be gone).
    pub async fn close(self) {
        if self.channel.status().connected() {
            let _ = tokio::time::timeout(CLOSE_TIMEOUT, self.channel.close(200, "OK".into())).await;
        }
        if self.connection.status().connected() {
            let _ =
                tokio::time::timeout(CLOSE_TIMEOUT, self.connection.close(200, "OK".into())).await;
        }
    }
}
