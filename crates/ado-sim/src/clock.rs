//! Simulated time: when each change happened. A fixed start makes runs reproducible; wall-clock
//! mode stamps changes with the real time (what a reconciler polling "since 5 minutes ago" needs).

use chrono::{DateTime, Duration as ChronoDuration, SecondsFormat, TimeZone, Utc};

/// How the simulator dates its changes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClockMode {
    /// Start at this instant and advance by a seeded few seconds to minutes per action.
    Fixed(DateTime<Utc>),
    /// Real time (strictly increasing): content stays seed-determined, times do not.
    Wall,
}

impl Default for ClockMode {
    fn default() -> Self {
        ClockMode::Fixed(
            Utc.with_ymd_and_hms(2024, 5, 6, 8, 0, 0)
                .single()
                .unwrap_or_default(),
        )
    }
}

/// The current simulated instant.
#[derive(Debug, Clone)]
pub struct SimClock {
    mode: ClockMode,
    now: DateTime<Utc>,
}

impl SimClock {
    pub fn new(mode: ClockMode) -> Self {
        let now = match mode {
            ClockMode::Fixed(start) => start,
            ClockMode::Wall => Utc::now(),
        };
        Self { mode, now }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// Moves time forward for the next action (`seconds` is only used in fixed mode).
    pub fn advance(&mut self, seconds: u64) -> DateTime<Utc> {
        self.now = match self.mode {
            ClockMode::Fixed(_) => self.now + ChronoDuration::seconds(seconds as i64),
            ClockMode::Wall => Utc::now().max(self.now + ChronoDuration::milliseconds(1)),
        };
        self.now
    }

    /// A moment shortly after now within the same action (e.g. a build step), always increasing.
    /// In wall-clock mode the real time is used, so dates never run ahead of the clock.
    pub fn tick(&mut self, millis: u64) -> DateTime<Utc> {
        self.now = match self.mode {
            ClockMode::Fixed(_) => self.now + ChronoDuration::milliseconds(millis.max(1) as i64),
            ClockMode::Wall => Utc::now().max(self.now + ChronoDuration::milliseconds(1)),
        };
        self.now
    }
}

/// Azure DevOps' usual timestamp rendering, e.g. `2024-05-06T08:00:01.123Z`.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Seconds precision, as git author/committer dates are rendered (`2020-12-23T02:04:46Z`).
pub fn ts_secs(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// 7 fractional digits, as envelope `createdDate` values are rendered.
pub fn ts_ticks(t: DateTime<Utc>) -> String {
    format!(
        "{}{:07}Z",
        t.format("%Y-%m-%dT%H:%M:%S."),
        t.timestamp_subsec_nanos() / 100
    )
}

/// `revisedDate` of a work item's latest revision.
pub const FAR_FUTURE: &str = "9999-01-01T00:00:00Z";

/// Parses a timestamp as accepted in REST query strings (RFC 3339, or a date-time without zone
/// taken as UTC, or a bare date).
pub fn parse_query_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(n) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(n.and_utc());
    }
    if let Ok(n) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S") {
        return Some(n.and_utc());
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|n| n.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_is_reproducible_and_formats() {
        let mut c = SimClock::new(ClockMode::default());
        let a = c.advance(10);
        assert_eq!(ts(a), "2024-05-06T08:00:10.000Z");
        assert_eq!(ts_secs(a), "2024-05-06T08:00:10Z");
        assert_eq!(ts_ticks(c.tick(5)), "2024-05-06T08:00:10.0050000Z");
        assert_eq!(parse_query_time("2024-05-06T08:00:10Z"), Some(a));
        assert!(parse_query_time("2024-05-06").is_some());
        let mut wall = SimClock::new(ClockMode::Wall);
        let first = wall.tick(3_600_000);
        // At most the 1 ms that keeps the clock strictly increasing ahead, not an hour.
        assert!(
            first <= Utc::now() + ChronoDuration::milliseconds(5),
            "wall-clock dates do not run ahead"
        );
        assert!(wall.tick(1) > first);
    }
}
