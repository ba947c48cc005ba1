//! The checks every REST request passes before dispatch: resolving the collection and project from
//! the URL (both styles), the PAT, the rate limit and injected failures.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;

use super::{ApiError, add_headers};
use crate::model::UrlStyle;
use crate::model::seed::parse_api_version;
use crate::ratelimit::Verdict;
use crate::shared::Shared;

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(
                std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                16,
            )
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Resolves `/{org}[/{project}]` or `/tfs/{collection}[/{project}]` before `_apis`.
pub(super) fn locate(
    shared: &Shared,
    path: &str,
) -> Result<(usize, Option<usize>, Vec<String>), ApiError> {
    let segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let apis = segs
        .iter()
        .position(|s| s.eq_ignore_ascii_case("_apis"))
        .ok_or_else(|| ApiError::not_found("Not an Azure DevOps API route."))?;
    let prefix = &segs[..apis];
    let world = shared.world();
    let find = |name: &str, style: UrlStyle| {
        world
            .orgs
            .iter()
            .position(|o| o.name.eq_ignore_ascii_case(name) && o.style == style)
    };
    let (org, rest) = match prefix {
        [tfs, coll, rest @ ..]
            if tfs.eq_ignore_ascii_case("tfs") && find(coll, UrlStyle::Server).is_some() =>
        {
            (find(coll, UrlStyle::Server), rest)
        }
        [org, rest @ ..] => (find(org, UrlStyle::Services), rest),
        [] => (None, &[][..]),
    };
    let org = org.ok_or_else(|| {
        ApiError::not_found("TF400813: The organization or collection does not exist.")
    })?;
    let project = match rest {
        [] => None,
        [p] => Some(world.orgs[org].project_index(p).ok_or_else(|| {
            ApiError::not_found(format!(
                "TF200016: The following project does not exist: {p}."
            ))
        })?),
        _ => return Err(ApiError::not_found("Not an Azure DevOps API route.")),
    };
    Ok((org, project, segs[apis + 1..].to_vec()))
}

fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    let pat = shared.controls().pat.clone();
    let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    if let Some(token) = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
    {
        return shared.entra().accepts(token.trim());
    }
    let Some(encoded) = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
    else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let decoded = String::from_utf8_lossy(&decoded);
    let password = decoded.split_once(':').map(|(_, p)| p).unwrap_or("");
    subtle::ConstantTimeEq::ct_eq(password.as_bytes(), pat.as_bytes()).into()
}

fn unauthorized() -> Response {
    let mut resp = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "UnauthorizedRequestException",
        "TF400813: The user is not authorized to access this resource.",
    )
    .into_response();
    resp.headers_mut().insert(
        "www-authenticate",
        HeaderValue::from_static("Basic realm=\"ado-ingest simulator\""),
    );
    resp
}

fn injected_failure(shared: &Shared) -> Option<Response> {
    let mut c = shared.controls();
    let fail = if c.rest_faults.fail_next > 0 {
        c.rest_faults.fail_next -= 1;
        true
    } else {
        let rate = c.rest_faults.error_rate;
        c.rest_rng.chance(rate)
    };
    if !fail {
        return None;
    }
    let status =
        StatusCode::from_u16(c.rest_faults.error_status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let status = if status.is_server_error() {
        status
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut resp =
        ApiError::new(status, "InjectedFailure", "Injected failure (simulator).").into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        resp.headers_mut()
            .insert("retry-after", HeaderValue::from_static("1"));
    }
    Some(resp)
}

/// PAT, rate limit and injected failures; on success the rate-limit headers to add.
pub(super) async fn admit(
    shared: &Shared,
    headers: &HeaderMap,
) -> Result<Vec<(&'static str, String)>, Response> {
    if !authorized(shared, headers) {
        return Err(unauthorized());
    }
    let verdict = shared.limiter().check("pat");
    let extra = match verdict {
        Verdict::Block { headers } => {
            let mut resp = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "RequestBlockedException",
                "TF400733: The request has been canceled: Request was blocked due to exceeding usage of resource 'Core' in namespace 'User'.",
            )
            .into_response();
            add_headers(&mut resp, &headers);
            return Err(resp);
        }
        Verdict::Allow { delay, headers } => {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            headers
        }
    };
    match injected_failure(shared) {
        Some(resp) => Err(resp),
        None => Ok(extra),
    }
}

/// Checks `api-version` against what the collection serves, with Azure DevOps' messages (a
/// client negotiating the version reads "supports is X" from the 400).
pub(super) fn api_version(
    shared: &Shared,
    org: usize,
    requested: Option<&String>,
) -> Result<Option<(u32, u32)>, ApiError> {
    let Some(raw) = requested.filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    let version = parse_api_version(raw).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "VssInvalidApiVersionException",
            format!("The api-version '{raw}' is not valid. Specify it as major.minor, e.g. 7.1 or 7.1-preview.1."),
        )
    })?;
    let max = shared.world().orgs[org].api_version;
    if version > max {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "VssVersionOutOfRangeException",
            format!(
                "The requested REST API version of {raw} is out of range for this server. The latest REST API version this server supports is {}.{}.",
                max.0, max.1
            ),
        ));
    }
    Ok(Some(version))
}
