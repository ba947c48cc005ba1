//! What a per-type normalizer gets besides the resource (version, containers, fallback time) and
//! why it may decline to normalize one.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::envelope::Containers;
use super::extract;
use super::time::parse_time_or_now;

/// The envelope facts a resource is read with. For a REST object the reconciler fills these the
/// way the hook would have (`resource_version` of the shape it built, the collection/project
/// containers, and as `created_date` the time the change was observed).
#[derive(Debug, Clone, Copy)]
pub struct ResourceContext<'a> {
    /// `resourceVersion` of the resource shape (`None` = assume the pinned default).
    pub resource_version: Option<&'a str>,
    pub containers: &'a Containers,
    /// Envelope `createdDate`: when the event was raised; the fallback for `time`.
    pub created_date: Option<&'a str>,
}

impl ResourceContext<'_> {
    /// The first parseable, non-sentinel timestamp among `candidates`, else the envelope's
    /// `createdDate`, else now.
    pub fn time_of(&self, candidates: &[Option<String>]) -> DateTime<Utc> {
        candidates
            .iter()
            .flatten()
            .find_map(|s| super::time::parse_time(Some(s)))
            .or_else(|| {
                self.created_date
                    .and_then(extract::canonical_time)
                    .and_then(|s| super::time::parse_time(Some(&s)))
            })
            .unwrap_or_else(|| parse_time_or_now(None))
    }

    /// The envelope `createdDate` in canonical form.
    pub fn created(&self) -> Option<String> {
        self.created_date.and_then(extract::canonical_time)
    }

    /// The project container id (not the zero GUID).
    pub fn project_id(&self) -> Option<String> {
        self.containers
            .project
            .as_ref()
            .and_then(|p| p.id.clone())
            .filter(|id| !id.eq_ignore_ascii_case(extract::ZERO_GUID))
    }

    /// Collection base URL from the containers (used to read project names out of web links).
    pub fn base_url(&self) -> Option<&str> {
        let c = self.containers;
        c.collection
            .as_ref()
            .and_then(|x| x.base_url.as_deref())
            .or_else(|| c.account.as_ref().and_then(|x| x.base_url.as_deref()))
    }
}

/// Why a resource was not turned into a dedicated normalized type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotNormalized {
    /// The Azure DevOps event type has no dedicated normalizer (→ `ado.passthrough`).
    #[error("no normalizer for event type `{0}`")]
    UnknownType(String),
    /// A known type whose resource lacks what its identity needs ("minimal"/"none" resource
    /// details, a truncated payload…).
    #[error("`{event_type}` resource lacks {missing}")]
    TooThin {
        event_type: String,
        missing: &'static str,
    },
}

impl NotNormalized {
    pub fn thin(event_type: &str, missing: &'static str) -> Self {
        Self::TooThin {
            event_type: event_type.to_string(),
            missing,
        }
    }
}

/// Shorthand for a required field: `Err(TooThin)` naming what is missing.
pub fn need<T>(v: Option<T>, event_type: &str, missing: &'static str) -> Result<T, NotNormalized> {
    v.ok_or_else(|| NotNormalized::thin(event_type, missing))
}

/// Reads a project name out of a web link `{baseUrl}{project}/_build/…`, for resources that carry
/// no project object (pipelines events). Only trusted when the link starts with the collection URL.
pub fn project_from_web_link(href: &str, base_url: Option<&str>) -> Option<String> {
    let base = base_url?;
    let base = base.trim_end_matches('/');
    let rest = href.strip_prefix(base)?.strip_prefix('/')?;
    let (segment, tail) = rest.split_once('/')?;
    if !tail.starts_with('_') || segment.starts_with('_') || segment.is_empty() {
        return None;
    }
    let name = percent_decode(segment)?;
    // A GUID in that position is the project id, not its name.
    let is_guid = name.len() == 36 && name.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    (!is_guid).then_some(name)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Convenience for normalizers: the value at `path` or JSON null.
pub fn or_null(v: Option<&Value>) -> Value {
    v.cloned().unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_names_from_web_links() {
        let base = Some("https://dev.azure.com/fabrikamfiber/");
        assert_eq!(
            project_from_web_link(
                "https://dev.azure.com/fabrikamfiber/Fabrikam%20Fiber/_build/results?buildId=2",
                base
            )
            .as_deref(),
            Some("Fabrikam Fiber")
        );
        assert_eq!(
            project_from_web_link("https://dev.azure.com/other/p/_build/x", base),
            None
        );
        assert_eq!(
            project_from_web_link(
                "https://dev.azure.com/fabrikamfiber/16dcfeeb-d8fd-495c-917b-fec46cb44fbb/_build/x",
                base
            ),
            None
        );
        assert_eq!(
            project_from_web_link("https://dev.azure.com/fabrikamfiber/_build/x", base),
            None
        );
        assert_eq!(
            project_from_web_link("https://dev.azure.com/fabrikamfiber/p/_build", None),
            None
        );
    }
}
