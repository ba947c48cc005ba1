//! One fault-injecting TCP proxy (usually in front of RabbitMQ): `cut` drops every open connection
//! and refuses new ones until `restore`; `stop` also releases the port, so connecting is refused.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct Proxy {
    pub addr: SocketAddr,
    up: Arc<AtomicBool>,
    generation: watch::Sender<u64>,
    accept: JoinHandle<()>,
}

impl Proxy {
    /// Forwards a fresh local port to `target` (`host:port`).
    pub async fn start(target: &str) -> Self {
        Self::start_on(0, target).await
    }

    /// Forwards the local `port` to the test broker.
    pub async fn to_broker_on(port: u16) -> Self {
        Self::start_on(port, &crate::broker_addr()).await
    }

    /// Forwards `127.0.0.1:port` (0: any) to `target`.
    pub async fn start_on(port: u16, target: &str) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind proxy port");
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let (generation, _) = watch::channel(0u64);
        let target = target.to_string();
        let (accepting, cuts) = (up.clone(), generation.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !accepting.load(Ordering::SeqCst) {
                    continue; // dropped: the client sees the connection closed at once
                }
                let target = target.clone();
                let mut cut = cuts.subscribe();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Self {
            addr,
            up,
            generation,
            accept,
        }
    }

    /// The test broker's AMQP URL through this proxy.
    pub fn amqp_url(&self) -> String {
        crate::broker::amqp_url_via(self.addr)
    }

    /// Drops every open connection and refuses new ones.
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    /// Accepts connections again.
    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }

    /// Cuts every connection and stops listening (the port is free again).
    pub async fn stop(mut self) {
        self.cut();
        self.accept.abort();
        let _ = (&mut self.accept).await;
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.generation.send_modify(|g| *g += 1);
        self.accept.abort();
    }
}

/// A port nothing listens on (bound, then released), so connecting to it is refused.
pub fn refused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind a free port")
}
