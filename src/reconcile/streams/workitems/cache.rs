//! The last revision row seen per work item, so that the next revision is diffed against it
//! without a REST call (during a backfill from the beginning every previous revision is here).

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;

use crate::normalize::extract::as_int;

/// Items whose last revision the cache keeps before it starts over (bounds memory).
const CACHE_LIMIT: usize = 250_000;

/// The last revision row seen per work item, so the next revision can be diffed without a call.
#[derive(Default)]
pub(crate) struct RevisionCache {
    rows: Mutex<HashMap<i64, Value>>,
}

impl RevisionCache {
    pub(super) fn get(&self, id: i64, rev: i64) -> Option<Value> {
        let rows = self.rows.lock().unwrap_or_else(|p| p.into_inner());
        rows.get(&id)
            .filter(|r| r.get("rev").and_then(as_int) == Some(rev))
            .cloned()
    }

    /// The cached row of an item, whatever its rev.
    pub(crate) fn latest(&self, id: i64) -> Option<Value> {
        let rows = self.rows.lock().unwrap_or_else(|p| p.into_inner());
        rows.get(&id).cloned()
    }

    pub(super) fn put(&self, id: i64, row: Value) {
        let mut rows = self.rows.lock().unwrap_or_else(|p| p.into_inner());
        if rows.len() >= CACHE_LIMIT && !rows.contains_key(&id) {
            rows.clear();
        }
        let newer = rows
            .get(&id)
            .and_then(|r| r.get("rev").and_then(as_int))
            .is_none_or(|old| row.get("rev").and_then(as_int).unwrap_or(0) >= old);
        if newer {
            rows.insert(id, row);
        }
    }
}
