//! The RabbitMQ broker the tests use: `ADO_INGEST_TEST_AMQP_URL`, else the local default.

/// The broker's AMQP URL for tests.
pub fn amqp_url() -> String {
    std::env::var("ADO_INGEST_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// `host:port` of the broker (what the proxy forwards to).
pub fn broker_addr() -> String {
    let url = amqp_url();
    let rest = url
        .split_once("://")
        .map(|(_, r)| r)
        .unwrap_or(url.as_str());
    let rest = rest.rsplit_once('@').map(|(_, r)| r).unwrap_or(rest);
    let host = rest.split('/').next().unwrap_or("127.0.0.1:5672");
    if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:5672")
    }
}

/// The same URL with its host and port replaced by `addr` (to go through a proxy).
pub fn amqp_url_via(addr: std::net::SocketAddr) -> String {
    amqp_url().replacen(&broker_addr(), &addr.to_string(), 1)
}

/// Connects to the broker, failing the test with a clear message when it is not there.
pub async fn connect() -> lapin::Connection {
    let url = amqp_url();
    lapin::Connection::connect(&url, lapin::ConnectionProperties::default())
        .await
        .unwrap_or_else(|e| {
            panic!("RabbitMQ is unreachable ({e}); start it or set ADO_INGEST_TEST_AMQP_URL")
        })
}

/// Deletes queues, then exchanges, ignoring the ones that do not exist.
pub async fn delete(queues: &[String], exchanges: &[String]) {
    let Ok(conn) =
        lapin::Connection::connect(&amqp_url(), lapin::ConnectionProperties::default()).await
    else {
        return;
    };
    let Ok(ch) = conn.create_channel().await else {
        return;
    };
    for q in queues {
        let _ = ch.queue_delete(q.as_str().into(), Default::default()).await;
    }
    for x in exchanges {
        let _ = ch
            .exchange_delete(x.as_str().into(), Default::default())
            .await;
    }
    let _ = conn.close(200, "bye".into()).await;
}

/// Runs `cleanup` to completion from a destructor: on its own thread and runtime, because `Drop`
/// cannot await and may run while the test's runtime is unwinding from a panic.
pub fn run_blocking<F>(cleanup: F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let thread = std::thread::spawn(move || {
        if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            rt.block_on(async {
                let _ = tokio::time::timeout(std::time::Duration::from_secs(10), cleanup).await;
            });
        }
    });
    let _ = thread.join();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_addr_is_host_and_port_of_the_url() {
        // Only the default is checked here: the variable is process-wide.
        if std::env::var_os("ADO_INGEST_TEST_AMQP_URL").is_none() {
            assert_eq!(broker_addr(), "127.0.0.1:5672");
            let via = amqp_url_via("127.0.0.1:9999".parse().unwrap());
            assert_eq!(via, "amqp://guest:guest@127.0.0.1:9999/%2f");
        }
    }
}
