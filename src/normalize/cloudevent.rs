//! Turns an [`EventDraft`] (what a per-type normalizer extracted) into the published CloudEvents
//! 1.0 structured-JSON message, with the tenant, routing key and deterministic id derived the same
//! way for every input path.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::envelope::Containers;
use super::event::{NormalizeOptions, NormalizedEvent};
use super::identity::event_id;
use super::time::format_time;

/// What a per-type normalizer extracts from a resource.
#[derive(Debug, Clone)]
pub struct EventDraft {
    /// Normalized type, e.g. `git.push`.
    pub event_type: &'static str,
    /// Identity of the change after collection and type (docs/contract.md#identities), e.g.
    /// `[repo_id, push_id]`.
    pub identity: Vec<String>,
    /// CloudEvents `subject`, e.g. `repositories/{id}/pushes/7`.
    pub subject: String,
    /// When the change happened, from the resource.
    pub time: DateTime<Utc>,
    pub project_id: Option<String>,
    /// Project name, slugged into the routing key (`_` when absent).
    pub project_name: Option<String>,
    /// The entity, for consumers that partition (`partitionkey`).
    pub partition_key: String,
    /// rev / pushId / changesetId where the entity has one.
    pub sequence: Option<i64>,
    /// The normalized fields (`raw` is added by [`finish`]).
    pub data: Map<String, Value>,
}

/// The collection an event belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct Tenant {
    /// `resourceContainers.collection.id`: the tenant key.
    pub collection_id: String,
    /// Collection base URL (REST base), when known.
    pub base_url: Option<String>,
    /// Organization slug for routing keys.
    pub org_slug: String,
}

/// Lowercase, `[a-z0-9_-]`, anything else `-`; empty input becomes `_`.
pub fn slug(s: &str) -> String {
    let out: String = s
        .trim()
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if out.is_empty() { "_".into() } else { out }
}

/// Base URL of a collection from any REST URL of one of its objects (`…/_apis/…` prefix), without
/// the project segment project-scoped URLs have (`…/{collection}/{projectId}/_apis/…`).
fn base_url_from_resource_url(url: &str) -> Option<String> {
    let idx = url.find("/_apis/")?;
    let mut base = &url[..idx];
    if let Some((head, last)) = base.rsplit_once('/') {
        let is_guid = last.len() == 36 && last.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
        if is_guid
            && head.contains("://")
            && head.split("://").nth(1).is_some_and(|h| !h.is_empty())
        {
            base = head;
        }
    }
    Some(format!("{base}/"))
}

/// Organization slug from a collection base URL: `dev.azure.com/{org}`, `{org}.visualstudio.com`,
/// or the collection name of a Server URL (`https://host/tfs/{collection}`).
pub fn org_from_base_url(base_url: &str) -> Option<String> {
    let rest = base_url
        .split_once("://")
        .map(|(_, r)| r)
        .unwrap_or(base_url);
    let mut segments = rest.split('/').filter(|s| !s.is_empty());
    let host = segments.next()?.split(':').next()?.to_ascii_lowercase();
    let path: Vec<&str> = segments.collect();
    if host == "dev.azure.com" || host.ends_with(".dev.azure.com") {
        return path.first().map(|s| slug(s));
    }
    if let Some(org) = host.strip_suffix(".visualstudio.com") {
        return Some(slug(org));
    }
    path.last().map(|s| slug(s)).or_else(|| Some(slug(&host)))
}

/// Works out the tenant from the containers, falling back to the resource's own URL.
pub fn tenant_of(containers: &Containers, resource: &Value, opts: &NormalizeOptions) -> Tenant {
    let collection = containers.collection.as_ref();
    let account = containers.account.as_ref().or(containers.server.as_ref());
    let base_url = collection
        .and_then(|c| c.base_url.clone())
        .or_else(|| account.and_then(|c| c.base_url.clone()))
        .or_else(|| {
            resource
                .get("url")
                .and_then(Value::as_str)
                .and_then(base_url_from_resource_url)
        })
        .map(|u| if u.ends_with('/') { u } else { format!("{u}/") });
    let collection_id = collection
        .and_then(|c| c.id.clone())
        .or_else(|| account.and_then(|c| c.id.clone()))
        .or_else(|| base_url.clone())
        .unwrap_or_else(|| "unknown".into());
    let org_slug = opts
        .org_override
        .as_deref()
        .map(slug)
        .or_else(|| base_url.as_deref().and_then(org_from_base_url))
        .unwrap_or_else(|| slug(&collection_id));
    Tenant {
        collection_id,
        base_url,
        org_slug,
    }
}

/// The message as serialized: the attributes, then `data` with the original resource appended as
/// `raw` by reference — the resource (often most of the bytes) is never cloned.
struct Message<'a> {
    attributes: &'a Map<String, Value>,
    data: &'a Map<String, Value>,
    raw: Option<&'a Value>,
}

struct DataWithRaw<'a> {
    fields: &'a Map<String, Value>,
    raw: Option<&'a Value>,
}

impl serde::Serialize for Message<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.attributes.len() + 1))?;
        for (k, v) in self.attributes {
            map.serialize_entry(k, v)?;
        }
        let data = DataWithRaw {
            fields: self.data,
            raw: self.raw,
        };
        map.serialize_entry("data", &data)?;
        map.end()
    }
}

impl serde::Serialize for DataWithRaw<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let extra = usize::from(self.raw.is_some());
        let mut map = s.serialize_map(Some(self.fields.len() + extra))?;
        for (k, v) in self.fields.iter().filter(|(k, _)| k.as_str() != "raw") {
            map.serialize_entry(k, v)?;
        }
        if let Some(raw) = self.raw {
            map.serialize_entry("raw", raw)?;
        }
        map.end()
    }
}

/// URI of the JSON Schema of a normalized type (`schemas/<type>.schema.json`), with its version.
pub fn dataschema(event_type: &str) -> String {
    format!(
        "urn:ado-ingest:schema:{event_type}:{}",
        ado_events::schema_version(event_type)
    )
}

/// Builds the message: id, routing key and the CloudEvents body.
pub fn finish(
    draft: EventDraft,
    tenant: &Tenant,
    raw: &Value,
    opts: &NormalizeOptions,
) -> NormalizedEvent {
    let mut id_parts: Vec<&str> = vec![&tenant.collection_id, draft.event_type];
    id_parts.extend(draft.identity.iter().map(String::as_str));
    let id = event_id(&id_parts);
    let project_slug = draft
        .project_name
        .as_deref()
        .map(slug)
        .unwrap_or_else(|| "_".into());
    let routing_key = format!("{}.{}.{}", tenant.org_slug, project_slug, draft.event_type);
    let source = match (&tenant.base_url, &draft.project_id) {
        (Some(base), Some(p)) => format!("{base}{p}"),
        (Some(base), None) => base.clone(),
        (None, Some(p)) => format!("urn:ado:collection:{}/{p}", tenant.collection_id),
        (None, None) => format!("urn:ado:collection:{}", tenant.collection_id),
    };
    let mut ce = json!({
        "specversion": "1.0",
        "id": id,
        "source": source,
        "type": draft.event_type,
        "subject": draft.subject,
        "time": format_time(&draft.time),
        "datacontenttype": "application/json",
        "dataschema": dataschema(draft.event_type),
        "adocollection": tenant.collection_id,
        "adoorigin": opts.origin.as_str(),
        "partitionkey": draft.partition_key,
    });
    let obj = ce.as_object_mut().expect("object literal");
    if let Some(p) = &draft.project_id {
        obj.insert("adoproject".into(), Value::String(p.clone()));
    }
    if let Some(seq) = draft.sequence {
        obj.insert("sequence".into(), Value::String(seq.to_string()));
    }
    let message = Message {
        attributes: obj,
        data: &draft.data,
        raw: opts.include_raw.then_some(raw),
    };
    let body = serde_json::to_vec(&message).expect("serializable");
    NormalizedEvent {
        id,
        event_type: draft.event_type.to_string(),
        routing_key,
        time: draft.time,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_slug_from_services_and_server_urls() {
        assert_eq!(
            org_from_base_url("https://dev.azure.com/Contoso/").as_deref(),
            Some("contoso")
        );
        assert_eq!(
            org_from_base_url("https://fabrikam.visualstudio.com/").as_deref(),
            Some("fabrikam")
        );
        assert_eq!(
            org_from_base_url("http://tctfs05:8080/tfs/TayCommCFT/").as_deref(),
            Some("taycommcft")
        );
        assert_eq!(slug("Fabrikam Fiber"), "fabrikam-fiber");
        assert_eq!(
            base_url_from_resource_url(
                "https://dev.azure.com/x/DefaultCollection/71777fbc-1cf2-4bd1-9540-128c1c71f766/_apis/build/Builds/2"
            )
            .as_deref(),
            Some("https://dev.azure.com/x/DefaultCollection/")
        );
        assert_eq!(
            base_url_from_resource_url("https://dev.azure.com/x/_apis/git/repositories/r")
                .as_deref(),
            Some("https://dev.azure.com/x/")
        );
        assert_eq!(slug(""), "_");
    }
}
