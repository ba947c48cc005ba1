//! A TSTU-like rate limiter (docs/contract.md#rate-limits): each request costs some units in a
//! sliding window
//! per identity; near the budget responses carry `X-RateLimit-*` headers, over it requests are
//! delayed, and far over it they are blocked with 429 and `Retry-After`.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The budget. Azure DevOps: 200 TSTUs per sliding 5 minutes, delays up to 30 s.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RateLimit {
    /// Units allowed in the window before requests are delayed.
    pub budget: f64,
    #[serde(with = "humantime_serde")]
    pub window: Duration,
    /// Units one request costs.
    pub cost_per_request: f64,
    /// Usage (as a multiple of the budget) from which requests are blocked with 429.
    pub block_at: f64,
    /// Delay per unit over the budget.
    #[serde(with = "humantime_serde")]
    pub delay_per_unit: Duration,
    #[serde(with = "humantime_serde")]
    pub max_delay: Duration,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            budget: 200.0,
            window: Duration::from_secs(300),
            cost_per_request: 1.0,
            block_at: 1.5,
            delay_per_unit: Duration::from_millis(50),
            max_delay: Duration::from_secs(30),
        }
    }
}

/// What to do with one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Serve it, after `delay`, adding `headers`.
    Allow {
        delay: Duration,
        headers: Vec<(&'static str, String)>,
    },
    /// Answer 429 with these headers (including `Retry-After`).
    Block {
        headers: Vec<(&'static str, String)>,
    },
}

#[derive(Debug, Default)]
pub struct RateLimiter {
    config: Option<RateLimit>,
    usage: HashMap<String, VecDeque<(Instant, f64)>>,
}

impl RateLimiter {
    pub fn configure(&mut self, config: Option<RateLimit>) {
        self.config = config;
        self.usage.clear();
    }

    pub fn check(&mut self, identity: &str) -> Verdict {
        let Some(cfg) = self.config else {
            return Verdict::Allow {
                delay: Duration::ZERO,
                headers: Vec::new(),
            };
        };
        let now = Instant::now();
        let entries = self.usage.entry(identity.to_string()).or_default();
        while entries
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) >= cfg.window)
        {
            entries.pop_front();
        }
        let used: f64 = entries.iter().map(|(_, c)| c).sum();
        let epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let until_empty = entries
            .back()
            .map(|(t, _)| cfg.window.saturating_sub(now.duration_since(*t)))
            .unwrap_or_default();
        let mut headers = vec![
            ("X-RateLimit-Resource", "Core".to_string()),
            ("X-RateLimit-Limit", format!("{}", cfg.budget)),
            (
                "X-RateLimit-Remaining",
                format!("{}", (cfg.budget - used).max(0.0)),
            ),
            (
                "X-RateLimit-Reset",
                format!("{}", (epoch + until_empty).as_secs()),
            ),
        ];
        if used + cfg.cost_per_request > cfg.budget * cfg.block_at {
            // Seconds until enough usage has slid out of the window to be under the budget again.
            let mut remaining = used;
            let mut wait = Duration::ZERO;
            for (t, c) in entries.iter() {
                if remaining < cfg.budget {
                    break;
                }
                remaining -= c;
                wait = cfg.window.saturating_sub(now.duration_since(*t));
            }
            headers.push(("Retry-After", format!("{}", wait.as_secs().max(1))));
            return Verdict::Block { headers };
        }
        entries.push_back((now, cfg.cost_per_request));
        let used = used + cfg.cost_per_request;
        if used > cfg.budget {
            let delay = cfg
                .delay_per_unit
                .mul_f64(used - cfg.budget)
                .min(cfg.max_delay);
            headers.push(("X-RateLimit-Delay", format!("{:.3}", delay.as_secs_f64())));
            return Verdict::Allow { delay, headers };
        }
        if used < cfg.budget * 0.8 {
            headers.clear();
        }
        Verdict::Allow {
            delay: Duration::ZERO,
            headers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_then_headers_then_delay_then_block() {
        let mut rl = RateLimiter::default();
        rl.configure(Some(RateLimit {
            budget: 10.0,
            block_at: 1.5,
            delay_per_unit: Duration::from_millis(1),
            ..RateLimit::default()
        }));
        let mut seen = Vec::new();
        for _ in 0..16 {
            seen.push(rl.check("pat"));
        }
        assert!(matches!(&seen[0], Verdict::Allow { headers, .. } if headers.is_empty()));
        assert!(
            matches!(&seen[8], Verdict::Allow { headers, delay } if !headers.is_empty() && delay.is_zero())
        );
        assert!(matches!(&seen[11], Verdict::Allow { delay, .. } if !delay.is_zero()));
        match &seen[15] {
            Verdict::Block { headers } => assert!(
                headers
                    .iter()
                    .any(|(k, v)| *k == "Retry-After" && v.parse::<u64>().unwrap() >= 1)
            ),
            other => panic!("expected a block, got {other:?}"),
        }
        assert!(matches!(rl.check("someone-else"), Verdict::Allow { .. }));
    }
}
