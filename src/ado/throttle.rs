//! Per-organization rate-limit manners: a shared "not before" instant set from `Retry-After` and the
//! `X-RateLimit-*` headers (docs/contract.md#rate-limits), jittered backoff, and the
//! call/retry/throttle counters.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::header::HeaderMap;
use tokio::time::Instant;

/// What one organization's client has done so far (for the status page and the benchmark).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientCounters {
    /// HTTP requests sent, retries included.
    pub calls: u64,
    /// Requests sent again after a retryable failure.
    pub retries: u64,
    /// Times the server told us to wait (`Retry-After`, `X-RateLimit-Delay`, low `X-RateLimit-Remaining`).
    pub throttled: u64,
    /// Total time requests to the organization were held back by those waits.
    pub throttled_wait: Duration,
}

/// Limits that turn rate-limit headers into pauses.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ThrottlePolicy {
    /// Upper bound of a `Retry-After` wait (protects against absurd values).
    pub max_wait: Duration,
    /// Longest pause added because of `X-RateLimit-Delay` / low `X-RateLimit-Remaining`.
    pub slow_down_max: Duration,
    /// Below this fraction of `X-RateLimit-Limit` remaining, requests are spaced out.
    pub low_remaining_fraction: f64,
}

/// Shared by every request to one organization.
pub(crate) struct Throttle {
    org: String,
    policy: ThrottlePolicy,
    not_before: Mutex<Option<Instant>>,
    calls: AtomicU64,
    retries: AtomicU64,
    throttled: AtomicU64,
    throttled_micros: AtomicU64,
}

impl Throttle {
    pub fn new(org: String, policy: ThrottlePolicy) -> Self {
        Self {
            org,
            policy,
            not_before: Mutex::new(None),
            calls: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            throttled_micros: AtomicU64::new(0),
        }
    }

    /// Sleeps until the organization may be called again (re-checked: a pause may grow meanwhile).
    pub async fn wait_turn(&self) {
        loop {
            let until = *self.not_before.lock().unwrap_or_else(|p| p.into_inner());
            match until {
                Some(t) if t > Instant::now() => tokio::time::sleep_until(t).await,
                _ => return,
            }
        }
    }

    /// Applies the response's rate-limit headers; returns the `Retry-After` it carried, if any.
    pub fn observe(&self, headers: &HeaderMap) -> Option<Duration> {
        let retry_after = retry_after(headers).map(|d| d.min(self.policy.max_wait));
        if let Some(wait) = retry_after.filter(|d| !d.is_zero()) {
            self.pause(wait, "retry-after");
        }
        if let Some(pause) = slow_down(headers, &self.policy) {
            self.pause(pause, "rate-limit");
        }
        retry_after
    }

    /// Holds back every request to the organization for `wait`, counting the time actually added.
    fn pause(&self, wait: Duration, reason: &'static str) {
        let now = Instant::now();
        let target = now + wait;
        let added = {
            let mut nb = self.not_before.lock().unwrap_or_else(|p| p.into_inner());
            let current = nb.filter(|t| *t > now).unwrap_or(now);
            if target <= current {
                return;
            }
            *nb = Some(target);
            target - current
        };
        self.throttled.fetch_add(1, Ordering::Relaxed);
        let total = self
            .throttled_micros
            .fetch_add(added.as_micros() as u64, Ordering::Relaxed)
            + added.as_micros() as u64;
        // Counters are integers in `metrics`: publish the running total in whole seconds.
        metrics::counter!("ado_ingest_rest_throttled_seconds_total", "org" => self.org.clone())
            .absolute(total / 1_000_000);
        tracing::info!(org = %self.org, reason, wait_ms = wait.as_millis() as u64,
            "Azure DevOps asked to slow down; holding requests to this organization");
    }

    pub fn count_call(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub fn counters(&self) -> ClientCounters {
        ClientCounters {
            calls: self.calls.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
            throttled_wait: Duration::from_micros(self.throttled_micros.load(Ordering::Relaxed)),
        }
    }
}

fn header_f64(headers: &HeaderMap, name: &str) -> Option<f64> {
    let v: f64 = headers.get(name)?.to_str().ok()?.trim().parse().ok()?;
    (v.is_finite() && v >= 0.0).then_some(v)
}

/// `Retry-After` as delta-seconds (decimals tolerated) or an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    if let Some(secs) = header_f64(headers, "retry-after") {
        return Duration::try_from_secs_f64(secs).ok();
    }
    let text = headers.get("retry-after")?.to_str().ok()?;
    let at = chrono::DateTime::parse_from_rfc2822(text.trim()).ok()?;
    let delta = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

/// The pause asked for by `X-RateLimit-Delay` (the server already delayed us that long) and by a low
/// `X-RateLimit-Remaining` (growing linearly from 0 at the threshold to `slow_down_max` at 0 left).
pub(crate) fn slow_down(headers: &HeaderMap, policy: &ThrottlePolicy) -> Option<Duration> {
    let delayed = header_f64(headers, "x-ratelimit-delay")
        .filter(|d| *d > 0.0)
        .and_then(|d| Duration::try_from_secs_f64(d).ok());
    let low = match (
        header_f64(headers, "x-ratelimit-remaining"),
        header_f64(headers, "x-ratelimit-limit"),
    ) {
        (Some(remaining), Some(limit)) if limit > 0.0 => {
            let threshold = limit * policy.low_remaining_fraction;
            (remaining < threshold).then(|| {
                policy
                    .slow_down_max
                    .mul_f64((threshold - remaining) / threshold)
            })
        }
        _ => None,
    };
    delayed
        .into_iter()
        .chain(low)
        .max()
        .map(|d| d.min(policy.slow_down_max))
        .filter(|d| !d.is_zero())
}

/// Delay before retry number `attempt` (0 = first): `base` doubling, capped at `max`, with "equal
/// jitter" (half to all of it) so clients that failed together do not retry in lockstep.
pub(crate) fn backoff(attempt: u32, base: Duration, max: Duration) -> Duration {
    let capped = base
        .saturating_mul(2u32.saturating_pow(attempt.min(24)))
        .min(max);
    let half = capped / 2;
    half + half.mul_f64(rand::random::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    const POLICY: ThrottlePolicy = ThrottlePolicy {
        max_wait: Duration::from_secs(60),
        slow_down_max: Duration::from_secs(10),
        low_remaining_fraction: 0.1,
    };

    #[test]
    fn retry_after_accepts_seconds_and_dates_and_ignores_garbage() {
        assert_eq!(
            retry_after(&headers(&[("retry-after", "3")])),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after", "0.5")])),
            Some(Duration::from_millis(500))
        );
        let soon = (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        let d = retry_after(&headers(&[("retry-after", &soon)])).unwrap();
        assert!(
            d > Duration::from_secs(25) && d <= Duration::from_secs(30),
            "{d:?}"
        );
        assert_eq!(retry_after(&headers(&[("retry-after", "-1")])), None);
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")])), None);
        assert_eq!(retry_after(&headers(&[("retry-after", "1e400")])), None);
    }

    #[test]
    fn slow_down_is_proportional_and_capped() {
        let none = headers(&[
            ("x-ratelimit-remaining", "150"),
            ("x-ratelimit-limit", "200"),
        ]);
        assert_eq!(slow_down(&none, &POLICY), None);
        let half = headers(&[
            ("x-ratelimit-remaining", "10"),
            ("x-ratelimit-limit", "200"),
        ]);
        assert_eq!(slow_down(&half, &POLICY), Some(Duration::from_secs(5)));
        let empty = headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-limit", "200")]);
        assert_eq!(slow_down(&empty, &POLICY), Some(Duration::from_secs(10)));
        let delayed = headers(&[("x-ratelimit-delay", "1.5")]);
        assert_eq!(
            slow_down(&delayed, &POLICY),
            Some(Duration::from_millis(1500))
        );
        let huge = headers(&[("x-ratelimit-delay", "1000")]);
        assert_eq!(slow_down(&huge, &POLICY), Some(Duration::from_secs(10)));
        let zero_limit = headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-limit", "0")]);
        assert_eq!(slow_down(&zero_limit, &POLICY), None);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(2);
        for _ in 0..50 {
            let first = backoff(0, base, max);
            assert!(
                first >= Duration::from_millis(50) && first <= base,
                "{first:?}"
            );
            let late = backoff(40, base, max);
            assert!(late >= Duration::from_secs(1) && late <= max, "{late:?}");
        }
    }
}
