//! Every organization's reconciler — configured ones and those discovery adds while `serve` runs —
//! as `serve` runs them and the admin API, the backfill jobs and the tenant check find them.

use std::sync::{Arc, RwLock};

use super::{OrgStatus, Reconciler};
use crate::config::OrganizationConfig;

/// The organizations' reconcilers; clones share one list, so one added later is seen by all.
#[derive(Debug, Clone, Default)]
pub struct Reconcilers {
    list: Arc<RwLock<Vec<Reconciler>>>,
}

impl Reconcilers {
    pub fn new(list: Vec<Reconciler>) -> Self {
        Self {
            list: Arc::new(RwLock::new(list)),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Reconciler>> {
        self.list.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The reconciler of an organization given by name (case-insensitive) or URL.
    pub fn find(&self, name_or_url: &str) -> Option<Reconciler> {
        self.read().iter().find(|r| r.matches(name_or_url)).cloned()
    }

    /// Adds a reconciler unless one for the same organization (name or URL) exists; says whether
    /// it was added.
    pub fn add(&self, reconciler: Reconciler) -> bool {
        let mut list = self.list.write().unwrap_or_else(|e| e.into_inner());
        let org = reconciler.organization();
        if list
            .iter()
            .any(|r| r.matches(&org.name()) || r.matches(&org.url))
        {
            return false;
        }
        list.push(reconciler);
        true
    }

    /// A snapshot of every reconciler, in the order they were added.
    pub fn all(&self) -> Vec<Reconciler> {
        self.read().clone()
    }

    /// Every organization a reconciler runs for.
    pub fn organizations(&self) -> Vec<OrganizationConfig> {
        self.read()
            .iter()
            .map(|r| r.organization().clone())
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Every organization's status, in the order they were added.
    pub fn statuses(&self) -> Vec<OrgStatus> {
        self.read().iter().map(Reconciler::status).collect()
    }
}
