//! Turns a backfill request as a person writes it (`POST /admin/backfills` body, `ado-ingest
//! backfill` flags) into a [`BackfillSpec`] against the configured organizations, with errors that
//! say what to fix.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::{OrganizationConfig, Stream};
use crate::reconcile::BackfillSpec;

/// The request body of `POST /admin/backfills` (and what the CLI sends).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackfillRequest {
    /// A configured organization, by name or URL.
    pub organization: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub projects: Vec<String>,
    /// Stream names (`git`, `pullrequests`, `builds`, `workitems`, `tfvc`); empty = configured ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub streams: Vec<String>,
    /// RFC 3339.
    pub since: String,
    /// RFC 3339; default: now, when the job starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("{}", unknown_org_message(given, configured))]
    UnknownOrganization {
        given: String,
        configured: Vec<String>,
    },
    #[error("`{field}` = {value:?} is not an RFC 3339 timestamp (e.g. 2024-05-01T00:00:00Z)")]
    BadTimestamp { field: &'static str, value: String },
    #[error("`until` ({until}) must be after `since` ({since})")]
    EmptyWindow {
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    },
    #[error("`since` ({0}) is in the future")]
    FutureSince(DateTime<Utc>),
    #[error("unknown stream {0:?}; streams are git, pullrequests, builds, workitems, tfvc")]
    UnknownStream(String),
    #[error("project names must not be empty")]
    EmptyProject,
}

fn unknown_org_message(given: &str, configured: &[String]) -> String {
    if configured.is_empty() {
        format!(
            "unknown organization {given:?}: no organizations are configured (add [[organizations]])"
        )
    } else {
        format!(
            "unknown organization {given:?}; configured: {}",
            configured.join(", ")
        )
    }
}

/// Parses a stream name; case, `-` and `_` do not matter (`pull-requests` = `pullrequests`).
pub fn parse_stream(name: &str) -> Result<Stream, RequestError> {
    let folded: String = name
        .trim()
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .collect::<String>()
        .to_ascii_lowercase();
    Stream::ALL
        .into_iter()
        .find(|s| s.as_str() == folded)
        .ok_or_else(|| RequestError::UnknownStream(name.to_string()))
}

/// Finds a configured organization by name (case-insensitive) or by URL (trailing `/` and case of
/// scheme and host do not matter).
pub fn find_organization<'a>(
    orgs: &'a [OrganizationConfig],
    given: &str,
) -> Option<&'a OrganizationConfig> {
    let given = given.trim();
    if let Some(org) = orgs.iter().find(|o| o.name().eq_ignore_ascii_case(given)) {
        return Some(org);
    }
    let wanted = comparable_url(given)?;
    orgs.iter()
        .find(|o| comparable_url(&o.url).is_some_and(|u| u == wanted))
}

fn comparable_url(text: &str) -> Option<String> {
    let mut text = text.trim().to_string();
    if !text.ends_with('/') {
        text.push('/');
    }
    let url = url::Url::parse(&text).ok()?;
    // The url crate lowercases scheme and host; paths (collection names) compare without case too,
    // as Azure DevOps treats them.
    Some(url.as_str().to_ascii_lowercase())
}

fn parse_time(field: &'static str, value: &str) -> Result<DateTime<Utc>, RequestError> {
    DateTime::parse_from_rfc3339(value.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| RequestError::BadTimestamp {
            field,
            value: value.to_string(),
        })
}

impl BackfillRequest {
    /// Validates against the configured organizations at `now`. The spec names the organization by
    /// its configured name (stable across restarts) and lists its streams explicitly.
    pub fn resolve(
        &self,
        orgs: &[OrganizationConfig],
        now: DateTime<Utc>,
    ) -> Result<BackfillSpec, RequestError> {
        let org = find_organization(orgs, &self.organization).ok_or_else(|| {
            RequestError::UnknownOrganization {
                given: self.organization.clone(),
                configured: orgs.iter().map(OrganizationConfig::name).collect(),
            }
        })?;
        let since = parse_time("since", &self.since)?;
        let until = self
            .until
            .as_deref()
            .map(|u| parse_time("until", u))
            .transpose()?;
        match until {
            Some(until) if until <= since => {
                return Err(RequestError::EmptyWindow { since, until });
            }
            None if since >= now => return Err(RequestError::FutureSince(since)),
            _ => {}
        }
        let mut streams = Vec::new();
        for name in &self.streams {
            let stream = parse_stream(name)?;
            if !streams.contains(&stream) {
                streams.push(stream);
            }
        }
        if streams.is_empty() {
            streams = org.streams.clone();
        }
        streams.sort();
        let mut projects: Vec<String> = Vec::new();
        for p in &self.projects {
            let p = p.trim();
            if p.is_empty() {
                return Err(RequestError::EmptyProject);
            }
            if !projects.iter().any(|q| q.eq_ignore_ascii_case(p)) {
                projects.push(p.to_string());
            }
        }
        Ok(BackfillSpec {
            organization: org.name(),
            projects,
            streams,
            since,
            until,
        })
    }
}
