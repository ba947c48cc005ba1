//! The simulated organizations' state: collections holding projects, people, Git repositories,
//! pipelines and builds, TFVC changesets and work items, plus their service-hook subscriptions.
//! Everything lives behind one mutex (see [`crate::Simulator`]); objects refer to each other
//! by index into these append-only vectors.

pub mod build;
pub mod git;
pub mod seed;
pub mod tfvc;
pub mod wit;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::clock::SimClock;
use super::delivery::subscription::Subscription;
use super::ids::SimRng;
use super::truth::Truth;

pub use build::{Build, Definition, Deployment};
pub use git::{Commit, PullRequest, Push, RefUpdate, Repo};
pub use tfvc::Changeset;
pub use wit::WorkItem;

/// How a collection's URLs look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum UrlStyle {
    /// Azure DevOps Services: `http://host/{org}/`, containers `collection` + `account`.
    #[default]
    Services,
    /// Azure DevOps Server: `http://host/tfs/{Collection}/`, containers `collection` + `server`.
    Server,
}

/// One person (or service identity) of the organization.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: String,
    pub display_name: String,
    pub unique_name: String,
    pub email: String,
    /// Graph descriptor, e.g. `aad.Mz...`.
    pub descriptor: String,
}

/// A team project.
#[derive(Debug, Clone)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub description: String,
    pub revision: u64,
    pub last_update_time: DateTime<Utc>,
    /// Reference name of the project's Kanban board column field, `WEF_{GUID}_Kanban.Column`.
    pub board_field: String,
    /// Root area/iteration path (the project name).
    pub iteration: String,
}

/// One collection (an organization on Services).
#[derive(Debug)]
pub struct Org {
    pub name: String,
    pub style: UrlStyle,
    /// Highest REST api-version served, `(major, minor)`.
    pub api_version: (u32, u32),
    /// `resourceContainers.collection.id` (the tenant key) and `connectionData.instanceId`.
    pub collection_id: String,
    /// Account id (Services) or server id (Server).
    pub host_id: String,
    /// REST base URL of the collection, ending with `/`.
    pub base_url: String,
    /// `account.baseUrl` (Services: same as the collection) or `server.baseUrl` (`…/tfs/`).
    pub host_base_url: String,
    pub projects: Vec<Project>,
    pub people: Vec<Person>,
    /// The identity the PAT belongs to; it creates subscriptions made through the API.
    pub service_identity: Person,
    pub repos: Vec<Repo>,
    pub prs: Vec<PullRequest>,
    pub definitions: Vec<Definition>,
    pub builds: Vec<Build>,
    pub deployments: Vec<Deployment>,
    pub changesets: Vec<Changeset>,
    pub work_items: Vec<WorkItem>,
    pub subscriptions: Vec<Subscription>,
    /// Collection-wide counters (ids Azure DevOps allocates per collection).
    pub next_pr_id: u64,
    pub next_build_id: u64,
    pub next_changeset_id: u64,
    pub next_work_item_id: u64,
    pub next_release_id: u64,
    /// `System.Watermark`: bumped by every work-item revision in the collection.
    pub watermark: u64,
}

impl Org {
    pub fn project_index(&self, name_or_id: &str) -> Option<usize> {
        self.projects.iter().position(|p| {
            p.id.eq_ignore_ascii_case(name_or_id) || p.name.eq_ignore_ascii_case(name_or_id)
        })
    }

    /// Identity API URL of a person (Services and Server both serve `{collection}/_apis/Identities/{id}`).
    pub fn identity_url(&self, person: &Person) -> String {
        format!("{}_apis/Identities/{}", self.base_url, person.id)
    }

    /// Whether the collection is Azure DevOps Server (on-prem).
    pub fn is_server(&self) -> bool {
        self.style == UrlStyle::Server
    }
}

/// Everything the simulator knows, behind the simulator's mutex.
#[derive(Debug)]
pub struct World {
    pub seed: u64,
    /// The member id of the PAT's identity (`profile/profiles/me`).
    pub identity_id: String,
    pub orgs: Vec<Org>,
    pub rng: SimRng,
    pub clock: SimClock,
    pub truth: Truth,
    /// Subscriptions created so far (derives their ids, independent of deletions).
    pub subscriptions_created: u64,
}

impl World {
    pub fn org_index(&self, name: &str) -> Option<usize> {
        self.orgs
            .iter()
            .position(|o| o.name.eq_ignore_ascii_case(name))
    }
}
