//! Service-hook subscriptions: what a create/replace request carries, validation, the stored
//! subscription with its status and notifications, filter matching, and the REST shape.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::Notify;

use super::notification::Notification;
use crate::clock::ts;
use crate::event::{RaisedEvent, RenderOptions, event_kind};
use crate::ids::SimRng;
use crate::model::{Org, Person};
use crate::render::href;

/// `enabled | onProbation | disabledByUser | disabledBySystem | disabledByInactiveIdentity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SubscriptionStatus {
    Enabled,
    OnProbation,
    DisabledByUser,
    DisabledBySystem,
    DisabledByInactiveIdentity,
}

impl SubscriptionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "enabled",
            Self::OnProbation => "onProbation",
            Self::DisabledByUser => "disabledByUser",
            Self::DisabledBySystem => "disabledBySystem",
            Self::DisabledByInactiveIdentity => "disabledByInactiveIdentity",
        }
    }

    pub fn is_disabled(self) -> bool {
        !matches!(self, Self::Enabled | Self::OnProbation)
    }
}

/// Body of `POST/PUT _apis/hooks/subscriptions` (also the programmatic way to subscribe).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionRequest {
    #[serde(default)]
    pub publisher_id: String,
    #[serde(default)]
    pub event_type: String,
    #[serde(default)]
    pub resource_version: Option<String>,
    #[serde(default)]
    pub consumer_id: String,
    #[serde(default)]
    pub consumer_action_id: String,
    #[serde(default)]
    pub publisher_inputs: BTreeMap<String, String>,
    #[serde(default)]
    pub consumer_inputs: BTreeMap<String, String>,
    /// Only read by replace (PUT): `enabled` re-enables, `disabledByUser` pauses.
    #[serde(default)]
    pub status: Option<SubscriptionStatus>,
}

impl SubscriptionRequest {
    /// A Web Hooks subscription for `event_type` posting to `url` (publisher from the event type,
    /// resource version pinned as docs/contract.md#event-catalog says).
    pub fn webhook(event_type: &str, url: &str) -> Self {
        let kind = event_kind(event_type);
        let mut consumer_inputs = BTreeMap::new();
        consumer_inputs.insert("url".to_string(), url.to_string());
        Self {
            publisher_id: kind.map(|k| k.publisher_id).unwrap_or("tfs").to_string(),
            event_type: event_type.to_string(),
            resource_version: kind.map(|k| k.resource_versions[0].to_string()),
            consumer_id: "webHooks".into(),
            consumer_action_id: "httpRequest".into(),
            publisher_inputs: BTreeMap::new(),
            consumer_inputs,
            status: None,
        }
    }

    pub fn basic_auth(self, user: &str, password: &str) -> Self {
        self.consumer_input("basicAuthUsername", user)
            .consumer_input("basicAuthPassword", password)
    }

    pub fn consumer_input(mut self, name: &str, value: &str) -> Self {
        self.consumer_inputs
            .insert(name.to_string(), value.to_string());
        self
    }

    pub fn publisher_input(mut self, name: &str, value: &str) -> Self {
        self.publisher_inputs
            .insert(name.to_string(), value.to_string());
        self
    }

    pub fn resource_version(mut self, rv: &str) -> Self {
        self.resource_version = Some(rv.to_string());
        self
    }

    /// Checks what the service checks on create/replace; the message is the 400 response's.
    pub fn validate(&self) -> Result<(), String> {
        let kind = event_kind(&self.event_type)
            .ok_or_else(|| format!("Event type '{}' is not supported.", self.event_type))?;
        if !self.publisher_id.eq_ignore_ascii_case(kind.publisher_id) {
            return Err(format!(
                "Event type '{}' is not published by '{}'.",
                self.event_type, self.publisher_id
            ));
        }
        if self.consumer_id != "webHooks" || self.consumer_action_id != "httpRequest" {
            return Err(
                "Only the webHooks consumer with the httpRequest action is simulated.".into(),
            );
        }
        if let Some(rv) = &self.resource_version
            && RaisedEvent::version_index(kind, rv).is_none()
        {
            return Err(format!(
                "Resource version '{rv}' is not supported for event type '{}'.",
                self.event_type
            ));
        }
        let url = self
            .consumer_inputs
            .get("url")
            .map(String::as_str)
            .unwrap_or("");
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err("The input 'url' must be an absolute http or https URL.".into());
        }
        for (name, allowed) in [
            ("resourceDetailsToSend", &["all", "minimal", "none"][..]),
            (
                "messagesToSend",
                &["all", "text", "html", "markdown", "none"][..],
            ),
            (
                "detailedMessagesToSend",
                &["all", "text", "html", "markdown", "none"][..],
            ),
        ] {
            if let Some(v) = self.consumer_inputs.get(name)
                && !allowed.contains(&v.as_str())
            {
                return Err(format!("Invalid value '{v}' for input '{name}'."));
            }
        }
        Ok(())
    }
}

/// A stored subscription.
#[derive(Debug)]
pub struct Subscription {
    pub id: String,
    pub request: SubscriptionRequest,
    pub status: SubscriptionStatus,
    pub probation_retries: u32,
    pub last_probation_retry_date: Option<DateTime<Utc>>,
    pub created_by: Person,
    pub created_date: DateTime<Utc>,
    pub modified_date: DateTime<Utc>,
    /// The internal id the service adds to `publisherInputs`.
    pub tfs_subscription_id: String,
    pub next_notification_id: u64,
    pub notifications: Vec<Notification>,
    /// Notification ids waiting to be sent, in order.
    pub queue: VecDeque<u64>,
    /// Wakes the subscription's sender task.
    pub wake: Arc<Notify>,
    /// Fault-injection decisions for this subscription.
    pub rng: SimRng,
}

impl Subscription {
    pub fn render_options(&self) -> RenderOptions {
        let input = |k: &str, d: &str| {
            self.request
                .consumer_inputs
                .get(k)
                .cloned()
                .unwrap_or_else(|| d.to_string())
        };
        // Collection-wide subscriptions default to minimal resources and no messages
        // (docs/contract.md#resource-details).
        let scoped = self
            .request
            .publisher_inputs
            .get("projectId")
            .is_some_and(|p| !p.is_empty());
        let (res, msg) = if scoped {
            ("all", "all")
        } else {
            ("minimal", "none")
        };
        RenderOptions {
            resource_version: self.request.resource_version.clone().unwrap_or_default(),
            resource_details: input("resourceDetailsToSend", res),
            messages: input("messagesToSend", msg),
            detailed_messages: input("detailedMessagesToSend", msg),
        }
    }

    pub fn notification_mut(&mut self, id: u64) -> Option<&mut Notification> {
        self.notifications.iter_mut().find(|n| n.id == id)
    }

    /// Whether the event passes this subscription's event type and publisher-input filters.
    pub fn matches(&self, ev: &RaisedEvent) -> bool {
        super::filters::matches(&self.request, ev)
    }

    /// The subscription in the REST shape (confidential inputs masked).
    pub fn to_json(&self, org: &Org) -> Value {
        let base = format!("{}_apis/hooks", org.base_url);
        let mut publisher_inputs = self.request.publisher_inputs.clone();
        publisher_inputs.insert("tfsSubscriptionId".into(), self.tfs_subscription_id.clone());
        let mut consumer_inputs = self.request.consumer_inputs.clone();
        if let Some(p) = consumer_inputs.get_mut("basicAuthPassword") {
            *p = "********".into();
        }
        let who = json!({
            "displayName": self.created_by.display_name,
            "id": self.created_by.id,
            "uniqueName": self.created_by.unique_name,
            "descriptor": self.created_by.descriptor,
        });
        let host = self
            .request
            .consumer_inputs
            .get("url")
            .and_then(|u| u.split('/').nth(2))
            .unwrap_or("");
        let mut v = json!({
            "id": self.id,
            "url": format!("{base}/subscriptions/{}", self.id),
            "status": self.status.as_str(),
            "publisherId": self.request.publisher_id,
            "eventType": self.request.event_type,
            "subscriber": null,
            "resourceVersion": self.request.resource_version,
            "eventDescription": super::filters::describe(&self.request.publisher_inputs),
            "consumerId": self.request.consumer_id,
            "consumerActionId": self.request.consumer_action_id,
            "actionDescription": format!("To host {host}"),
            "probationRetries": self.probation_retries,
            "createdBy": who.clone(),
            "createdDate": ts(self.created_date),
            "modifiedBy": who,
            "modifiedDate": ts(self.modified_date),
            "publisherInputs": publisher_inputs,
            "consumerInputs": consumer_inputs,
            "_links": {
                "self": href(format!("{base}/subscriptions/{}", self.id)),
                "consumer": href(format!("{base}/consumers/{}", self.request.consumer_id)),
                "actions": href(format!("{base}/consumers/{}/actions", self.request.consumer_id)),
                "notifications": href(format!("{base}/subscriptions/{}/notifications", self.id)),
                "publisher": href(format!("{base}/publishers/{}", self.request.publisher_id)),
            },
        });
        if let Some(d) = self.last_probation_retry_date {
            v["lastProbationRetryDate"] = json!(ts(d));
        }
        v
    }
}
