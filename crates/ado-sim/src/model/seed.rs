//! Builds a simulated collection from an [`OrgSpec`] and the seed: projects, people, repositories
//! (with a pre-existing `main`), pipelines and classic build definitions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::build::{Definition, StageSpec};
use super::git::Repo;
use super::{Org, Person, Project, UrlStyle};
use crate::ids::SimRng;

/// What one simulated collection contains at start.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrgSpec {
    /// Organization (Services) or collection (Server) name as it appears in URLs.
    pub name: String,
    pub style: UrlStyle,
    pub projects: usize,
    pub repos_per_project: usize,
    pub people: usize,
    /// Highest REST api-version served (`major.minor`): Services 7.2, Azure DevOps Server 2022.1
    /// 7.1, Server 2020 6.0 … Requests for a higher version get Azure DevOps' 400 "out of range".
    pub api_version: String,
}

impl OrgSpec {
    pub fn services(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            style: UrlStyle::Services,
            projects: 3,
            repos_per_project: 2,
            people: 8,
            api_version: "7.2".into(),
        }
    }

    /// An Azure DevOps Server 2022.1 collection (api-version up to 7.1).
    pub fn server(collection: impl Into<String>) -> Self {
        Self {
            style: UrlStyle::Server,
            api_version: "7.1".into(),
            ..Self::services(collection)
        }
    }
}

/// `7.1`, `7.1-preview`, `7.1-preview.2` → (7, 1).
pub fn parse_api_version(v: &str) -> Option<(u32, u32)> {
    let number = v.trim().split('-').next()?;
    let (major, minor) = number.split_once('.').unwrap_or((number, "0"));
    Some((major.parse().ok()?, minor.parse().ok()?))
}

const PROJECT_NAMES: &[&str] = &[
    "Fabrikam Fiber",
    "Contoso Web",
    "Northwind API",
    "Tailspin Toys",
    "Adventure Works",
    "Wingtip",
    "Litware",
    "Proseware",
];
const PEOPLE: &[&str] = &[
    "Jamal Hartnett",
    "Chuck Reinhart",
    "Normal Paulk",
    "Christie Church",
    "Johnnie McLeod",
    "Raisa Pokrovskaya",
    "Helena Petersen",
    "Ming Zhao",
    "Amara Okafor",
    "Diego Alvarez",
    "Sofia Rossi",
    "Kenji Sato",
];
const REPO_SUFFIXES: &[&str] = &["", "-api", "-web", "-infra"];

fn person(rng: &mut SimRng, name: &str, domain: &str) -> Person {
    let login = name.to_ascii_lowercase().replace(' ', ".");
    Person {
        id: rng.guid(),
        display_name: name.to_string(),
        unique_name: format!("{login}@{domain}"),
        email: format!("{login}@{domain}"),
        descriptor: format!("aad.{}", rng.token(48)),
    }
}

/// Builds the collection. `host` is `127.0.0.1:PORT`; the URL style decides the base URLs.
pub fn build_org(
    spec: &OrgSpec,
    host: &str,
    rng: &mut SimRng,
    now: chrono::DateTime<chrono::Utc>,
) -> Org {
    let (base_url, host_base_url) = match spec.style {
        UrlStyle::Services => {
            let b = format!("http://{host}/{}/", spec.name);
            (b.clone(), b)
        }
        UrlStyle::Server => (
            format!("http://{host}/tfs/{}/", spec.name),
            format!("http://{host}/tfs/"),
        ),
    };
    let domain = format!("{}.example", spec.name.to_ascii_lowercase());
    let people: Vec<Person> = (0..spec.people.max(2))
        .map(|i| person(rng, PEOPLE[i % PEOPLE.len()], &domain))
        .collect();
    let service_identity = person(rng, "ado-ingest service", &domain);
    let projects: Vec<Project> = (0..spec.projects.max(1))
        .map(|i| {
            let name = PROJECT_NAMES[i % PROJECT_NAMES.len()].to_string();
            let board = rng.guid().replace('-', "").to_ascii_uppercase();
            Project {
                id: rng.guid(),
                description: format!("{name} engineering"),
                revision: rng.between(10, 900),
                last_update_time: now,
                board_field: format!("WEF_{board}_Kanban.Column"),
                iteration: name.clone(),
                name,
            }
        })
        .collect();
    let mut repos = Vec::new();
    let mut definitions = Vec::new();
    for (p, project) in projects.iter().enumerate() {
        for r in 0..spec.repos_per_project.max(1) {
            let slug = project.name.replace(' ', "");
            let mut branches = BTreeMap::new();
            branches.insert("refs/heads/main".to_string(), rng.sha());
            repos.push(Repo {
                id: rng.guid(),
                name: format!("{slug}{}", REPO_SUFFIXES[r % REPO_SUFFIXES.len()]),
                project: p,
                default_branch: "refs/heads/main".into(),
                branches,
                pushes: Vec::new(),
                size: rng.between(10_000, 50_000_000),
            });
            let repo = repos.len() - 1;
            let repo_name = repos[repo].name.clone();
            definitions.push(Definition {
                id: definitions.len() as u64 + 1,
                name: format!("{repo_name}-CI"),
                project: p,
                repo,
                yaml: true,
                revision: rng.between(1, 40),
                stages: vec![
                    StageSpec {
                        name: "Build".into(),
                        jobs: vec!["Compile".into(), "Test".into()],
                        approval: false,
                    },
                    StageSpec {
                        name: "Deploy".into(),
                        jobs: vec!["Deploy".into()],
                        approval: true,
                    },
                ],
            });
            definitions.push(Definition {
                id: definitions.len() as u64 + 1,
                name: format!("{repo_name}-Classic"),
                project: p,
                repo,
                yaml: false,
                revision: rng.between(1, 40),
                stages: vec![StageSpec {
                    name: "__default".into(),
                    jobs: vec!["Job".into()],
                    approval: false,
                }],
            });
        }
    }
    Org {
        name: spec.name.clone(),
        style: spec.style,
        api_version: parse_api_version(&spec.api_version).unwrap_or((7, 1)),
        collection_id: rng.guid(),
        host_id: rng.guid(),
        base_url,
        host_base_url,
        projects,
        people,
        service_identity,
        repos,
        prs: Vec::new(),
        definitions,
        builds: Vec::new(),
        deployments: Vec::new(),
        changesets: Vec::new(),
        work_items: Vec::new(),
        subscriptions: Vec::new(),
        next_pr_id: rng.between(1, 900),
        next_build_id: rng.between(100, 2000),
        next_changeset_id: rng.between(1, 300),
        next_work_item_id: rng.between(1, 500),
        next_release_id: 1,
        watermark: rng.between(1, 1000),
    }
}
