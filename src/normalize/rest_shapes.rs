//! Builders that put REST objects into the hook resource shapes the normalizers read, for the
//! reconciler: what the hook delivers in one resource, REST sometimes spreads over several calls.

use serde_json::{Map, Value, json};

/// A `workitem.updated` resource (WorkItemUpdate 1.0 shape) from two consecutive reporting
/// work-item revision rows `{id, rev, fields}` (`prev` = rev−1, absent for the first revision):
/// `fields` gets `{oldValue, newValue}` for every field whose value differs (including
/// `System.Rev`, which marks it a field update rather than a link-only one) and `revision` is `cur`.
/// Request the rows without `includeIdentityRef`, so identities are "Name <unique>" strings as in
/// the hook.
pub fn workitem_update_from_revisions(prev: Option<&Value>, cur: Value) -> Value {
    let empty = Map::new();
    let old = prev
        .and_then(|p| p.get("fields"))
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let new = cur
        .get("fields")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut changes = Map::new();
    for name in old.keys().chain(new.keys()) {
        if changes.contains_key(name) {
            continue;
        }
        let (o, n) = (old.get(name), new.get(name));
        if o == n {
            continue;
        }
        let mut change = Map::new();
        if let Some(o) = o {
            change.insert("oldValue".into(), o.clone());
        }
        if let Some(n) = n {
            change.insert("newValue".into(), n.clone());
        }
        changes.insert(name.clone(), Value::Object(change));
    }
    let rev = cur.get("rev").cloned().unwrap_or(Value::Null);
    if !changes.contains_key("System.Rev") {
        let old_rev = prev.and_then(|p| p.get("rev")).cloned();
        changes.insert(
            "System.Rev".into(),
            match old_rev {
                Some(o) => json!({"oldValue": o, "newValue": rev}),
                None => json!({"newValue": rev}),
            },
        );
    }
    // Built by hand: `json!` would serialize `cur` into a new value, far slower than a clone.
    let mut update = Map::new();
    update.insert(
        "workItemId".into(),
        cur.get("id").cloned().unwrap_or(Value::Null),
    );
    update.insert("rev".into(), rev);
    update.insert("fields".into(), Value::Object(changes));
    update.insert("revision".into(), cur);
    Value::Object(update)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diffs_consecutive_revisions() {
        let prev =
            json!({"id": 7, "rev": 1, "fields": {"System.State": "New", "System.Title": "a"}});
        let cur = json!({"id": 7, "rev": 2, "fields": {"System.State": "Active", "System.Title": "a", "System.Tags": "x"}});
        let u = workitem_update_from_revisions(Some(&prev), cur);
        assert_eq!(u["workItemId"], 7);
        assert_eq!(
            u["fields"]["System.State"],
            json!({"oldValue": "New", "newValue": "Active"})
        );
        assert_eq!(u["fields"]["System.Tags"], json!({"newValue": "x"}));
        assert_eq!(
            u["fields"]["System.Rev"],
            json!({"oldValue": 1, "newValue": 2})
        );
        assert!(u["fields"].get("System.Title").is_none());
    }
}
