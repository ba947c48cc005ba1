//! A hook target on port 0 that records every request and answers scripted status codes (what
//! the simulator's delivery rules are tested against).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub headers: HeaderMap,
    pub body: Value,
    /// The status the receiver answered.
    pub status: u16,
}

#[derive(Default)]
pub struct ReceiverState {
    /// Statuses to answer next, in order; afterwards `default_status`.
    pub script: VecDeque<u16>,
    pub default_status: u16,
    pub received: Vec<Received>,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    pub state: Arc<Mutex<ReceiverState>>,
}

impl Receiver {
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    pub fn script(&self, statuses: &[u16]) {
        self.state
            .lock()
            .unwrap()
            .script
            .extend(statuses.iter().copied());
    }

    pub fn set_default(&self, status: u16) {
        self.state.lock().unwrap().default_status = status;
    }
}

async fn record(
    State(state): State<Arc<Mutex<ReceiverState>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mut s = state.lock().unwrap();
    let status = s.script.pop_front().unwrap_or(s.default_status);
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    s.received.push(Received {
        at: Instant::now(),
        headers,
        body,
        status,
    });
    StatusCode::from_u16(status).unwrap()
}

/// A hook target on 127.0.0.1:0 answering 200 unless scripted otherwise.
pub async fn receiver() -> Receiver {
    let state = Arc::new(Mutex::new(ReceiverState {
        default_status: 200,
        ..Default::default()
    }));
    let app = Router::new().fallback(record).with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver { url, state }
}
