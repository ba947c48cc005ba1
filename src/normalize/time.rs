//! Azure DevOps timestamps (ISO-8601 UTC with up to 7 fractional digits) → `DateTime<Utc>`.

use chrono::{DateTime, Utc};

/// Parses an Azure DevOps timestamp; `None` when absent or unparseable.
pub fn parse_time(s: Option<&str>) -> Option<DateTime<Utc>> {
    let s = s?.trim();
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| {
            // Some older payloads omit the zone designator; they are UTC.
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
}

/// Like [`parse_time`], falling back to now (only for envelopes that carry no time at all).
pub fn parse_time_or_now(s: Option<&str>) -> DateTime<Utc> {
    parse_time(s).unwrap_or_else(Utc::now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_seven_fractional_digits_and_naive_times() {
        assert!(parse_time(Some("2022-07-17T07:14:12.5477052Z")).is_some());
        assert!(parse_time(Some("2016-03-10T20:58:45.253")).is_some());
        assert!(parse_time(Some("nope")).is_none());
    }
}
