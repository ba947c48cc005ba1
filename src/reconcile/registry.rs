//! Every configured organization's reconciler, as `serve` runs them and the admin API finds them.

use super::{OrgStatus, Reconciler};

/// Every configured organization's reconciler (what `serve` runs and the admin API looks up).
#[derive(Debug, Clone, Default)]
pub struct Reconcilers {
    list: Vec<Reconciler>,
}

impl Reconcilers {
    pub fn new(list: Vec<Reconciler>) -> Self {
        Self { list }
    }

    /// The reconciler of an organization given by name (case-insensitive) or URL.
    pub fn find(&self, name_or_url: &str) -> Option<&Reconciler> {
        self.list.iter().find(|r| r.matches(name_or_url))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Reconciler> {
        self.list.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Every organization's status, in configuration order.
    pub fn statuses(&self) -> Vec<OrgStatus> {
        self.list.iter().map(Reconciler::status).collect()
    }
}
