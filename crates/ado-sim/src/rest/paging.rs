//! Query-string helpers: `$top`/`$skip`, ids, times and continuation tokens.

use chrono::{DateTime, Utc};

use super::{ApiError, Req};
use crate::clock::parse_query_time;

/// `$top` (also `searchCriteria.$top`) and `$skip`, validated.
pub(crate) fn top_skip(
    req: &Req,
    default_top: usize,
    max_top: usize,
) -> Result<(usize, usize), ApiError> {
    let top = match req.q("$top").or_else(|| req.q("searchCriteria.$top")) {
        Some(v) => parse_count(v, "$top")?.min(max_top),
        None => default_top,
    };
    let skip = match req.q("$skip").or_else(|| req.q("searchCriteria.$skip")) {
        Some(v) => parse_count(v, "$skip")?,
        None => 0,
    };
    Ok((top, skip))
}

pub(crate) fn parse_count(v: &str, name: &str) -> Result<usize, ApiError> {
    v.trim().parse::<usize>().map_err(|_| {
        ApiError::bad_request(format!(
            "The value '{v}' of parameter '{name}' is not a non-negative integer."
        ))
    })
}

pub(crate) fn opt_u64(req: &Req, name: &str) -> Result<Option<u64>, ApiError> {
    req.q(name)
        .map(|v| {
            v.trim().parse::<u64>().map_err(|_| {
                ApiError::bad_request(format!(
                    "The value '{v}' of parameter '{name}' is not an integer."
                ))
            })
        })
        .transpose()
}

pub(crate) fn opt_time(req: &Req, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    req.q(name)
        .map(|v| {
            parse_query_time(v).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "The value '{v}' of parameter '{name}' is not a date-time."
                ))
            })
        })
        .transpose()
}

/// Comma-separated list parameter.
pub(crate) fn csv(req: &Req, name: &str) -> Vec<String> {
    req.q(name)
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// Applies `$skip`/`$top` to a sorted list.
pub(crate) fn page<T>(items: Vec<T>, top: usize, skip: usize) -> Vec<T> {
    items.into_iter().skip(skip).take(top).collect()
}
