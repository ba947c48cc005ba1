//! Configuration of the Azure DevOps organizations the reconciler reads over REST (each with its own
//! credentials, project filter and streams) and of the reconcile loop itself.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ConfigError, Secret};
use crate::normalize::cloudevent::org_from_base_url;

/// Entra ID authority used when an organization does not name one.
pub const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com";
/// The Azure DevOps resource (app id 499b84ac-…) with the `.default` scope, for client credentials.
pub const DEFAULT_ENTRA_SCOPE: &str = "499b84ac-1321-427f-aa17-267ca6975798/.default";

/// One organization (Services) or project collection (Server) read over REST.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationConfig {
    /// Base URL: `https://dev.azure.com/{org}`, `https://{org}.visualstudio.com` or
    /// `https://{server}/tfs/{collection}`.
    pub url: String,
    /// Short name used in logs, metrics and watermarks; defaults to the org slug of the URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Personal access token (`env:NAME` / `file:/path` allowed). Exactly one of `pat` / `entra`
    /// / `login`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pat: Option<Secret>,
    /// Microsoft Entra ID service principal (client credentials; Services only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entra: Option<EntraConfig>,
    /// The Azure managed identity of the machine (instance metadata token endpoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_identity: Option<ManagedIdentityConfig>,
    /// The person signed in with `ado-ingest login` (Entra ID; Services only).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub login: bool,
    /// The `[login]` settings, filled in when the configuration is loaded.
    #[serde(skip)]
    pub login_settings: Option<crate::config::LoginConfig>,
    /// Project names or ids to read; empty means every project the identity can read.
    #[serde(default)]
    pub projects: Vec<String>,
    /// Streams to reconcile; defaults to all of them.
    #[serde(default = "Stream::all")]
    pub streams: Vec<Stream>,
    /// REST requests in flight at once against this organization.
    #[serde(default = "default_max_concurrency")]
    pub max_concurrency: usize,
}

/// An Azure managed identity: tokens from the instance metadata service of the VM, scale set or
/// AKS node this runs on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ManagedIdentityConfig {
    /// A user-assigned identity's client id; empty: the system-assigned identity.
    #[serde(default)]
    pub client_id: String,
    /// The token endpoint of the instance metadata service.
    #[serde(default = "default_imds_endpoint")]
    pub endpoint: String,
}

pub fn default_imds_endpoint() -> String {
    "http://169.254.169.254/metadata/identity/oauth2/token".into()
}

/// Client-credentials settings of an Entra ID service principal.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntraConfig {
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// Token authority; the token endpoint is `{authority}/{tenant_id}/oauth2/v2.0/token`.
    #[serde(default = "default_authority")]
    pub authority: String,
    #[serde(default = "default_scope")]
    pub scope: String,
}

/// A family of changes the reconciler backfills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Git,
    PullRequests,
    Builds,
    /// YAML pipeline approvals, found through the runs' timelines.
    Approvals,
    /// Classic Release Management deployments.
    Releases,
    WorkItems,
    Tfvc,
}

impl Stream {
    pub const ALL: [Stream; 7] = [
        Stream::Git,
        Stream::PullRequests,
        Stream::Builds,
        Stream::Approvals,
        Stream::Releases,
        Stream::WorkItems,
        Stream::Tfvc,
    ];

    /// Every stream (the default of `streams`).
    pub fn all() -> Vec<Stream> {
        Self::ALL.to_vec()
    }

    /// The name used in the configuration, logs and watermarks.
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Git => "git",
            Stream::PullRequests => "pullrequests",
            Stream::Builds => "builds",
            Stream::Approvals => "approvals",
            Stream::Releases => "releases",
            Stream::WorkItems => "workitems",
            Stream::Tfvc => "tfvc",
        }
    }
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The reconcile loop's schedule and paging.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReconcileConfig {
    /// Time between two reconcile passes over an organization.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// How far before the stored watermark each pass starts again (late-indexed changes).
    #[serde(with = "humantime_serde")]
    pub overlap: Duration,
    /// `$top` of paged REST lists.
    pub page_size: u32,
    /// This service's hook URL as Azure DevOps reaches it (`https://ingest.example.com/hooks`).
    /// When set, each pass re-enables the web-hook subscriptions posting to it (or below it) that
    /// Azure DevOps put on probation or disabled, restoring their password from
    /// `hook_credentials`. Empty: subscriptions are left alone.
    pub hook_url: String,
    /// Filled from `hook_credentials` at start-up (not a config key).
    #[serde(skip)]
    pub hook_credentials: Vec<crate::config::HookCredential>,
}

impl Default for ReconcileConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(5 * 60),
            overlap: Duration::from_secs(10 * 60),
            page_size: 200,
            hook_url: String::new(),
            hook_credentials: Vec::new(),
        }
    }
}

fn default_max_concurrency() -> usize {
    4
}
fn default_authority() -> String {
    DEFAULT_AUTHORITY.into()
}
fn default_scope() -> String {
    DEFAULT_ENTRA_SCOPE.into()
}

impl OrganizationConfig {
    /// How this organization authenticates: `pat`, `entra` (service principal) or `login`.
    pub fn auth_method(&self) -> &'static str {
        match (&self.pat, &self.entra, self.login) {
            (Some(_), _, _) => "pat",
            (_, Some(_), _) => "entra",
            (_, _, true) => "login",
            _ if self.managed_identity.is_some() => "managed_identity",
            _ => "none",
        }
    }

    /// A PAT-authenticated organization with every default (handy for tests and tools).
    pub fn with_pat(url: impl Into<String>, pat: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            name: None,
            pat: Some(Secret::new(pat)),
            entra: None,
            managed_identity: None,
            login: false,
            login_settings: None,
            projects: Vec::new(),
            streams: Stream::all(),
            max_concurrency: default_max_concurrency(),
        }
    }

    /// The configured name, else the org slug of the URL (`https://dev.azure.com/Contoso` → `contoso`).
    pub fn name(&self) -> String {
        self.name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .or_else(|| org_from_base_url(&self.url))
            .unwrap_or_else(|| self.url.clone())
    }

    /// The URL parsed, with a trailing `/` so relative routes keep the collection path.
    pub fn base_url(&self) -> Result<url::Url, ConfigError> {
        let mut text = self.url.trim().to_string();
        if !text.ends_with('/') {
            text.push('/');
        }
        let url = url::Url::parse(&text).map_err(|e| {
            ConfigError::Invalid(format!(
                "organizations: url = {:?} is not a URL: {e}",
                self.url
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(ConfigError::Invalid(format!(
                "organizations: url = {:?} must be an http:// or https:// URL with a host",
                self.url
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ConfigError::Invalid(format!(
                "organizations: url for {} must not carry credentials; use pat or entra",
                url.host_str().unwrap_or_default()
            )));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(ConfigError::Invalid(format!(
                "organizations: url = {:?} must not have a query or fragment",
                self.url
            )));
        }
        Ok(url)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.base_url()?;
        let name = self.name();
        let invalid = |what: &str| {
            ConfigError::Invalid(format!("organizations: {name} ({}): {what}", self.url))
        };
        let methods = usize::from(self.pat.is_some())
            + usize::from(self.entra.is_some())
            + usize::from(self.managed_identity.is_some())
            + usize::from(self.login);
        if methods > 1 {
            return Err(invalid(
                "set one of pat, entra, managed_identity or login = true, not several",
            ));
        }
        match (&self.pat, &self.entra) {
            (None, None) if self.login || self.managed_identity.is_some() => {}
            (None, None) => {
                return Err(invalid(
                    "no credentials: set pat = \"env:VAR\" (a personal access token), an entra \
                     service principal, a managed_identity, or login = true (after `ado-ingest \
                     login`)",
                ));
            }
            (Some(pat), None) if pat.is_empty() => return Err(invalid("pat is empty")),
            (None, Some(entra)) => {
                if entra.tenant_id.trim().is_empty() || entra.client_id.trim().is_empty() {
                    return Err(invalid("entra needs tenant_id and client_id"));
                }
                if entra.client_secret.is_empty() {
                    return Err(invalid("entra.client_secret is empty"));
                }
                let authority = url::Url::parse(&entra.authority)
                    .map_err(|e| invalid(&format!("entra.authority is not a URL: {e}")))?;
                if !matches!(authority.scheme(), "http" | "https") {
                    return Err(invalid("entra.authority must be an http(s) URL"));
                }
            }
            _ => {}
        }
        if self.max_concurrency == 0 {
            return Err(invalid("max_concurrency must be at least 1"));
        }
        if self.streams.is_empty() {
            return Err(invalid(
                "streams is empty; leave it out to reconcile every stream",
            ));
        }
        Ok(())
    }
}

/// Checks every organization and that their names (used as metric labels and watermark keys) differ.
pub(super) fn validate_organizations(orgs: &[OrganizationConfig]) -> Result<(), ConfigError> {
    let mut names = BTreeSet::new();
    for org in orgs {
        org.validate()?;
        if !names.insert(org.name()) {
            return Err(ConfigError::Invalid(format!(
                "organizations: two organizations are named {:?}; give one of them a distinct name",
                org.name()
            )));
        }
    }
    Ok(())
}

/// Checks the reconcile section.
pub(super) fn validate_reconcile(r: &ReconcileConfig) -> Result<(), ConfigError> {
    if r.interval.is_zero() {
        return Err(ConfigError::Invalid(
            "reconcile.interval must be longer than 0s".into(),
        ));
    }
    if r.page_size == 0 {
        return Err(ConfigError::Invalid(
            "reconcile.page_size must be at least 1".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
