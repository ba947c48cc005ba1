//! Notification records: one per (subscription, event) delivery, with the original envelope, as
//! served by `…/subscriptions/{id}/notifications` and `POST _apis/hooks/notificationsquery`.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::clock::ts;
use crate::event::RaisedEvent;

/// `queued | processing | requestInProgress | completed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationStatus {
    Queued,
    Processing,
    RequestInProgress,
    Completed,
}

impl NotificationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Processing => "processing",
            Self::RequestInProgress => "requestInProgress",
            Self::Completed => "completed",
        }
    }
}

/// `pending | succeeded | failed | filtered`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationResult {
    Pending,
    Succeeded,
    Failed,
}

impl NotificationResult {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }
}

#[derive(Debug)]
pub struct Notification {
    /// The envelope's `notificationId`.
    pub id: u64,
    pub event: Arc<RaisedEvent>,
    /// The exact body POSTed (retries resend it byte for byte).
    pub body: Bytes,
    pub status: NotificationStatus,
    pub result: NotificationResult,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    pub dequeued: Option<DateTime<Utc>>,
    pub completed: Option<DateTime<Utc>>,
    pub request_attempts: u32,
    /// Seconds spent in requests.
    pub request_duration: f64,
    pub last_request: Option<String>,
    pub last_response: Option<String>,
    pub error_message: Option<String>,
}

impl Notification {
    pub fn new(id: u64, event: Arc<RaisedEvent>, body: Bytes) -> Self {
        let now = Utc::now();
        Self {
            id,
            event,
            body,
            status: NotificationStatus::Queued,
            result: NotificationResult::Pending,
            created: now,
            modified: now,
            dequeued: None,
            completed: None,
            request_attempts: 0,
            request_duration: 0.0,
            last_request: None,
            last_response: None,
            error_message: None,
        }
    }

    /// The Notification object; `details` carries the original event (the envelope as sent).
    pub fn to_json(
        &self,
        subscription_id: &str,
        subscriber_id: &str,
        sub_json: &Value,
        include_details: bool,
    ) -> Value {
        let mut v = json!({
            "id": self.id,
            "subscriptionId": subscription_id,
            "subscriberId": subscriber_id,
            "eventId": self.event.id,
            "status": self.status.as_str(),
            "result": self.result.as_str(),
            "createdDate": ts(self.created),
            "modifiedDate": ts(self.modified),
        });
        if include_details {
            let event: Value = serde_json::from_slice(&self.body).unwrap_or(Value::Null);
            v["details"] = json!({
                "event": event,
                "eventType": self.event.kind.event_type,
                "publisherId": self.event.kind.publisher_id,
                "consumerId": sub_json["consumerId"],
                "consumerActionId": sub_json["consumerActionId"],
                "consumerInputs": sub_json["consumerInputs"],
                "publisherInputs": sub_json["publisherInputs"],
                "request": self.last_request,
                "response": self.last_response,
                "errorMessage": self.error_message,
                "errorDetail": self.error_message,
                "requestAttempts": self.request_attempts,
                "requestDuration": self.request_duration,
                "queuedDate": ts(self.created),
                "dequeuedDate": self.dequeued.map(ts),
                "processedDate": self.dequeued.map(ts),
                "completedDate": self.completed.map(ts),
            });
        }
        v
    }
}

/// Body of `POST _apis/hooks/notificationsquery`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationsQuery {
    #[serde(default)]
    pub subscription_ids: Vec<String>,
    #[serde(default)]
    pub publisher_id: Option<String>,
    #[serde(default)]
    pub min_created_date: Option<String>,
    #[serde(default)]
    pub max_created_date: Option<String>,
    /// `pending | succeeded | failed | filtered`.
    #[serde(default)]
    pub result_type: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub include_details: bool,
    #[serde(default)]
    pub max_results: Option<usize>,
    #[serde(default)]
    pub max_results_per_subscription: Option<usize>,
}
