//! TFVC state: changesets (collection-wide ids) that may touch several projects.

use chrono::{DateTime, Utc};

#[derive(Debug, Clone)]
pub struct TfvcChange {
    /// Server path, e.g. `$/Fabrikam/src/app.cs`.
    pub path: String,
    /// `add`, `edit`, `delete`, ...
    pub change_type: &'static str,
}

#[derive(Debug, Clone)]
pub struct Changeset {
    pub id: u64,
    pub author: usize,
    pub checked_in_by: usize,
    pub created_date: DateTime<Utc>,
    pub comment: String,
    /// Project indexes touched (several for a multi-project changeset).
    pub projects: Vec<usize>,
    pub changes: Vec<TfvcChange>,
}
