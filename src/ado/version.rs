//! REST api-version negotiation (docs/contract.md#api-versions): `connectionData` validates the
//! credentials and gives
//! the collection id, then versions are probed from 7.1 down until the server stops answering
//! "out of range". The result decides which query features (e.g. PR time ranges) are available.

use std::fmt;

use serde_json::Value;

use super::client::OrgClient;
use super::error::AdoError;

/// A REST api-version `major.minor` (without a `-preview` suffix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiVersion {
    pub major: u8,
    pub minor: u8,
}

impl ApiVersion {
    pub const fn new(major: u8, minor: u8) -> Self {
        Self { major, minor }
    }

    /// Versions tried in order: Services and Server 2022.1 (7.1) down to TFS 2015 (2.0).
    pub const PROBE_ORDER: [ApiVersion; 14] = [
        Self::new(7, 1),
        Self::new(7, 0),
        Self::new(6, 0),
        Self::new(5, 1),
        Self::new(5, 0),
        Self::new(4, 1),
        Self::new(4, 0),
        Self::new(3, 2),
        Self::new(3, 1),
        Self::new(3, 0),
        Self::new(2, 3),
        Self::new(2, 2),
        Self::new(2, 1),
        Self::new(2, 0),
    ];

    /// Parses `7.1`, `5.0-preview.1` (the suffix is dropped).
    pub fn parse(text: &str) -> Option<Self> {
        let core = text.trim().split('-').next()?;
        let (major, minor) = core.split_once('.')?;
        Some(Self::new(major.parse().ok()?, minor.parse().ok()?))
    }

    /// The preview form of this version for preview-only routes: `7.1-preview.2`.
    pub fn preview(self, revision: u8) -> String {
        format!("{self}-preview.{revision}")
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// REST capabilities that depend on the server's api-version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Feature {
    /// `searchCriteria.minTime/maxTime/queryTimeRangeType` on pull request lists (7.1, Server 2022.1).
    PullRequestTimeRange,
}

impl Feature {
    pub fn min_version(self) -> ApiVersion {
        match self {
            Feature::PullRequestTimeRange => ApiVersion::new(7, 1),
        }
    }
}

/// What `connectionData` and probing told us about the organization / collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// `instanceId`: the collection id, the same id hooks carry in `resourceContainers.collection.id`.
    pub collection_id: String,
    pub deployment_id: Option<String>,
    /// `hosted` (Services) or `onPremises` (Server), as the server spells it.
    pub deployment_type: Option<String>,
    /// The identity the credentials authenticate as.
    pub user_id: Option<String>,
    pub user_name: Option<String>,
    /// The highest api-version the server accepted.
    pub api_version: ApiVersion,
}

impl Connection {
    pub fn supports(&self, feature: Feature) -> bool {
        self.api_version >= feature.min_version()
    }

    pub fn is_hosted(&self) -> bool {
        self.deployment_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("hosted"))
    }
}

/// `connectionData` then the version probe; `pinned` skips the probe.
pub(crate) async fn negotiate(
    client: &OrgClient,
    pinned: Option<ApiVersion>,
) -> Result<Connection, AdoError> {
    let data = match client.send_get("_apis/connectionData", None).await {
        // Some servers insist on an api-version even here; the lowest preview is accepted by all.
        Err(AdoError::Rejected { status: 400, .. }) => {
            client
                .send_get("_apis/connectionData", Some("1.0-preview"))
                .await?
        }
        other => other?,
    }
    .body;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let collection_id = text(data.get("instanceId")).ok_or_else(|| AdoError::Negotiation {
        org: client.name().to_string(),
        message: format!(
            "{}_apis/connectionData has no instanceId; is the URL an organization or collection?",
            client.base_url()
        ),
    })?;
    let user = data.get("authenticatedUser");
    let api_version = match pinned {
        Some(v) => v,
        None => probe(client).await?,
    };
    let connection = Connection {
        collection_id,
        deployment_id: text(data.get("deploymentId")),
        deployment_type: data.get("deploymentType").map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }),
        user_id: text(user.and_then(|u| u.get("id"))),
        user_name: text(user.and_then(|u| u.get("providerDisplayName"))),
        api_version,
    };
    tracing::info!(org = client.name(), api_version = %connection.api_version,
        collection_id = %connection.collection_id, deployment = ?connection.deployment_type,
        "connected to Azure DevOps");
    Ok(connection)
}

/// Tries versions from the top with a cheap GET until one is not "out of range".
async fn probe(client: &OrgClient) -> Result<ApiVersion, AdoError> {
    let mut candidate = Some(ApiVersion::PROBE_ORDER[0]);
    let mut rejected = Vec::new();
    while let Some(version) = candidate {
        let label = version.to_string();
        match client.send_get("_apis/projects?$top=1", Some(&label)).await {
            Ok(_) => return Ok(version),
            Err(AdoError::Rejected {
                status: 400,
                message,
                ..
            }) if is_out_of_range(&message, version) => {
                rejected.push(label);
                // The server usually names its latest version; jump there instead of walking down.
                candidate = latest_supported(&message)
                    .filter(|hint| *hint < version)
                    .or_else(|| next_below(version));
            }
            Err(other) => return Err(other),
        }
    }
    Err(AdoError::Negotiation {
        org: client.name().to_string(),
        message: format!(
            "every api-version was rejected ({}); the server is older than TFS 2015 or not Azure DevOps",
            rejected.join(", ")
        ),
    })
}

/// "The requested REST API version of 7.1 is out of range for this server. ..."
pub(crate) fn is_out_of_range(message: &str, tried: ApiVersion) -> bool {
    let lower = message.to_ascii_lowercase();
    lower.contains("out of range")
        || (lower.contains("version") && lower.contains(&tried.to_string()))
}

/// The version named in "... The latest REST API version this server supports is 5.0."
pub(crate) fn latest_supported(message: &str) -> Option<ApiVersion> {
    let lower = message.to_ascii_lowercase();
    let at = lower.find("supports is")? + "supports is".len();
    let word = lower[at..].split_whitespace().next()?;
    ApiVersion::parse(word.trim_end_matches(['.', ',', ';', '"']))
}

fn next_below(version: ApiVersion) -> Option<ApiVersion> {
    ApiVersion::PROBE_ORDER.into_iter().find(|v| *v < version)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGE: &str = "The requested REST API version of 7.1 is out of range for this server. \
                           The latest REST API version this server supports is 5.0.";

    #[test]
    fn versions_parse_order_and_format() {
        assert_eq!(
            ApiVersion::parse("5.0-preview.1"),
            Some(ApiVersion::new(5, 0))
        );
        assert_eq!(ApiVersion::parse("7.1"), Some(ApiVersion::new(7, 1)));
        assert_eq!(ApiVersion::parse("seven"), None);
        assert!(ApiVersion::new(7, 0) < ApiVersion::new(7, 1));
        assert_eq!(ApiVersion::new(7, 1).preview(2), "7.1-preview.2");
        assert!(ApiVersion::PROBE_ORDER.windows(2).all(|w| w[0] > w[1]));
    }

    #[test]
    fn out_of_range_messages_are_recognised_and_mined_for_the_latest_version() {
        assert!(is_out_of_range(MESSAGE, ApiVersion::new(7, 1)));
        assert!(!is_out_of_range(
            "TF401019: repository not found",
            ApiVersion::new(7, 1)
        ));
        assert_eq!(latest_supported(MESSAGE), Some(ApiVersion::new(5, 0)));
        assert_eq!(latest_supported("out of range"), None);
        assert_eq!(
            next_below(ApiVersion::new(6, 0)),
            Some(ApiVersion::new(5, 1))
        );
        assert_eq!(next_below(ApiVersion::new(2, 0)), None);
    }

    #[test]
    fn features_follow_the_version() {
        let mut c = Connection {
            collection_id: "c".into(),
            deployment_id: None,
            deployment_type: Some("onPremises".into()),
            user_id: None,
            user_name: None,
            api_version: ApiVersion::new(7, 0),
        };
        assert!(!c.supports(Feature::PullRequestTimeRange));
        assert!(!c.is_hosted());
        c.api_version = ApiVersion::new(7, 1);
        assert!(c.supports(Feature::PullRequestTimeRange));
    }
}
