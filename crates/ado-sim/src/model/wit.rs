//! Work item state: current fields, every revision (with the collection watermark), every update
//! (field diffs or link-only relation changes), comments, links and the recycle bin.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

/// A link to another work item.
#[derive(Debug, Clone, PartialEq)]
pub struct Relation {
    /// e.g. `System.LinkTypes.Related`, `System.LinkTypes.Hierarchy-Reverse`.
    pub rel: &'static str,
    pub target: u64,
    pub comment: Option<String>,
}

/// One saved revision: the visible fields after the save.
#[derive(Debug, Clone)]
pub struct Revision {
    pub rev: u64,
    pub watermark: u64,
    pub changed_date: DateTime<Utc>,
    pub fields: BTreeMap<String, Value>,
    /// Whether the item was in the recycle bin when this row was last relevant (reporting
    /// `includeDeleted`); set on all revisions while the item is deleted.
    pub deleted: bool,
}

/// `{oldValue?, newValue?}` of one changed field.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    pub old: Option<Value>,
    pub new: Option<Value>,
}

/// One update (`workItems/{id}/updates/{n}`): a save (new rev) or a link-only change (same rev).
#[derive(Debug, Clone)]
pub struct Update {
    pub id: u64,
    pub rev: u64,
    pub revised_by: usize,
    pub date: DateTime<Utc>,
    /// Changed fields including the system bookkeeping fields; empty for link-only updates.
    pub fields: BTreeMap<String, FieldChange>,
    pub relations_added: Vec<Relation>,
    pub relations_removed: Vec<Relation>,
}

impl Update {
    pub fn is_link_only(&self) -> bool {
        self.fields.is_empty()
    }
}

#[derive(Debug, Clone)]
pub struct WiComment {
    pub id: u64,
    pub text: String,
    pub by: usize,
    pub date: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct WorkItem {
    pub id: u64,
    pub project: usize,
    /// Visible fields of the latest revision (identities as `Name <unique>` strings, as rv 1.0 sends).
    pub fields: BTreeMap<String, Value>,
    pub rev: u64,
    pub revisions: Vec<Revision>,
    pub updates: Vec<Update>,
    pub relations: Vec<Relation>,
    pub comments: Vec<WiComment>,
    pub deleted: Option<(DateTime<Utc>, usize)>,
    /// The rev at which the item was last deleted or restored. Neither bumps the rev, so a second
    /// delete (or restore) at the same rev would be indistinguishable from the first by the
    /// identity (id, rev, kind) of docs/contract.md#identities; the generator saves in between.
    pub recycled_at_rev: Option<u64>,
}

impl WorkItem {
    pub fn field_str(&self, name: &str) -> &str {
        self.fields.get(name).and_then(Value::as_str).unwrap_or("")
    }

    pub fn work_item_type(&self) -> &str {
        self.field_str("System.WorkItemType")
    }

    pub fn state(&self) -> &str {
        self.field_str("System.State")
    }

    pub fn latest_watermark(&self) -> u64 {
        self.revisions.last().map(|r| r.watermark).unwrap_or(0)
    }
}
