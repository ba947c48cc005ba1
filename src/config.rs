//! Typed configuration: defaults, an optional TOML file, then `ADO_INGEST_*` environment variables,
//! validated once; secrets are redacted wherever the configuration is printed.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

mod organizations;

pub use organizations::{
    DEFAULT_AUTHORITY, DEFAULT_ENTRA_SCOPE, EntraConfig, ManagedIdentityConfig, OrganizationConfig,
    ReconcileConfig, Stream,
};

/// Prefix of every environment variable that sets a configuration key.
pub const ENV_PREFIX: &str = "ADO_INGEST_";

/// Everything `serve` and its tasks read. Every leaf key `a.b` can be set by `ADO_INGEST_A_B`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server binds.
    pub listen: String,
    /// AMQP 0-9-1 URL of the broker (may carry a password: redacted when printed). Several URLs
    /// (the nodes of a RabbitMQ cluster), comma-separated or as a TOML array, are tried in turn.
    #[serde(deserialize_with = "deserialize_url_list")]
    pub amqp_url: Secret,
    /// Durable topic exchange events are published to.
    pub exchange: String,
    /// Store location: an SQLite file path (or `sqlite://path`), or `postgres://user@host/db` for a
    /// PostgreSQL database that several replicas share.
    pub store: String,
    /// This replica's name (outbox claims, ownership in `/admin/status`); empty: `hostname-pid`.
    pub replica_id: String,
    pub postgres: PostgresConfig,
    /// Accepted Basic credentials for `POST /hooks`, `user:password` each; several for rotation.
    #[serde(deserialize_with = "deserialize_credentials")]
    pub hook_credentials: Vec<HookCredential>,
    /// Accept hooks without credentials. Off by default: without credentials `serve` refuses to start.
    pub allow_anonymous_hooks: bool,
    /// Publish the wizard's "Test" notifications (zero subscription id) instead of dropping them.
    pub accept_test_notifications: bool,
    /// Largest accepted hook body in bytes (Azure DevOps payloads go up to ~2 MB).
    pub max_body_bytes: usize,
    /// Events allowed to wait in the outbox; beyond it hooks get 503 + `Retry-After`.
    pub outbox_max: u64,
    /// How long seen event ids are remembered for deduplication.
    #[serde(with = "humantime_serde")]
    pub seen_retention: Duration,
    /// How long shutdown keeps draining the outbox to the broker before exiting.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// `text` or `json` log lines.
    pub log_format: LogFormat,
    /// Bearer token for `/admin/*`; empty disables the admin API.
    pub admin_token: Secret,
    pub publish: PublishConfig,
    pub hooks: HooksConfig,
    pub discovery: DiscoveryConfig,
    pub login: LoginConfig,
    /// Azure DevOps organizations read over REST by the reconciler (`[[organizations]]` tables).
    /// Skipped when empty so the env-override key walk never sees an array of tables.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub organizations: Vec<OrganizationConfig>,
    pub reconcile: ReconcileConfig,
}

/// A person's sign-in with Microsoft Entra ID (`ado-ingest login`, device-code flow), used by
/// organizations (and discovery) with `login = true`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct LoginConfig {
    /// `organizations` (work or school accounts of any tenant), `common`, or a tenant id.
    pub tenant_id: String,
    /// The public client the sign-in is made with.
    pub client_id: String,
    pub authority: String,
    /// Azure DevOps' resource with `.default`, plus `offline_access` for a refresh token.
    pub scope: String,
    /// Where the refresh token is kept (mode 0600).
    pub token_file: String,
}

impl Default for LoginConfig {
    fn default() -> Self {
        Self {
            tenant_id: "organizations".into(),
            // The Azure CLI's public client: allowed to request Azure DevOps' scope in any tenant.
            client_id: "04b07795-8ddb-461a-bbee-02f9e1bf7b46".into(),
            authority: "https://login.microsoftonline.com".into(),
            scope: format!(
                "{} offline_access",
                crate::config::organizations::DEFAULT_ENTRA_SCOPE
            ),
            token_file: "./data/login.json".into(),
        }
    }
}

/// Every organization an identity can access, treated like a configured one (Services only:
/// Server has no discovery API, list its collections under `[[organizations]]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiscoveryConfig {
    /// The identity's personal access token (`env:NAME` / `file:/path`); set (or `entra`) to
    /// turn discovery on.
    pub pat: Secret,
    /// An Entra ID service principal instead of a PAT (file only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entra: Option<crate::config::organizations::EntraConfig>,
    /// The `ado-ingest login` sign-in instead of a PAT.
    pub login: bool,
    /// The `[login]` settings when `login` is set (internal).
    #[serde(skip)]
    pub login_settings: Option<LoginConfig>,
    /// Organization names or globs (`contoso-*`) to take; empty: all of them.
    #[serde(deserialize_with = "deserialize_list")]
    pub include: Vec<String>,
    /// Organization names or globs to leave out (after `include`).
    #[serde(deserialize_with = "deserialize_list")]
    pub exclude: Vec<String>,
    /// Where the profile and accounts APIs are (`_apis/profile/profiles/me`, `_apis/accounts`).
    pub profile_url: String,
    /// The REST base URL of an organization, `{name}` standing for its name.
    pub organization_url: String,
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        Self {
            pat: Secret::default(),
            entra: None,
            login: false,
            login_settings: None,
            include: Vec::new(),
            exclude: Vec::new(),
            profile_url: "https://app.vssps.visualstudio.com/".into(),
            organization_url: "https://dev.azure.com/{name}".into(),
        }
    }
}

impl DiscoveryConfig {
    /// Whether a credential for discovery is configured.
    pub fn enabled(&self) -> bool {
        !self.pat.expose().is_empty() || self.entra.is_some() || self.login
    }
}

/// A list from a TOML array or a comma-separated string (an environment variable).
fn deserialize_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Text(String),
    }
    Ok(match Raw::deserialize(d)? {
        Raw::List(l) => l,
        Raw::Text(t) => t
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
    })
}

/// What `POST /hooks` accepts beyond valid credentials.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HooksConfig {
    /// Refuse hooks whose collection id is no configured organization's: `auto` (on once any
    /// `[[organizations]]` is configured), `true` or `false`.
    pub require_known_collection: Toggle,
}

impl HooksConfig {
    /// Whether the tenant check applies with `organizations` configured.
    pub fn require_known_collection(&self, organizations: usize) -> bool {
        match self.require_known_collection {
            Toggle::Auto => organizations > 0,
            Toggle::On => true,
            Toggle::Off => false,
        }
    }
}

/// `auto`, `true` or `false` (a TOML boolean or a string).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Toggle {
    #[default]
    Auto,
    On,
    Off,
}

impl Serialize for Toggle {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match self {
            Toggle::Auto => "auto",
            Toggle::On => "true",
            Toggle::Off => "false",
        })
    }
}

impl<'de> Deserialize<'de> for Toggle {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bool(bool),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Bool(true) => Ok(Toggle::On),
            Raw::Bool(false) => Ok(Toggle::Off),
            Raw::Text(t) => match t.trim().to_ascii_lowercase().as_str() {
                "auto" => Ok(Toggle::Auto),
                "true" | "1" | "yes" | "on" => Ok(Toggle::On),
                "false" | "0" | "no" | "off" => Ok(Toggle::Off),
                other => Err(serde::de::Error::custom(format!(
                    "{other:?} is not auto, true or false"
                ))),
            },
        }
    }
}

/// Settings of the PostgreSQL store (unused with SQLite).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PostgresConfig {
    /// Connections each replica keeps in its pool.
    pub pool_size: usize,
    /// `statement_timeout` of every connection: a statement running longer fails (zero: none).
    #[serde(with = "humantime_serde")]
    pub statement_timeout: Duration,
    /// How long a replica's outbox claims outlive it once it stops renewing them (it died): then
    /// another replica's publisher takes them over.
    #[serde(with = "humantime_serde")]
    pub claim_lease: Duration,
}

impl Default for PostgresConfig {
    fn default() -> Self {
        Self {
            pool_size: 16,
            statement_timeout: Duration::from_secs(30),
            claim_lease: Duration::from_secs(15),
        }
    }
}

/// Publisher settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PublishConfig {
    /// Embed the original resource under `data.raw`.
    pub include_raw: bool,
    /// Also declare the quorum queue `{exchange}.all` bound with `#`.
    pub declare_default_queue: bool,
    /// Outbox rows published per confirm round.
    pub batch_size: usize,
    /// How long to wait for the broker to confirm a batch before retrying it.
    #[serde(with = "humantime_serde")]
    pub confirm_timeout: Duration,
    /// Upper bound of the reconnect and retry backoff.
    #[serde(with = "humantime_serde")]
    pub max_backoff: Duration,
    /// Publish through the fanout `{exchange}.in`, which also feeds the stream `{exchange}.ledger`,
    /// so that after a crash the publisher can tell which unconfirmed events the broker already
    /// routed instead of publishing them twice. Off by default: a send in the ledger proves only
    /// that the stream took it, not that every bound queue did, so it is safe only where no queue
    /// bound to the exchange can refuse a message (README, "Guarantees").
    pub ledger: bool,
    /// Size bound of the ledger stream (`x-max-length-bytes`).
    pub ledger_max_bytes: u64,
    /// Keys (`whsec_<base64>`, comma-separated or an array; the first is the current one) that
    /// sign every message in the Standard Webhooks scheme; empty: unsigned.
    #[serde(deserialize_with = "deserialize_url_list")]
    pub signing_keys: Secret,
}

impl PublishConfig {
    /// The configured signing keys, each still `whsec_…`.
    pub fn signing_keys(&self) -> Vec<String> {
        self.signing_keys
            .expose()
            .split(',')
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .collect()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            amqp_url: Secret::new("amqp://guest:guest@127.0.0.1:5672/%2f"),
            exchange: "ado.events".into(),
            store: "./data/ado-ingest.sqlite".into(),
            replica_id: String::new(),
            postgres: PostgresConfig::default(),
            hook_credentials: Vec::new(),
            allow_anonymous_hooks: false,
            accept_test_notifications: false,
            max_body_bytes: 4 * 1024 * 1024,
            outbox_max: 1_000_000,
            seen_retention: Duration::from_secs(30 * 24 * 3600),
            shutdown_grace: Duration::from_secs(15),
            log_format: LogFormat::Text,
            admin_token: Secret::default(),
            publish: PublishConfig::default(),
            hooks: HooksConfig::default(),
            discovery: DiscoveryConfig::default(),
            login: LoginConfig::default(),
            organizations: Vec::new(),
            reconcile: ReconcileConfig::default(),
        }
    }
}

impl Default for PublishConfig {
    fn default() -> Self {
        Self {
            include_raw: true,
            declare_default_queue: false,
            batch_size: 512,
            confirm_timeout: Duration::from_secs(30),
            max_backoff: Duration::from_secs(30),
            ledger: false,
            ledger_max_bytes: 512 * 1024 * 1024,
            signing_keys: Secret::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// A secret string: `Debug` and `Serialize` never show it. In the file or environment the value may
/// be given literally, as `env:NAME` (read from another variable) or `file:/path` (read from a file).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() {
            "\"\""
        } else {
            "\"[redacted]\""
        })
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.0.is_empty() { "" } else { "[redacted]" })
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        resolve_secret(&raw)
            .map(Secret)
            .map_err(serde::de::Error::custom)
    }
}

/// Resolves `env:NAME` and `file:/path` references; anything else is the literal secret.
pub fn resolve_secret(raw: &str) -> Result<String, String> {
    if let Some(var) = raw.strip_prefix("env:") {
        std::env::var(var)
            .map_err(|_| format!("secret refers to environment variable {var}, which is not set"))
    } else if let Some(path) = raw.strip_prefix("file:") {
        std::fs::read_to_string(path)
            .map(|s| s.trim_end_matches(['\r', '\n']).to_string())
            .map_err(|e| format!("secret refers to file {path}, which cannot be read: {e}"))
    } else {
        Ok(raw.to_string())
    }
}

/// One accepted Basic credential for the hook receiver.
#[derive(Clone, PartialEq, Eq)]
pub struct HookCredential {
    pub username: String,
    pub password: Secret,
}

impl fmt::Debug for HookCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{:?}", self.username, self.password)
    }
}

impl Serialize for HookCredential {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}:[redacted]", self.username))
    }
}

impl HookCredential {
    /// Parses `user:password` (the password may itself be `env:`/`file:`).
    pub fn parse(pair: &str) -> Result<Self, String> {
        let (user, password) = pair
            .split_once(':')
            .ok_or_else(|| "a hook credential must look like user:password".to_string())?;
        let password = resolve_secret(password)?;
        if user.trim().is_empty() || password.is_empty() {
            return Err("a hook credential needs a non-empty user and password".into());
        }
        Ok(Self {
            username: user.trim().to_string(),
            password: Secret(password),
        })
    }
}

/// Accepts `"amqp://a,amqp://b"` or `["amqp://a", "amqp://b"]` (each may be `env:`/`file:`).
fn deserialize_url_list<'de, D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    let parts = match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    };
    let resolved = parts
        .iter()
        .map(|p| resolve_secret(p.trim()).map_err(serde::de::Error::custom))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Secret(resolved.join(",")))
}

/// Accepts `"u:p,u2:p2"` or `["u:p", "u2:p2"]`.
fn deserialize_credentials<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Vec<HookCredential>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    let pairs = match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => s.split(',').map(str::to_string).collect(),
        OneOrMany::Many(v) => v,
    };
    pairs
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .map(|p| HookCredential::parse(p).map_err(serde::de::Error::custom))
        .collect()
}

/// The URLs of a comma-separated list, trimmed, empty ones dropped.
pub fn split_urls(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_string)
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("configuration file {path} is not valid TOML: {message}")]
    Toml { path: String, message: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Defaults, overlaid by the TOML file (if any), overlaid by `ADO_INGEST_*` variables from `env`.
    pub fn load(file: Option<&Path>, env: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let mut tree = toml::Table::new();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.display().to_string(),
                source,
            })?;
            tree = text.parse::<toml::Table>().map_err(|e| ConfigError::Toml {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
        }
        apply_env_overrides(&mut tree, env)?;
        let mut config: Config = toml::Value::Table(tree)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(e.message().to_string()))?;
        for org in config.organizations.iter_mut().filter(|o| o.login) {
            org.login_settings = Some(config.login.clone());
        }
        config.validate()?;
        Ok(config)
    }

    /// The broker URLs, in the order they are tried.
    pub fn amqp_urls(&self) -> Vec<String> {
        split_urls(self.amqp_url.expose())
    }

    /// This replica's name: `replica_id`, or `hostname-pid`.
    pub fn replica_name(&self) -> String {
        match self.replica_id.trim() {
            "" => crate::store::default_replica_id(),
            name => name.to_string(),
        }
    }

    /// How to open the configured store.
    pub fn store_options(&self) -> crate::store::StoreOptions {
        crate::store::StoreOptions {
            location: self.store.clone(),
            outbox_max: self.outbox_max,
            replica_id: self.replica_name(),
            pool_size: self.postgres.pool_size,
            statement_timeout: self.postgres.statement_timeout,
            claim_lease: self.postgres.claim_lease,
        }
    }

    /// Loads from the process environment.
    pub fn from_process_env(file: Option<&Path>) -> Result<Self, ConfigError> {
        let env: BTreeMap<String, String> = std::env::vars().collect();
        Self::load(file, &env)
    }

    /// Cross-field checks that do not depend on what the process will do with the config.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.listen.parse::<SocketAddr>().map_err(|_| {
            ConfigError::Invalid(format!("listen = {:?} is not host:port", self.listen))
        })?;
        let urls = self.amqp_urls();
        if urls.is_empty()
            || urls
                .iter()
                .any(|url| !(url.starts_with("amqp://") || url.starts_with("amqps://")))
        {
            return Err(ConfigError::Invalid(
                "amqp_url must start with amqp:// or amqps:// (several URLs: separated by commas)"
                    .into(),
            ));
        }
        if crate::store::is_postgres_url(&self.store) && self.postgres.pool_size < 2 {
            return Err(ConfigError::Invalid(
                "postgres.pool_size must be at least 2".into(),
            ));
        }
        if self.exchange.trim().is_empty() {
            return Err(ConfigError::Invalid("exchange must not be empty".into()));
        }
        if self.max_body_bytes < 1024 {
            return Err(ConfigError::Invalid(
                "max_body_bytes must be at least 1024".into(),
            ));
        }
        if self.outbox_max == 0 {
            return Err(ConfigError::Invalid("outbox_max must be at least 1".into()));
        }
        if self.publish.ledger && self.publish.ledger_max_bytes < crate::publish::LEDGER_MIN_BYTES {
            return Err(ConfigError::Invalid(format!(
                "publish.ledger_max_bytes must be at least {} (4 MiB)",
                crate::publish::LEDGER_MIN_BYTES
            )));
        }
        crate::publish::signing::Signer::from_keys(&self.publish.signing_keys())
            .map_err(|e| ConfigError::Invalid(format!("publish.signing_keys: {e}")))?;
        if self.publish.batch_size == 0 {
            return Err(ConfigError::Invalid(
                "publish.batch_size must be at least 1".into(),
            ));
        }
        organizations::validate_organizations(&self.organizations)?;
        organizations::validate_reconcile(&self.reconcile)?;
        Ok(())
    }

    /// What `serve` additionally requires: a way to authenticate hooks.
    pub fn validate_for_serve(&self) -> Result<(), ConfigError> {
        if self.hook_credentials.is_empty() && !self.allow_anonymous_hooks {
            return Err(ConfigError::Invalid(
                "no hook credentials: set ADO_INGEST_HOOK_CREDENTIALS=user:password (several pairs separated \
                 by commas), or allow anonymous hooks explicitly with ADO_INGEST_ALLOW_ANONYMOUS_HOOKS=true"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The effective configuration as TOML with every secret redacted (`check-config`).
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string_pretty(self)
            .unwrap_or_else(|e| format!("# cannot render configuration: {e}\n"))
    }
}

/// Environment variable name for a dotted key: `publish.include_raw` → `ADO_INGEST_PUBLISH_INCLUDE_RAW`.
pub fn env_var_for(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.replace('.', "_").to_ascii_uppercase())
}

/// Every leaf key of the configuration, as dotted paths, with its default value (for typing env values).
fn leaf_keys() -> Vec<(String, toml::Value)> {
    fn walk(prefix: &str, table: &toml::Table, out: &mut Vec<(String, toml::Value)>) {
        for (k, v) in table {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                toml::Value::Table(t) => walk(&path, t, out),
                // Arrays of tables (e.g. `[[organizations]]`) have no single env value.
                toml::Value::Array(items) if items.iter().any(toml::Value::is_table) => {}
                other => out.push((path, other.clone())),
            }
        }
    }
    let defaults = toml::Table::try_from(Config::default()).expect("defaults serialize");
    let mut out = Vec::new();
    walk("", &defaults, &mut out);
    out
}

fn apply_env_overrides(
    tree: &mut toml::Table,
    env: &BTreeMap<String, String>,
) -> Result<(), ConfigError> {
    for (key, default) in leaf_keys() {
        let Some(raw) = env.get(&env_var_for(&key)) else {
            continue;
        };
        let value = match default {
            toml::Value::Boolean(_) => match raw.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => toml::Value::Boolean(true),
                "false" | "0" | "no" | "off" => toml::Value::Boolean(false),
                _ => {
                    return Err(ConfigError::Invalid(format!(
                        "{} must be true or false",
                        env_var_for(&key)
                    )));
                }
            },
            toml::Value::Integer(_) => raw
                .trim()
                .parse::<i64>()
                .map(toml::Value::Integer)
                .map_err(|_| {
                    ConfigError::Invalid(format!("{} must be an integer", env_var_for(&key)))
                })?,
            _ => toml::Value::String(raw.clone()),
        };
        let mut parts: Vec<&str> = key.split('.').collect();
        let last = parts.pop().expect("non-empty key");
        let mut table = &mut *tree;
        for part in parts {
            table = table
                .entry(part)
                .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                .as_table_mut()
                .ok_or_else(|| ConfigError::Invalid(format!("{part} must be a table")))?;
        }
        table.insert(last.to_string(), value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_tenant_check_is_auto_true_or_false_from_toml_or_env() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        let load = |text: &str, vars: &[(&str, &str)]| {
            std::fs::write(&file, format!("hook_credentials = \"a:b\"\n{text}")).unwrap();
            Config::load(Some(&file), &env(vars)).map(|c| c.hooks.require_known_collection)
        };
        assert_eq!(load("", &[]).unwrap(), Toggle::Auto);
        assert_eq!(
            load("[hooks]\nrequire_known_collection = true", &[]).unwrap(),
            Toggle::On
        );
        assert_eq!(
            load("[hooks]\nrequire_known_collection = \"off\"", &[]).unwrap(),
            Toggle::Off
        );
        let var = "ADO_INGEST_HOOKS_REQUIRE_KNOWN_COLLECTION";
        assert_eq!(load("", &[(var, "false")]).unwrap(), Toggle::Off);
        assert!(
            load("", &[(var, "maybe")])
                .unwrap_err()
                .to_string()
                .contains("maybe")
        );
        let hooks = HooksConfig::default();
        assert!(!hooks.require_known_collection(0) && hooks.require_known_collection(1));
    }

    #[test]
    fn defaults_are_valid_and_env_overrides_every_kind_of_key() {
        let c = Config::load(None, &env(&[])).unwrap();
        assert_eq!(c.listen, "127.0.0.1:8080");
        assert!(!c.accept_test_notifications);
        let c = Config::load(
            None,
            &env(&[
                ("ADO_INGEST_LISTEN", "0.0.0.0:9000"),
                ("ADO_INGEST_ACCEPT_TEST_NOTIFICATIONS", "true"),
                ("ADO_INGEST_HOOK_CREDENTIALS", "ado:one, ado2:two"),
                ("ADO_INGEST_PUBLISH_INCLUDE_RAW", "false"),
                ("ADO_INGEST_OUTBOX_MAX", "10"),
                ("ADO_INGEST_SEEN_RETENTION", "7d"),
            ]),
        )
        .unwrap();
        assert_eq!(c.listen, "0.0.0.0:9000");
        assert!(c.accept_test_notifications);
        assert_eq!(c.hook_credentials.len(), 2);
        assert_eq!(c.hook_credentials[1].username, "ado2");
        assert_eq!(c.hook_credentials[1].password.expose(), "two");
        assert!(!c.publish.include_raw);
        assert_eq!(c.outbox_max, 10);
        assert_eq!(c.seen_retention, Duration::from_secs(7 * 24 * 3600));
    }

    #[test]
    fn redacted_output_hides_every_secret() {
        let c = Config::load(
            None,
            &env(&[
                ("ADO_INGEST_HOOK_CREDENTIALS", "ado:s3cret-pass"),
                ("ADO_INGEST_AMQP_URL", "amqp://u:broker-pass@h:5672/%2f"),
                ("ADO_INGEST_ADMIN_TOKEN", "admin-tok"),
            ]),
        )
        .unwrap();
        let text = c.to_redacted_toml();
        let debug = format!("{c:?}");
        for secret in ["s3cret-pass", "broker-pass", "admin-tok"] {
            assert!(!text.contains(secret), "{text}");
            assert!(!debug.contains(secret), "{debug}");
        }
        assert!(text.contains("ado:[redacted]"));
    }

    #[test]
    fn bad_values_are_clear_errors() {
        let e = Config::load(
            None,
            &env(&[("ADO_INGEST_ACCEPT_TEST_NOTIFICATIONS", "maybe")]),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("ADO_INGEST_ACCEPT_TEST_NOTIFICATIONS")
        );
        let e =
            Config::load(None, &env(&[("ADO_INGEST_HOOK_CREDENTIALS", "nocolon")])).unwrap_err();
        assert!(e.to_string().contains("user:password"), "{e}");
        let c = Config::load(None, &env(&[])).unwrap();
        assert!(c.validate_for_serve().is_err());
    }
}
