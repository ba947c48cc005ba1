//! Shared liveness facts: what `/readyz` reports and what the publisher and store update.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Readiness of the parts the receiver depends on.
#[derive(Debug, Default)]
pub struct Health {
    broker_connected: AtomicBool,
    broker_error: Mutex<Option<String>>,
}

impl Health {
    pub fn new() -> Self {
        Self::default()
    }

    /// Called by the publisher when its confirm channel is open and the topology declared.
    pub fn set_broker_connected(&self) {
        self.broker_connected.store(true, Ordering::SeqCst);
        *self.broker_error.lock().expect("health lock") = None;
    }

    /// Called by the publisher when the connection is lost or cannot be made.
    pub fn set_broker_down(&self, reason: impl Into<String>) {
        self.broker_connected.store(false, Ordering::SeqCst);
        *self.broker_error.lock().expect("health lock") = Some(reason.into());
    }

    pub fn broker_connected(&self) -> bool {
        self.broker_connected.load(Ordering::SeqCst)
    }

    /// Why the broker is not connected, when known.
    pub fn broker_error(&self) -> Option<String> {
        self.broker_error.lock().expect("health lock").clone()
    }
}
