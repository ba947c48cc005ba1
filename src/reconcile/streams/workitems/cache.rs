//! The last revision row seen per work item, so that the next revision is diffed against it
//! without a REST call (during a backfill from the beginning every previous revision is here).
//! Rows are kept as JSON text: a parsed `Value` takes several times the memory, and a backfill of
//! a large organization holds one row per work item.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;

use crate::normalize::extract::as_int;

/// Items whose last revision the cache keeps before it starts over (bounds memory).
const CACHE_LIMIT: usize = 250_000;

/// The last revision row seen per work item: `(rev, row as JSON text)`.
#[derive(Default)]
pub(crate) struct RevisionCache {
    rows: Mutex<HashMap<i64, (i64, Box<str>)>>,
}

impl RevisionCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, (i64, Box<str>)>> {
        self.rows.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The row of revision `rev` of an item, if that is the last one seen.
    pub(super) fn get(&self, id: i64, rev: i64) -> Option<Value> {
        let rows = self.lock();
        rows.get(&id)
            .filter(|(r, _)| *r == rev)
            .and_then(|(_, text)| serde_json::from_str(text).ok())
    }

    /// Whether the last revision seen of an item is `rev` (no parsing).
    pub(super) fn has(&self, id: i64, rev: i64) -> bool {
        self.lock().get(&id).is_some_and(|(r, _)| *r == rev)
    }

    /// The cached row of an item, whatever its rev.
    pub(crate) fn latest(&self, id: i64) -> Option<Value> {
        let rows = self.lock();
        rows.get(&id)
            .and_then(|(_, text)| serde_json::from_str(text).ok())
    }

    /// Remembers a row unless a newer revision of the item is already known.
    pub(super) fn put(&self, id: i64, row: &Value) {
        let rev = row.get("rev").and_then(as_int).unwrap_or(0);
        let mut rows = self.lock();
        if rows.get(&id).is_some_and(|(old, _)| *old > rev) {
            return;
        }
        if rows.len() >= CACHE_LIMIT && !rows.contains_key(&id) {
            rows.clear();
        }
        // The comment of a revision belongs to that revision's `workitem.commented` only; what
        // the cache serves (the previous revision to diff, the item as of a link change or a
        // deletion) never shows it, and comments are the largest field.
        let text = match row["fields"].get("System.History") {
            Some(_) => {
                let mut row = row.clone();
                if let Some(f) = row["fields"].as_object_mut() {
                    f.remove("System.History");
                }
                serde_json::to_string(&row)
            }
            None => serde_json::to_string(row),
        };
        if let Ok(text) = text {
            rows.insert(id, (rev, text.into_boxed_str()));
        }
    }
}
