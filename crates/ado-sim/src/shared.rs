//! State shared by the simulator's handle, its REST server and its sender tasks.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::delivery::{Counters, FaultRates};
use super::model::World;
use super::ratelimit::{RateLimit, RateLimiter};

/// Injected REST failures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct RestFaults {
    /// Probability that a request is answered with `error_status`.
    pub error_rate: f64,
    /// 500 or 503 (503 carries `Retry-After: 1`); 0 means 503.
    pub error_status: u16,
    /// The next N requests fail with `error_status` regardless of the rate.
    pub fail_next: u32,
}

/// Knobs that can change while the simulator runs.
#[derive(Debug)]
pub struct Controls {
    pub pat: String,
    pub faults: FaultRates,
    /// Multiplier applied to Azure DevOps' delivery delays (1.0 = real timings).
    pub time_scale: f64,
    /// Per-POST timeout of hook deliveries (Azure DevOps: about 30 s). Not scaled.
    pub request_timeout: Duration,
    pub rest_faults: RestFaults,
    /// Routes refused for the identity, as for a Reader without a permission (403) or on an older
    /// Server without the API (404): a route prefix (lowercased segments after `_apis`, e.g.
    /// `wit/recyclebin`) and the status.
    pub refused_routes: Vec<(String, u16)>,
    /// The Services organizations the PAT's identity is a member of (`_apis/accounts`); `None`:
    /// all of them.
    pub memberships: Option<Vec<String>>,
    /// Decides injected REST failures.
    pub rest_rng: super::ids::SimRng,
}

pub(crate) struct Shared {
    pub world: Mutex<World>,
    pub controls: Mutex<Controls>,
    pub limiter: Mutex<RateLimiter>,
    pub counters: Counters,
    /// REST requests answered, by organization index and lowercased route (segments after
    /// `_apis`), so tests can tell how often a route was called.
    pub rest_calls: Mutex<std::collections::BTreeMap<(usize, String), u64>>,
    pub http: reqwest::Client,
    /// Entra ID sign-ins: device codes and the tokens issued.
    pub entra: Mutex<crate::rest::entra::EntraState>,
    pub shutdown: CancellationToken,
    pub tasks: TaskTracker,
}

impl Shared {
    /// The world lock. A panic while holding it would be a simulator bug; the state is still
    /// consistent enough to keep serving, so poisoning is ignored.
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn entra(&self) -> MutexGuard<'_, crate::rest::entra::EntraState> {
        self.entra.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn controls(&self) -> MutexGuard<'_, Controls> {
        self.controls.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one REST request to `route` of organization `org`.
    pub fn count_call(&self, org: usize, route: String) {
        let mut calls = self.rest_calls.lock().unwrap_or_else(|e| e.into_inner());
        *calls.entry((org, route)).or_default() += 1;
    }

    pub fn limiter(&self) -> MutexGuard<'_, RateLimiter> {
        self.limiter.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A nominal Azure DevOps delay scaled by the time scale.
    pub fn scaled(&self, secs: f64) -> Duration {
        let scale = self.controls().time_scale.max(0.0);
        Duration::from_secs_f64((secs * scale).max(0.0))
    }

    pub fn set_rate_limit(&self, rl: Option<RateLimit>) {
        self.limiter().configure(rl);
    }
}
