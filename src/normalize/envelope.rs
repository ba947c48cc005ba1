//! The service-hook envelope, parsed leniently: only what identifies and routes an event is typed,
//! the resource stays a JSON value.

use serde::Deserialize;
use serde_json::Value;

/// The all-zero subscription id the subscription wizard's "Test" button sends.
pub const TEST_SUBSCRIPTION_ID: &str = "00000000-0000-0000-0000-000000000000";

/// Why a body is not accepted as a hook (both are answered 400).
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    /// Not JSON at all: syntax error, invalid UTF-8, nesting too deep.
    #[error("malformed JSON: {0}")]
    Malformed(String),
    /// JSON, but not a service-hook envelope.
    #[error("not an Azure DevOps service-hook envelope: {0}")]
    NotAnEnvelope(String),
}

/// `{id, baseUrl?}` of one resource container.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub base_url: Option<String>,
}

/// `resourceContainers`: collection (the tenant key), account (Services) or server (on-prem), project.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Containers {
    #[serde(default)]
    pub collection: Option<Container>,
    #[serde(default)]
    pub account: Option<Container>,
    #[serde(default)]
    pub server: Option<Container>,
    #[serde(default)]
    pub project: Option<Container>,
}

/// One service-hook delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct HookEnvelope {
    pub subscription_id: Option<String>,
    pub notification_id: Option<i64>,
    /// The Azure DevOps event id (shared by every subscription the event fans out to).
    pub event_id: String,
    pub event_type: String,
    pub publisher_id: String,
    pub resource_version: Option<String>,
    pub resource: Value,
    pub containers: Containers,
    pub created_date: Option<String>,
}

impl HookEnvelope {
    /// A "Test" notification from the subscription wizard (zero subscription id).
    pub fn is_test_notification(&self) -> bool {
        self.subscription_id.as_deref() == Some(TEST_SUBSCRIPTION_ID)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEnvelope {
    #[serde(default)]
    subscription_id: Option<Value>,
    #[serde(default)]
    notification_id: Option<Value>,
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    event_type: Option<Value>,
    #[serde(default)]
    publisher_id: Option<Value>,
    #[serde(default)]
    resource_version: Option<Value>,
    #[serde(default)]
    resource_containers: Option<Value>,
    #[serde(default)]
    created_date: Option<Value>,
}

fn string_field(name: &str, v: Option<Value>) -> Result<String, EnvelopeError> {
    match v {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        Some(Value::String(_)) => Err(EnvelopeError::NotAnEnvelope(format!("`{name}` is empty"))),
        Some(_) => Err(EnvelopeError::NotAnEnvelope(format!(
            "`{name}` is not a string"
        ))),
        None => Err(EnvelopeError::NotAnEnvelope(format!("`{name}` is missing"))),
    }
}

fn optional_string(v: Option<Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    }
}

/// Parses a hook body. Requires a JSON object with string `eventType`, `id` and `publisherId` and a
/// `resource` key (which may be null); everything else is optional and read leniently.
pub fn parse_envelope(body: &[u8]) -> Result<HookEnvelope, EnvelopeError> {
    let mut value: Value =
        serde_json::from_slice(body).map_err(|e| EnvelopeError::Malformed(e.to_string()))?;
    // Taken out before typed parsing: `"resource": null` ("none" resource details) is present,
    // while serde would read it as absent.
    let resource = match value.as_object_mut() {
        Some(obj) => obj.remove("resource"),
        None => {
            return Err(EnvelopeError::NotAnEnvelope(
                "the body is not a JSON object".into(),
            ));
        }
    };
    let raw: RawEnvelope =
        serde_json::from_value(value).map_err(|e| EnvelopeError::NotAnEnvelope(e.to_string()))?;
    let event_type = string_field("eventType", raw.event_type)?;
    let event_id = string_field("id", raw.id)?;
    let publisher_id = string_field("publisherId", raw.publisher_id)?;
    let resource =
        resource.ok_or_else(|| EnvelopeError::NotAnEnvelope("`resource` is missing".into()))?;
    // Containers are informational; a malformed one is treated as absent rather than rejected,
    // because rejecting would put the subscription on probation.
    let containers = raw
        .resource_containers
        .and_then(|v| serde_json::from_value::<Containers>(v).ok())
        .unwrap_or_default();
    let notification_id = raw.notification_id.and_then(|v| v.as_i64());
    Ok(HookEnvelope {
        subscription_id: optional_string(raw.subscription_id),
        notification_id,
        event_id,
        event_type,
        publisher_id,
        resource_version: optional_string(raw.resource_version),
        resource,
        containers,
        created_date: optional_string(raw.created_date),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_resource_is_present_missing_is_not() {
        let env = parse_envelope(
            br#"{"id":"e","eventType":"git.push","publisherId":"tfs","resource":null}"#,
        )
        .unwrap();
        assert_eq!(env.resource, Value::Null);
        assert!(matches!(
            parse_envelope(br#"{"id":"e","eventType":"git.push","publisherId":"tfs"}"#),
            Err(EnvelopeError::NotAnEnvelope(_))
        ));
        assert!(matches!(
            parse_envelope(b"[1]"),
            Err(EnvelopeError::NotAnEnvelope(_))
        ));
    }
}
