//! Retry delays (exponential, capped, jittered) and keeping the broker password out of logs.

use std::time::Duration;

/// Delay before retry number `attempt` (0 = first retry): `base` doubling per attempt, capped at
/// `max`, with "equal jitter" (between half and all of it) so many rows or replicas that failed
/// together do not retry in lockstep.
pub(crate) fn backoff(attempt: u32, base: Duration, max: Duration) -> Duration {
    let exponential = base.saturating_mul(2u32.saturating_pow(attempt.min(24)));
    let capped = exponential.min(max);
    let half = capped / 2;
    half + half.mul_f64(rand::random::<f64>())
}

/// The AMQP URL with its password replaced by `***`, for logs and health reasons.
pub fn redact_url(url: &str) -> String {
    if url.contains(',') {
        return crate::config::split_urls(url)
            .iter()
            .map(|u| redact_url(u))
            .collect::<Vec<_>>()
            .join(",");
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return "[unparseable AMQP URL]".into();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// Removes the URL's password from a text (an error message), in case a library echoes it.
pub(crate) fn scrub(text: &str, url: &str) -> String {
    if url.contains(',') {
        return crate::config::split_urls(url)
            .iter()
            .fold(text.to_string(), |text, u| scrub(&text, u));
    }
    let password = url
        .split_once("://")
        .map(|(_, rest)| &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())])
        .and_then(|authority| authority.rsplit_once('@'))
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .map(|(_, password)| password)
        .unwrap_or_default();
    if password.is_empty() {
        text.to_string()
    } else {
        text.replace(password, "***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            let third = backoff(2, base, max);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            let late = backoff(40, base, max);
            assert!(late >= Duration::from_secs(1) && late <= max, "{late:?}");
        }
    }

    #[test]
    fn passwords_never_survive_redaction() {
        assert_eq!(
            redact_url("amqp://user:s3cr@t@broker:5672/%2f"),
            "amqp://user:***@broker:5672/%2f"
        );
        assert_eq!(redact_url("amqps://broker/vhost"), "amqps://broker/vhost");
        assert_eq!(redact_url("amqp://user@broker"), "amqp://user@broker");
        assert!(!redact_url("not a url s3cret").contains("s3cret"));
        let url = "amqp://guest:hunter2@127.0.0.1:1/%2f";
        assert_eq!(scrub("auth failed for hunter2", url), "auth failed for ***");
        assert_eq!(scrub("refused", "amqp://127.0.0.1"), "refused");
    }
}
