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

/// Formats a timestamp canonically: RFC 3339 in UTC with `Z` and the shortest exact fraction
/// (`…45.7367977Z`, `…13Z`), so equal instants always print identically.
pub fn format_time(t: &DateTime<Utc>) -> String {
    let s = t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    match s.split_once('.') {
        Some((whole, frac)) => {
            let digits = frac.trim_end_matches('Z').trim_end_matches('0');
            if digits.is_empty() {
                format!("{whole}Z")
            } else {
                format!("{whole}.{digits}Z")
            }
        }
        None => s,
    }
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
        let t = parse_time(Some("2022-12-02T12:18:45.7367977Z")).unwrap();
        assert_eq!(format_time(&t), "2022-12-02T12:18:45.7367977Z");
        let t = parse_time(Some("2017-03-08T20:54:34.000Z")).unwrap();
        assert_eq!(format_time(&t), "2017-03-08T20:54:34Z");
    }
}
