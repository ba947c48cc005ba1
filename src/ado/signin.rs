//! Signing a person in with Microsoft Entra ID (OAuth 2.0 device-code flow, v2.0 endpoints) and
//! using that sign-in: `ado-ingest login` asks for a device code, shows the user code and URL,
//! polls the token endpoint (`authorization_pending` → keep polling, `slow_down` → poll 5 s
//! slower, `expired_token` / `access_denied` → stop) and stores the refresh token in a file only
//! its owner can read (mode 0600, written through a temporary file). `serve` then renews access
//! tokens with the refresh-token grant before they expire, storing each rotated refresh token; a
//! revoked or expired sign-in (`invalid_grant`) is a clear, non-retried error in every pass's
//! status and log — the process keeps running and recovers once `login` has been run again.
//! Tokens are never logged.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::credential::{Credential, CredentialError};
use crate::config::LoginConfig;

/// How long before expiry an access token is replaced.
const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// What `login` stores: enough to renew tokens, nothing that expires within the hour.
#[derive(Clone, Serialize, Deserialize)]
pub struct TokenFile {
    pub refresh_token: String,
    pub tenant_id: String,
    pub client_id: String,
    pub authority: String,
    pub scope: String,
    /// When the sign-in was made (RFC 3339), for `check-config`.
    pub signed_in_at: String,
}

impl fmt::Debug for TokenFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenFile")
            .field("refresh_token", &"[redacted]")
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl TokenFile {
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "no sign-in at {}: {e}; run `ado-ingest login`",
                path.display()
            )
        })?;
        serde_json::from_str(&text).map_err(|e| {
            format!(
                "the sign-in file {} is unreadable ({e}); run `ado-ingest login`",
                path.display()
            )
        })
    }

    /// Writes the file readable by its owner only, replacing it atomically.
    pub fn store(&self, path: &Path) -> Result<(), String> {
        use std::os::unix::fs::OpenOptionsExt;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let tmp = path.with_extension("tmp");
        let _ = std::fs::remove_file(&tmp);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        let body = serde_json::to_vec_pretty(self).map_err(|e| e.to_string())?;
        f.write_all(&body)
            .and_then(|_| f.sync_all())
            .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, path).map_err(|e| format!("cannot replace {}: {e}", path.display()))
    }
}

fn endpoint(config: &LoginConfig, last: &str) -> Result<url::Url, String> {
    let mut url = url::Url::parse(config.authority.trim())
        .map_err(|e| format!("login.authority {:?} is not a URL: {e}", config.authority))?;
    url.path_segments_mut()
        .map_err(|_| "login.authority cannot be a base URL".to_string())?
        .pop_if_empty()
        .extend([config.tenant_id.trim(), "oauth2", "v2.0", last]);
    Ok(url)
}

async fn post_form(
    http: &reqwest::Client,
    url: &url::Url,
    pairs: &[(&str, &str)],
) -> Result<(u16, Value), String> {
    let form = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let response = http
        .post(url.clone())
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .map_err(|e| format!("{url} unreachable: {e}"))?;
    let status = response.status().as_u16();
    let body = response
        .bytes()
        .await
        .map(|b| serde_json::from_slice(&b).unwrap_or(Value::Null))
        .map_err(|e| format!("reading the answer of {url}: {e}"))?;
    Ok((status, body))
}

fn oauth_error(body: &Value) -> (String, String) {
    (
        body["error"]
            .as_str()
            .unwrap_or("unknown_error")
            .to_string(),
        body["error_description"]
            .as_str()
            .unwrap_or("no description")
            .lines()
            .next()
            .unwrap_or_default()
            .to_string(),
    )
}

/// The device-code flow: prints the sign-in instructions to `out`, waits for the user, returns
/// what to store. `max_wait` bounds the whole wait (Entra gives codes 15 minutes).
pub async fn device_login(
    config: &LoginConfig,
    http: &reqwest::Client,
    out: &mut (dyn Write + Send),
    max_wait: Duration,
) -> Result<TokenFile, String> {
    let device_url = endpoint(config, "devicecode")?;
    let token_url = endpoint(config, "token")?;
    let (status, body) = post_form(
        http,
        &device_url,
        &[
            ("client_id", config.client_id.trim()),
            ("scope", config.scope.trim()),
        ],
    )
    .await?;
    if status != 200 {
        let (code, text) = oauth_error(&body);
        return Err(format!(
            "the device-code request was refused (HTTP {status}, {code}): {text}"
        ));
    }
    let device_code = body["device_code"]
        .as_str()
        .ok_or("the device-code answer has no device_code")?
        .to_string();
    let message = body["message"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| {
            format!(
                "Open {} and enter the code {}",
                body["verification_uri"]
                    .as_str()
                    .unwrap_or("https://microsoft.com/devicelogin"),
                body["user_code"].as_str().unwrap_or("?")
            )
        });
    let _ = writeln!(out, "{message}");
    let _ = out.flush();
    let mut interval = Duration::from_secs(body["interval"].as_u64().unwrap_or(5).max(1));
    let deadline = Instant::now()
        + Duration::from_secs(body["expires_in"].as_u64().unwrap_or(900)).min(max_wait);
    loop {
        tokio::time::sleep(interval).await;
        if Instant::now() > deadline {
            return Err(
                "the sign-in was not completed in time; run `ado-ingest login` again".into(),
            );
        }
        let (status, body) = post_form(
            http,
            &token_url,
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("client_id", config.client_id.trim()),
                ("device_code", &device_code),
            ],
        )
        .await?;
        if status == 200 {
            let refresh_token = body["refresh_token"]
                .as_str()
                .filter(|t| !t.is_empty())
                .ok_or("the token answer has no refresh_token (is offline_access in login.scope?)")?
                .to_string();
            return Ok(TokenFile {
                refresh_token,
                tenant_id: config.tenant_id.trim().to_string(),
                client_id: config.client_id.trim().to_string(),
                authority: config.authority.trim().to_string(),
                scope: config.scope.trim().to_string(),
                signed_in_at: crate::normalize::time::format_time(&chrono::Utc::now()),
            });
        }
        let (code, text) = oauth_error(&body);
        match code.as_str() {
            "authorization_pending" => {}
            "slow_down" => interval += Duration::from_secs(5),
            "expired_token" => {
                return Err("the code expired before the sign-in was completed; run `ado-ingest login` again".into());
            }
            "access_denied" | "authorization_declined" => {
                return Err("the sign-in was declined".into());
            }
            _ => return Err(format!("the sign-in failed ({code}): {text}")),
        }
    }
}

/// A signed-in person's credential: access tokens from the stored refresh token.
pub struct SignedInCredential {
    path: PathBuf,
    http: reqwest::Client,
    cache: Mutex<Option<(HeaderValue, Instant)>>,
}

impl SignedInCredential {
    pub fn new(config: &LoginConfig, http: reqwest::Client) -> Self {
        Self {
            path: PathBuf::from(&config.token_file),
            http,
            cache: Mutex::new(None),
        }
    }

    async fn renew(&self) -> Result<(HeaderValue, Instant), CredentialError> {
        let fail = |message: String, transient: bool| {
            if !transient {
                metrics::counter!("ado_ingest_signin_failures_total").increment(1);
            }
            CredentialError { message, transient }
        };
        let stored = TokenFile::load(&self.path).map_err(|m| fail(m, false))?;
        let config = LoginConfig {
            tenant_id: stored.tenant_id.clone(),
            client_id: stored.client_id.clone(),
            authority: stored.authority.clone(),
            scope: stored.scope.clone(),
            token_file: self.path.display().to_string(),
        };
        let url = endpoint(&config, "token").map_err(|m| fail(m, false))?;
        let requested = Instant::now();
        let (status, body) = post_form(
            &self.http,
            &url,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", stored.client_id.as_str()),
                ("refresh_token", stored.refresh_token.as_str()),
                ("scope", stored.scope.as_str()),
            ],
        )
        .await
        .map_err(|m| fail(m, true))?;
        if status != 200 {
            let (code, text) = oauth_error(&body);
            let transient = status == 429 || status >= 500;
            let message = if code == "invalid_grant" {
                format!(
                    "the sign-in stored at {} was revoked or has expired ({text}); run `ado-ingest login` again",
                    self.path.display()
                )
            } else {
                format!("renewing the sign-in failed (HTTP {status}, {code}): {text}")
            };
            return Err(fail(message, transient));
        }
        let token = body["access_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| fail("the token answer has no access_token".into(), false))?;
        // Entra rotates refresh tokens: keep the newest, or the next renewal fails.
        if let Some(rotated) = body["refresh_token"].as_str().filter(|t| !t.is_empty()) {
            let next = TokenFile {
                refresh_token: rotated.to_string(),
                ..stored
            };
            next.store(&self.path).map_err(|m| fail(m, false))?;
        }
        let lifetime = Duration::from_secs(body["expires_in"].as_u64().unwrap_or(3600).min(86_400));
        let mut header = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| fail("the access token is not a valid header value".into(), false))?;
        header.set_sensitive(true);
        tracing::debug!(
            lifetime_s = lifetime.as_secs(),
            "renewed the signed-in access token"
        );
        Ok((
            header,
            requested + lifetime - REFRESH_MARGIN.min(lifetime / 2),
        ))
    }
}

impl fmt::Debug for SignedInCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedInCredential")
            .field("token_file", &self.path)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Credential for SignedInCredential {
    async fn authorization(&self) -> Result<HeaderValue, CredentialError> {
        let mut cache = self.cache.lock().await;
        if let Some((header, _)) = cache.as_ref().filter(|(_, until)| Instant::now() < *until) {
            return Ok(header.clone());
        }
        let fresh = self.renew().await?;
        let header = fresh.0.clone();
        *cache = Some(fresh);
        Ok(header)
    }

    fn invalidate(&self) {
        if let Ok(mut cache) = self.cache.try_lock() {
            *cache = None;
        }
    }

    fn kind(&self) -> &'static str {
        "login"
    }
}
