//! Microsoft Entra ID's v2.0 endpoints as a sign-in needs them, served at the root:
//! `POST /{tenant}/oauth2/v2.0/devicecode` (a user code to enter at the verification URL) and
//! `POST /{tenant}/oauth2/v2.0/token` for the device-code grant (`authorization_pending` until the
//! user has "approved", `slow_down` when polled faster than `interval`, `expired_token`, then
//! tokens) and the refresh-token grant (a new access token and a rotated refresh token, or
//! `invalid_grant` once revoked). The access tokens it issues are accepted as `Bearer` by the REST
//! API until they expire.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::shared::Shared;

/// What the sign-in side does; tests change it with [`crate::Simulator::set_entra`].
#[derive(Debug, Clone)]
pub struct EntraBehaviour {
    /// Token polls answered `authorization_pending` before the user counts as having approved.
    pub pending_polls: u32,
    /// Every device code has expired (`expired_token`).
    pub expire_codes: bool,
    /// Lifetime of issued access tokens.
    pub access_token_lifetime: Duration,
    /// Minimum time between two polls of one device code before `slow_down`.
    pub interval: Duration,
    /// The `interval` the device-code answer advertises, when it is to differ from `interval`
    /// (a client polling as told then meets `slow_down`).
    pub advertised_interval: Option<Duration>,
}

impl Default for EntraBehaviour {
    fn default() -> Self {
        Self {
            pending_polls: 2,
            expire_codes: false,
            access_token_lifetime: Duration::from_secs(3600),
            interval: Duration::ZERO,
            advertised_interval: None,
        }
    }
}

/// Issued codes and tokens.
#[derive(Debug, Default)]
pub struct EntraState {
    pub behaviour: EntraBehaviour,
    devices: BTreeMap<String, Device>,
    /// Valid refresh tokens.
    refresh: BTreeMap<String, ()>,
    /// Access token → expiry.
    access: BTreeMap<String, Instant>,
    next: u64,
    /// Token requests answered, by grant type.
    pub grants: BTreeMap<String, u64>,
}

#[derive(Debug)]
struct Device {
    polls: u32,
    last_poll: Option<Instant>,
}

impl EntraState {
    fn mint(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}-{:08x}-{}", self.next, rand_suffix(self.next))
    }

    fn tokens(&mut self) -> serde_json::Value {
        let access = self.mint("sim-at");
        let refresh = self.mint("sim-rt");
        let lifetime = self.behaviour.access_token_lifetime;
        self.access
            .insert(access.clone(), Instant::now() + lifetime);
        self.refresh.insert(refresh.clone(), ());
        json!({
            "token_type": "Bearer",
            "scope": "499b84ac-1321-427f-aa17-267ca6975798/user_impersonation",
            "expires_in": lifetime.as_secs(),
            "ext_expires_in": lifetime.as_secs(),
            "access_token": access,
            "refresh_token": refresh,
        })
    }

    /// Whether `token` is an access token issued here and not expired.
    pub fn accepts(&self, token: &str) -> bool {
        self.access
            .get(token)
            .is_some_and(|until| Instant::now() < *until)
    }

    /// Revokes every refresh token (a password reset, an admin's revocation).
    pub fn revoke_refresh_tokens(&mut self) {
        self.refresh.clear();
    }
}

fn rand_suffix(n: u64) -> String {
    format!("{:016x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// Whether `path` is `/{tenant}/oauth2/v2.0/(devicecode|token)` or the instance metadata
/// service's `/metadata/identity/oauth2/token`.
pub(super) fn is_entra_route(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    p.ends_with("/oauth2/v2.0/devicecode")
        || p.ends_with("/oauth2/v2.0/token")
        || p == "/metadata/identity/oauth2/token"
}

/// The managed identity's token, as the instance metadata service answers (`Metadata: true`
/// required, `resource` required, `expires_in` a string).
pub(super) fn managed_identity(
    shared: &Arc<Shared>,
    headers: &axum::http::HeaderMap,
    query: &[(String, String)],
) -> Response {
    if headers.get("metadata").and_then(|v| v.to_str().ok()) != Some("true") {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Required metadata header not specified",
        );
    }
    let Some((_, resource)) = query.iter().find(|(k, _)| k == "resource") else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Required query variable 'resource' is missing",
        );
    };
    let mut entra = shared.entra();
    *entra.grants.entry("managed_identity".into()).or_default() += 1;
    let mut tokens = entra.tokens();
    let lifetime = tokens["expires_in"].as_u64().unwrap_or(3600);
    if let Some(t) = tokens.as_object_mut() {
        t.remove("refresh_token");
        t.remove("scope");
        t.remove("ext_expires_in");
        t.insert("expires_in".into(), json!(lifetime.to_string()));
        t.insert("resource".into(), json!(resource));
    }
    axum::Json(tokens).into_response()
}

fn error(status: StatusCode, code: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({ "error": code, "error_description": description })),
    )
        .into_response()
}

pub(super) fn handle(shared: &Arc<Shared>, method: &Method, path: &str, body: &[u8]) -> Response {
    if method != Method::POST {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            "POST only",
        );
    }
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    let mut entra = shared.entra();
    if path.to_ascii_lowercase().ends_with("/devicecode") {
        if form.get("client_id").is_none_or(|c| c.is_empty()) {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "AADSTS900144: The request body must contain the following parameter: 'client_id'.",
            );
        }
        let device_code = entra.mint("sim-dc");
        let user_code = format!("SIM{:05}", entra.next);
        entra.devices.insert(
            device_code.clone(),
            Device {
                polls: 0,
                last_poll: None,
            },
        );
        let interval = entra
            .behaviour
            .advertised_interval
            .unwrap_or(entra.behaviour.interval)
            .as_secs()
            .max(1);
        return axum::Json(json!({
            "user_code": user_code,
            "device_code": device_code,
            "verification_uri": "https://microsoft.com/devicelogin",
            "expires_in": 900,
            "interval": interval,
            "message": format!("To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code {user_code} to authenticate."),
        }))
        .into_response();
    }
    let grant = form.get("grant_type").cloned().unwrap_or_default();
    *entra.grants.entry(grant.clone()).or_default() += 1;
    match grant.as_str() {
        "urn:ietf:params:oauth:grant-type:device_code" => {
            let code = form.get("device_code").cloned().unwrap_or_default();
            let behaviour = entra.behaviour.clone();
            let Some(device) = entra.devices.get_mut(&code) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "AADSTS70000: The provided device code is invalid.",
                );
            };
            if behaviour.expire_codes {
                return error(
                    StatusCode::BAD_REQUEST,
                    "expired_token",
                    "AADSTS70020: The provided value for the input parameter 'device_code' is not valid. This device code has expired.",
                );
            }
            let now = Instant::now();
            if device
                .last_poll
                .is_some_and(|last| now.duration_since(last) < behaviour.interval)
            {
                device.last_poll = Some(now);
                return error(
                    StatusCode::BAD_REQUEST,
                    "slow_down",
                    "Polled too fast; wait longer between requests.",
                );
            }
            device.last_poll = Some(now);
            device.polls += 1;
            if device.polls <= behaviour.pending_polls {
                return error(
                    StatusCode::BAD_REQUEST,
                    "authorization_pending",
                    "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
                );
            }
            entra.devices.remove(&code);
            axum::Json(entra.tokens()).into_response()
        }
        "refresh_token" => {
            let token = form.get("refresh_token").cloned().unwrap_or_default();
            if entra.refresh.remove(&token).is_none() {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "AADSTS700082: The refresh token has expired or was revoked.",
                );
            }
            axum::Json(entra.tokens()).into_response()
        }
        other => error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!("AADSTS70003: grant type {other:?} is not supported here"),
        ),
    }
}
