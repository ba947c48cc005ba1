//! Discovery: every organization the `[discovery]` identity can access, on Azure DevOps Services —
//! `GET _apis/profile/profiles/me` for its member id, then `GET _apis/accounts?memberId=` for its
//! organizations (both on `app.vssps.visualstudio.com`) — narrowed by `include` / `exclude`
//! (names or globs, case-insensitive), each turned into an organization configuration with the
//! discovery credential and the defaults (all projects, all streams). Server has no such API:
//! its collections are listed under `[[organizations]]`.

use wildmatch::WildMatch;

use super::ReconcileError;
use crate::ado::{ClientOptions, OrgClient};
use crate::config::{DiscoveryConfig, OrganizationConfig};

/// The api-version of the profile and accounts APIs (the same on every Services host).
const API_VERSION: &str = "7.1";

/// The organizations the identity can access now, filtered, as configurations.
pub async fn discover(
    d: &DiscoveryConfig,
    login: &crate::config::LoginConfig,
) -> Result<Vec<OrganizationConfig>, ReconcileError> {
    let d = &DiscoveryConfig {
        login_settings: d.login.then(|| login.clone()),
        ..d.clone()
    };
    let mut identity = organization(d, "discovery");
    identity.url = d.profile_url.trim_end_matches('/').to_string();
    let client = OrgClient::new(&identity, ClientOptions::for_org(&identity))?;
    let me = client
        .get_with_version("_apis/profile/profiles/me", API_VERSION)
        .await?;
    let member = me.body["id"]
        .as_str()
        .or_else(|| me.body["publicAlias"].as_str())
        .ok_or_else(|| ReconcileError::UnexpectedResponse {
            org: "discovery".into(),
            route: "_apis/profile/profiles/me".into(),
            message: "no member id in the profile".into(),
        })?
        .to_string();
    let accounts = client
        .get_with_version(
            &format!("_apis/accounts?memberId={}", super::ctx::seg(&member)),
            API_VERSION,
        )
        .await?;
    let names: Vec<String> = super::ctx::values(&accounts)
        .iter()
        .filter_map(|a| a["accountName"].as_str())
        .map(str::to_string)
        .collect();
    Ok(names
        .into_iter()
        .filter(|n| wanted(d, n))
        .map(|name| organization(d, &name))
        .collect())
}

/// Whether `include` (empty: everything) takes the name and `exclude` leaves it.
pub fn wanted(d: &DiscoveryConfig, name: &str) -> bool {
    let matches = |pattern: &String| {
        WildMatch::new(&pattern.to_ascii_lowercase()).matches(&name.to_ascii_lowercase())
    };
    (d.include.is_empty() || d.include.iter().any(matches)) && !d.exclude.iter().any(matches)
}

/// The configuration of a discovered organization: its URL from `organization_url`, the
/// discovery credential, every project and stream.
pub fn organization(d: &DiscoveryConfig, name: &str) -> OrganizationConfig {
    let mut org = OrganizationConfig::with_pat(
        d.organization_url
            .replace("{name}", name)
            .trim_end_matches('/'),
        d.pat.expose(),
    );
    org.name = Some(name.to_ascii_lowercase());
    if d.pat.is_empty() {
        org.pat = None;
        org.entra = d.entra.clone();
        org.login = d.login;
        org.login_settings = d.login_settings.clone();
    }
    org
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_and_exclude_take_names_and_globs() {
        let d = DiscoveryConfig {
            include: vec!["contoso-*".into(), "Fabrikam".into()],
            exclude: vec!["*-archive".into()],
            ..DiscoveryConfig::default()
        };
        assert!(wanted(&d, "contoso-web"));
        assert!(wanted(&d, "fabrikam"));
        assert!(!wanted(&d, "contoso-archive"));
        assert!(!wanted(&d, "northwind"));
        assert!(wanted(&DiscoveryConfig::default(), "anything"));
        let org = organization(&d, "Contoso-Web");
        assert_eq!(org.url, "https://dev.azure.com/Contoso-Web");
        assert_eq!(org.name(), "contoso-web");
    }
}
