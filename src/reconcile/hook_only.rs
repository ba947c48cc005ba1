//! The changes the REST API cannot always reveal, by event type, with the reason: what the demo's
//! table and the README name when such a change's hook was lost.

/// `(event type, why REST may not show it)`. Every other type is recovered exactly.
pub const PARTLY_RECOVERABLE: &[(&str, &str)] = &[
    (
        "git.pullrequest.updated",
        "votes reset by a branch policy and title edits leave no system thread; every other state \
         is rebuilt from the threads and iterations",
    ),
    (
        "git.pullrequest.merge_attempted",
        "REST keeps no history of merge statuses (no MergeAttempt threads on current versions); \
         only the newest attempt is visible",
    ),
    (
        "workitem.updated",
        "a link-only update of an item that is in the recycle bin whenever REST looks cannot be \
         read (the links report skips deleted items)",
    ),
    (
        "workitem.deleted",
        "an item deleted and restored between two passes never appears in the recycle bin",
    ),
    (
        "workitem.restored",
        "a restore between two passes shows only if the item is out of the recycle bin at the \
         next look; one deleted again before it (or deleted and restored in between) leaves no trace",
    ),
];

/// Why changes of `event_type` may be missing although the reconciler ran, if they may.
pub fn reason(event_type: &str) -> Option<&'static str> {
    PARTLY_RECOVERABLE
        .iter()
        .find(|(t, _)| *t == event_type)
        .map(|(_, why)| *why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_type_is_in_the_catalog() {
        for (t, _) in PARTLY_RECOVERABLE {
            assert!(
                ado_events::normalized_types().contains(t),
                "{t} is no normalized type"
            );
        }
        assert!(reason("build.completed").is_none());
    }
}
