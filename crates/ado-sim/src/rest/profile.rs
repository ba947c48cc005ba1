//! The identity's side of Azure DevOps Services, served at the root as `app.vssps.visualstudio.com`
//! serves it: `GET _apis/profile/profiles/me` (the member id) and `GET _apis/accounts?memberId=`
//! (every organization the identity is a member of: `accountId`, `accountUri`, `accountName`,
//! `properties`). Server collections are never listed (Server has no such API). Which
//! organizations the PAT's identity belongs to is a control ([`crate::Simulator::set_memberships`]).

use std::sync::Arc;

use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{ApiError, gate, list};
use crate::model::UrlStyle;
use crate::shared::Shared;

/// Whether `path` is one of these root routes.
pub(super) fn is_profile_route(path: &str) -> bool {
    let p = path.trim_start_matches('/').to_ascii_lowercase();
    p.starts_with("_apis/profile/") || p == "_apis/accounts" || p.starts_with("_apis/accounts?")
}

pub(super) async fn handle(
    shared: &Arc<Shared>,
    method: &Method,
    path: &str,
    query: &[(String, String)],
    headers: &HeaderMap,
) -> Response {
    if let Err(resp) = gate::admit(shared, headers).await {
        return resp;
    }
    let p = path
        .trim_start_matches('/')
        .trim_end_matches('/')
        .to_ascii_lowercase();
    let world = shared.world();
    let me = world.identity_id.clone();
    let answer = match (method, p.as_str()) {
        (&Method::GET, "_apis/profile/profiles/me") => Ok(json!({
            "displayName": "Sim Owner",
            "publicAlias": me,
            "emailAddress": "owner@contoso.example",
            "coreRevision": 1,
            "timeStamp": "2024-01-01T00:00:00+00:00",
            "id": me,
            "revision": 1,
        })),
        (&Method::GET, "_apis/accounts") => {
            let member = query
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("memberId"))
                .map(|(_, v)| v.clone());
            match member {
                None => Err(ApiError::bad_request(
                    "VS800075: The project collection or account, memberId or ownerId must be specified.",
                )),
                Some(m) if !m.eq_ignore_ascii_case(&me) => Ok(list(Vec::new())),
                Some(_) => {
                    let memberships = shared.controls().memberships.clone();
                    let accounts = world
                        .orgs
                        .iter()
                        .filter(|o| o.style == UrlStyle::Services)
                        .filter(|o| {
                            memberships
                                .as_ref()
                                .is_none_or(|m| m.iter().any(|n| n.eq_ignore_ascii_case(&o.name)))
                        })
                        .map(|o| {
                            json!({
                                "accountId": o.host_id,
                                "accountUri": o.base_url,
                                "accountName": o.name,
                                "properties": {},
                            })
                        })
                        .collect();
                    Ok(list(accounts))
                }
            }
        }
        _ => Err(ApiError::not_found(
            "The requested profile route is not simulated.",
        )),
    };
    match answer {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}
