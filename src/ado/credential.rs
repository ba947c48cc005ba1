//! REST credentials: a PAT as `Basic base64(":" + pat)`, or a Microsoft Entra ID client-credentials
//! bearer token cached and refreshed before it expires. Neither `Debug` nor errors ever show a secret.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use serde_json::Value;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::config::{EntraConfig, OrganizationConfig, Secret};

/// How long before a token's expiry it is replaced (halved for tokens that live shorter than twice this).
const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);
/// Longest token lifetime believed (Entra issues 1 h tokens).
const MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// Why no `Authorization` header could be produced.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CredentialError {
    pub message: String,
    /// Worth retrying (token endpoint unreachable, 429 or 5xx) as opposed to rejected credentials.
    pub transient: bool,
}

/// Produces the `Authorization` header of REST requests (the value is marked sensitive).
#[async_trait]
pub trait Credential: Send + Sync + fmt::Debug {
    async fn authorization(&self) -> Result<HeaderValue, CredentialError>;
    /// Forgets a cached token after the server refused it, so the next call fetches a fresh one.
    fn invalidate(&self) {}
    /// `pat` or `entra`, for logs and errors.
    fn kind(&self) -> &'static str;
}

/// The credential an organization's configuration asks for, sharing `http` for token requests.
pub fn credential_for(
    org: &OrganizationConfig,
    http: reqwest::Client,
) -> Result<std::sync::Arc<dyn Credential>, CredentialError> {
    if let Some(mi) = &org.managed_identity {
        return Ok(std::sync::Arc::new(ManagedIdentityCredential::new(
            mi, http,
        )?));
    }
    match (&org.pat, &org.entra, org.login) {
        (Some(pat), None, false) => Ok(std::sync::Arc::new(PatCredential::new(pat)?)),
        (None, Some(entra), false) => Ok(std::sync::Arc::new(EntraCredential::new(entra, http)?)),
        (None, None, true) => {
            let settings = org.login_settings.clone().unwrap_or_default();
            Ok(std::sync::Arc::new(super::signin::SignedInCredential::new(
                &settings, http,
            )))
        }
        _ => Err(CredentialError {
            message: format!(
                "organization {} needs exactly one of pat, entra or login",
                org.name()
            ),
            transient: false,
        }),
    }
}

/// A personal access token sent as Basic with an empty user name.
pub struct PatCredential {
    header: HeaderValue,
}

impl PatCredential {
    pub fn new(pat: &Secret) -> Result<Self, CredentialError> {
        if pat.is_empty() {
            return Err(CredentialError {
                message: "the PAT is empty".into(),
                transient: false,
            });
        }
        let encoded = STANDARD.encode(format!(":{}", pat.expose()));
        let mut header =
            HeaderValue::from_str(&format!("Basic {encoded}")).map_err(|_| CredentialError {
                message: "the PAT cannot be put in a header".into(),
                transient: false,
            })?;
        header.set_sensitive(true);
        Ok(Self { header })
    }
}

impl fmt::Debug for PatCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PatCredential([redacted])")
    }
}

#[async_trait]
impl Credential for PatCredential {
    async fn authorization(&self) -> Result<HeaderValue, CredentialError> {
        Ok(self.header.clone())
    }
    fn kind(&self) -> &'static str {
        "pat"
    }
}

/// An Entra ID service principal (client credentials grant, v2.0 endpoint).
pub struct EntraCredential {
    token_url: url::Url,
    client_id: String,
    client_secret: Secret,
    scope: String,
    http: reqwest::Client,
    /// Held across the token request, so concurrent callers wait for one refresh (single flight).
    cache: Mutex<Option<CachedToken>>,
}

struct CachedToken {
    header: HeaderValue,
    refresh_at: Instant,
}

impl EntraCredential {
    pub fn new(config: &EntraConfig, http: reqwest::Client) -> Result<Self, CredentialError> {
        let invalid = |message: String| CredentialError {
            message,
            transient: false,
        };
        let mut token_url = url::Url::parse(&config.authority)
            .map_err(|e| invalid(format!("entra.authority is not a URL: {e}")))?;
        token_url
            .path_segments_mut()
            .map_err(|_| invalid("entra.authority cannot have a path".into()))?
            .pop_if_empty()
            .extend([config.tenant_id.trim(), "oauth2", "v2.0", "token"]);
        Ok(Self {
            token_url,
            client_id: config.client_id.trim().to_string(),
            client_secret: config.client_secret.clone(),
            scope: config.scope.clone(),
            http,
            cache: Mutex::new(None),
        })
    }

    async fn fetch(&self) -> Result<CachedToken, CredentialError> {
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "client_credentials")
            .append_pair("client_id", &self.client_id)
            .append_pair("client_secret", self.client_secret.expose())
            .append_pair("scope", &self.scope)
            .finish();
        let requested = Instant::now();
        let response = self
            .http
            .post(self.token_url.clone())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .map_err(|e| {
                self.failure(
                    format!("token endpoint {} unreachable: {e}", self.token_url),
                    true,
                )
            })?;
        let status = response.status();
        let body: Value = match response.bytes().await {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            Err(e) => return Err(self.failure(format!("reading the token response: {e}"), true)),
        };
        if !status.is_success() {
            let detail = ["error_description", "error"]
                .iter()
                .find_map(|k| body.get(*k).and_then(Value::as_str))
                .unwrap_or("no error description");
            let transient = status.as_u16() == 429 || status.is_server_error();
            return Err(self.failure(
                format!(
                    "token endpoint {} answered HTTP {status}: {detail}",
                    self.token_url
                ),
                transient,
            ));
        }
        let token = body
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| self.failure("the token response has no access_token".into(), false))?;
        // v2.0 sends a number, v1.0 a string.
        let lifetime = body
            .get("expires_in")
            .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
            .map(Duration::from_secs)
            .unwrap_or(Duration::from_secs(3600))
            // A hostile or absurd lifetime must not overflow the clock arithmetic below.
            .min(MAX_LIFETIME);
        let mut header = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
            self.failure("the access token is not a valid header value".into(), false)
        })?;
        header.set_sensitive(true);
        tracing::debug!(lifetime_s = lifetime.as_secs(), "fetched an Entra ID token");
        Ok(CachedToken {
            header,
            refresh_at: requested + lifetime - REFRESH_MARGIN.min(lifetime / 2),
        })
    }

    /// An error whose message is guaranteed free of the client secret, however the server echoes it.
    fn failure(&self, message: String, transient: bool) -> CredentialError {
        let secret = self.client_secret.expose();
        let message = if secret.is_empty() {
            message
        } else {
            message.replace(secret, "[redacted]")
        };
        CredentialError { message, transient }
    }
}

impl fmt::Debug for EntraCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntraCredential")
            .field("token_url", &self.token_url.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Credential for EntraCredential {
    async fn authorization(&self) -> Result<HeaderValue, CredentialError> {
        let mut cache = self.cache.lock().await;
        if let Some(token) = cache.as_ref().filter(|t| Instant::now() < t.refresh_at) {
            return Ok(token.header.clone());
        }
        let fresh = self.fetch().await?;
        let header = fresh.header.clone();
        *cache = Some(fresh);
        Ok(header)
    }

    fn invalidate(&self) {
        // A refresh in progress holds the lock and will replace the token anyway.
        if let Ok(mut cache) = self.cache.try_lock() {
            *cache = None;
        }
    }

    fn kind(&self) -> &'static str {
        "entra"
    }
}

/// An Azure managed identity: `GET {endpoint}?api-version=2018-02-01&resource=…[&client_id=…]`
/// with `Metadata: true` from the instance metadata service, cached until shortly before expiry.
pub struct ManagedIdentityCredential {
    url: url::Url,
    http: reqwest::Client,
    cache: Mutex<Option<CachedToken>>,
}

impl ManagedIdentityCredential {
    pub fn new(
        config: &crate::config::ManagedIdentityConfig,
        http: reqwest::Client,
    ) -> Result<Self, CredentialError> {
        let mut url = url::Url::parse(config.endpoint.trim()).map_err(|e| CredentialError {
            message: format!("managed_identity.endpoint is not a URL: {e}"),
            transient: false,
        })?;
        url.query_pairs_mut()
            .append_pair("api-version", "2018-02-01")
            .append_pair("resource", AZURE_DEVOPS_RESOURCE);
        if !config.client_id.trim().is_empty() {
            url.query_pairs_mut()
                .append_pair("client_id", config.client_id.trim());
        }
        Ok(Self {
            url,
            http,
            cache: Mutex::new(None),
        })
    }

    async fn fetch(&self) -> Result<CachedToken, CredentialError> {
        let fail = |message: String, transient: bool| CredentialError { message, transient };
        let requested = Instant::now();
        let response = self
            .http
            .get(self.url.clone())
            .header("Metadata", "true")
            .send()
            .await
            .map_err(|e| {
                fail(
                    format!("the managed identity endpoint is unreachable: {e}"),
                    true,
                )
            })?;
        let status = response.status();
        let body: Value = response
            .bytes()
            .await
            .map(|b| serde_json::from_slice(&b).unwrap_or(Value::Null))
            .map_err(|e| fail(format!("reading the managed identity token: {e}"), true))?;
        if !status.is_success() {
            let detail = ["error_description", "error"]
                .iter()
                .find_map(|k| body.get(*k).and_then(Value::as_str))
                .unwrap_or("no error description");
            return Err(fail(
                format!("the managed identity endpoint answered HTTP {status}: {detail}"),
                status.as_u16() == 429 || status.is_server_error(),
            ));
        }
        let token = body["access_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                fail(
                    "the managed identity answer has no access_token".into(),
                    false,
                )
            })?;
        // IMDS sends expires_in as a string.
        let lifetime = body
            .get("expires_in")
            .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
            .map(Duration::from_secs)
            .unwrap_or(Duration::from_secs(3600))
            .min(MAX_LIFETIME);
        let mut header = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| fail("the access token is not a valid header value".into(), false))?;
        header.set_sensitive(true);
        Ok(CachedToken {
            header,
            refresh_at: requested + lifetime - REFRESH_MARGIN.min(lifetime / 2),
        })
    }
}

impl fmt::Debug for ManagedIdentityCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManagedIdentityCredential")
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Credential for ManagedIdentityCredential {
    async fn authorization(&self) -> Result<HeaderValue, CredentialError> {
        let mut cache = self.cache.lock().await;
        if let Some(token) = cache.as_ref().filter(|t| Instant::now() < t.refresh_at) {
            return Ok(token.header.clone());
        }
        let fresh = self.fetch().await?;
        let header = fresh.header.clone();
        *cache = Some(fresh);
        Ok(header)
    }

    fn invalidate(&self) {
        if let Ok(mut cache) = self.cache.try_lock() {
            *cache = None;
        }
    }

    fn kind(&self) -> &'static str {
        "managed_identity"
    }
}

/// Azure DevOps' Entra ID resource (application) id.
const AZURE_DEVOPS_RESOURCE: &str = "499b84ac-1321-427f-aa17-267ca6975798";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pat_header_is_basic_with_empty_user_and_never_debug_printed() {
        let cred = PatCredential::new(&Secret::new("my-pat")).unwrap();
        // base64(":my-pat")
        assert_eq!(cred.header.to_str().unwrap(), "Basic Om15LXBhdA==");
        assert!(cred.header.is_sensitive());
        assert!(!format!("{cred:?}").contains("my-pat"));
        assert!(!format!("{:?}", cred.header).contains("Om15"));
        assert!(PatCredential::new(&Secret::new("")).is_err());
    }

    #[test]
    fn entra_token_url_is_built_from_authority_and_tenant() {
        let config = EntraConfig {
            tenant_id: "contoso-tenant".into(),
            client_id: "app".into(),
            client_secret: Secret::new("very-secret"),
            authority: "https://login.microsoftonline.com/".into(),
            scope: crate::config::DEFAULT_ENTRA_SCOPE.into(),
        };
        let cred = EntraCredential::new(&config, reqwest::Client::new()).unwrap();
        assert_eq!(
            cred.token_url.as_str(),
            "https://login.microsoftonline.com/contoso-tenant/oauth2/v2.0/token"
        );
        let debug = format!("{cred:?}");
        assert!(!debug.contains("very-secret"), "{debug}");
        let err = cred.failure("echo very-secret back".into(), false);
        assert_eq!(err.message, "echo [redacted] back");
    }
}
