//! JSON renderings of simulated objects in Azure DevOps' shapes, shared by the hook payload
//! builders and the REST handlers (both serve the same object types, with small per-API
//! differences passed in as a flavor).

pub mod build;
pub mod git;
pub mod pipelines;
pub mod pr;
pub mod wit;

use serde_json::{Value, json};

use super::model::{Org, Person, Project};

/// `{"href": url}`.
pub fn href(url: impl Into<String>) -> Value {
    json!({ "href": url.into() })
}

/// Avatar URL of a person.
pub fn avatar_url(org: &Org, p: &Person) -> String {
    format!(
        "{}_apis/GraphProfile/MemberAvatars/{}",
        org.base_url, p.descriptor
    )
}

/// Legacy identity image URL of a person.
pub fn image_url(org: &Org, p: &Person) -> String {
    format!("{}_api/_common/identityImage?id={}", org.base_url, p.id)
}

/// The current IdentityRef: displayName, url, _links.avatar, id, uniqueName, imageUrl, descriptor.
pub fn identity(org: &Org, p: &Person) -> Value {
    json!({
        "displayName": p.display_name,
        "url": org.identity_url(p),
        "_links": { "avatar": href(avatar_url(org, p)) },
        "id": p.id,
        "uniqueName": p.unique_name,
        "imageUrl": image_url(org, p),
        "descriptor": p.descriptor,
    })
}

/// The older IdentityRef without links and descriptor (TFVC, REST 1.0-era lists).
pub fn identity_basic(org: &Org, p: &Person) -> Value {
    json!({
        "id": p.id,
        "displayName": p.display_name,
        "uniqueName": p.unique_name,
        "url": org.identity_url(p),
        "imageUrl": image_url(org, p),
    })
}

/// Work-item rv 1.0 identity field value: `Display Name <unique@name>`.
pub fn identity_string(p: &Person) -> String {
    format!("{} <{}>", p.display_name, p.unique_name)
}

/// A git signature (`author` / `committer`).
pub fn signature(p: &Person, date: &str) -> Value {
    json!({ "name": p.display_name, "email": p.email, "date": date })
}

/// Which fields a TeamProjectReference carries in a given payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectFlavor {
    /// id, name, url, state (REST lists of 1.0-era examples).
    Basic,
    /// + visibility, lastUpdateTime (push payloads, REST `build` objects add revision).
    Push,
    /// + description, revision (pull request payloads and current REST).
    Full,
    /// id, name, state, visibility, lastUpdateTime — no url (pull request lists).
    NoUrl,
}

pub fn project_ref(org: &Org, p: &Project, flavor: ProjectFlavor) -> Value {
    let mut v = json!({
        "id": p.id,
        "name": p.name,
        "url": format!("{}_apis/projects/{}", org.base_url, p.id),
        "state": "wellFormed",
    });
    let obj = v.as_object_mut().expect("object literal");
    if flavor == ProjectFlavor::NoUrl {
        obj.remove("url");
    }
    if flavor != ProjectFlavor::Basic {
        obj.insert("visibility".into(), json!("private"));
        obj.insert(
            "lastUpdateTime".into(),
            json!(super::clock::ts(p.last_update_time)),
        );
    }
    if flavor == ProjectFlavor::Full {
        obj.insert("description".into(), json!(p.description));
        obj.insert("revision".into(), json!(p.revision));
    }
    v
}

/// Project reference with revision but without description (build objects).
pub fn project_ref_build(org: &Org, p: &Project) -> Value {
    let mut v = project_ref(org, p, ProjectFlavor::Push);
    v["revision"] = json!(p.revision);
    v
}

/// URL-safe form of a name in web URLs (`Fabrikam Fiber` → `Fabrikam%20Fiber`).
pub fn url_name(name: &str) -> String {
    name.replace(' ', "%20")
}
