//! The [`Simulator`] handle: what tests, the demo and benchmarks drive.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::delivery::subscription::Subscription;
use super::model::Org;
use super::{
    ActivityReport, ActivitySpec, DeliveryStats, EVENT_KINDS, FaultRates, OrgInfo, RateLimit,
    RestFaults, SimError, SubscriptionInfo, SubscriptionRequest, SubscriptionStatus, TruthEntry,
    TypeSummary, UrlStyle, ops, shared,
};

/// A running simulator: cheap to clone, every clone drives the same organizations.
#[derive(Clone)]
pub struct Simulator {
    pub(crate) shared: Arc<shared::Shared>,
    pub(crate) addr: SocketAddr,
}

impl Simulator {
    /// The address the REST server listens on (hooks are sent from an ephemeral port).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn orgs(&self) -> Vec<OrgInfo> {
        let world = self.shared.world();
        world
            .orgs
            .iter()
            .map(|o| OrgInfo {
                name: o.name.clone(),
                style: o.style,
                collection_id: o.collection_id.clone(),
                host_id: o.host_id.clone(),
                base_url: o.base_url.clone(),
                projects: o
                    .projects
                    .iter()
                    .map(|p| (p.id.clone(), p.name.clone()))
                    .collect(),
                repositories: o
                    .repos
                    .iter()
                    .map(|r| {
                        (
                            r.id.clone(),
                            r.name.clone(),
                            o.projects[r.project].id.clone(),
                        )
                    })
                    .collect(),
            })
            .collect()
    }

    pub fn org(&self, name: &str) -> Option<OrgInfo> {
        self.orgs()
            .into_iter()
            .find(|o| o.name.eq_ignore_ascii_case(name))
    }

    /// How often each REST route of `org` was called (lowercased segments after `_apis`, e.g.
    /// `projects` or `git/repositories/{id}/pushes`), refused requests included.
    pub fn rest_calls(&self, org: &str) -> BTreeMap<String, u64> {
        let index = {
            let world = self.shared.world();
            world
                .orgs
                .iter()
                .position(|o| o.name.eq_ignore_ascii_case(org))
        };
        let Some(index) = index else {
            return BTreeMap::new();
        };
        let calls = self
            .shared
            .rest_calls
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        calls
            .iter()
            .filter(|((o, _), _)| *o == index)
            .map(|((_, route), n)| (route.clone(), *n))
            .collect()
    }

    /// Refuses every request to `route` (and below it) with `status` (403: the identity lacks the
    /// permission, as a Reader for the recycle bin; 404: an older Server without the API). The
    /// route is the path after `_apis/`, lowercase; a `*` segment matches any one segment
    /// (`git/repositories/*/pullrequests/*/iterations`).
    pub fn refuse_route(&self, route: &str, status: u16) {
        let route = route.trim_matches('/').to_ascii_lowercase();
        let mut controls = self.shared.controls();
        controls.refused_routes.retain(|(r, _)| *r != route);
        controls.refused_routes.push((route, status));
    }

    /// The Services organizations the PAT's identity is a member of, as `_apis/accounts` lists
    /// them (`None`: every one).
    pub fn set_memberships(&self, orgs: Option<Vec<String>>) {
        self.shared.controls().memberships = orgs;
    }

    /// How the simulated Entra ID answers sign-ins from now on.
    pub fn set_entra(&self, behaviour: crate::rest::entra::EntraBehaviour) {
        self.shared.entra().behaviour = behaviour;
    }

    /// Revokes every refresh token issued so far (access tokens live until they expire).
    pub fn revoke_sign_ins(&self) {
        self.shared.entra().revoke_refresh_tokens();
    }

    /// Token requests answered, by grant type (`refresh_token`, `urn:…:device_code`).
    pub fn token_grants(&self) -> BTreeMap<String, u64> {
        self.shared.entra().grants.clone()
    }

    /// The identity's member id (`profile/profiles/me`).
    pub fn identity_id(&self) -> String {
        self.shared.world().identity_id.clone()
    }

    /// Serves every route again.
    pub fn clear_refusals(&self) {
        self.shared.controls().refused_routes.clear();
    }

    /// The PAT REST requests must present.
    pub fn pat(&self) -> String {
        self.shared.controls().pat.clone()
    }

    pub fn set_pat(&self, pat: &str) {
        self.shared.controls().pat = pat.to_string();
    }

    /// Creates a subscription as `POST _apis/hooks/subscriptions` would; returns its id.
    pub fn create_subscription(
        &self,
        org: &str,
        req: SubscriptionRequest,
    ) -> Result<String, SimError> {
        let json = ops::create_subscription(&self.shared, org, req)?;
        Ok(json["id"].as_str().unwrap_or_default().to_string())
    }

    /// One Web Hooks subscription per event type the collection raises, posting to `url` with
    /// optional Basic credentials, pinned resource versions, full resources and all messages
    /// (explicit, because collection-wide subscriptions default to minimal resources).
    pub fn subscribe_all(
        &self,
        org: &str,
        url: &str,
        basic: Option<(&str, &str)>,
    ) -> Result<Vec<String>, SimError> {
        let server = self
            .org(org)
            .ok_or_else(|| SimError::UnknownOrg(org.to_string()))?
            .style
            == UrlStyle::Server;
        EVENT_KINDS
            .iter()
            .filter(|k| k.on_server || !server)
            .map(|k| {
                let mut req = SubscriptionRequest::webhook(k.event_type, url)
                    .consumer_input("resourceDetailsToSend", "all")
                    .consumer_input("messagesToSend", "all")
                    .consumer_input("detailedMessagesToSend", "all");
                if let Some((u, p)) = basic {
                    req = req.basic_auth(u, p);
                }
                self.create_subscription(org, req)
            })
            .collect()
    }

    fn info(org: &Org, s: &Subscription) -> SubscriptionInfo {
        SubscriptionInfo {
            id: s.id.clone(),
            org: org.name.clone(),
            event_type: s.request.event_type.clone(),
            resource_version: s.request.resource_version.clone(),
            status: s.status,
            probation_retries: s.probation_retries,
            last_probation_retry_date: s.last_probation_retry_date,
            notifications: s.notifications.len(),
            queued: s.queue.len(),
            url: s
                .request
                .consumer_inputs
                .get("url")
                .cloned()
                .unwrap_or_default(),
            project_id: s
                .request
                .publisher_inputs
                .get("projectId")
                .filter(|p| !p.is_empty())
                .cloned(),
        }
    }

    pub fn subscriptions(&self, org: &str) -> Vec<SubscriptionInfo> {
        let world = self.shared.world();
        world
            .orgs
            .iter()
            .filter(|o| o.name.eq_ignore_ascii_case(org))
            .flat_map(|o| o.subscriptions.iter().map(move |s| Self::info(o, s)))
            .collect()
    }

    pub fn subscription(&self, org: &str, id: &str) -> Option<SubscriptionInfo> {
        self.subscriptions(org).into_iter().find(|s| s.id == id)
    }

    /// Sets a subscription's status as a PUT with only the status changed would (e.g. re-enable).
    pub fn set_subscription_status(
        &self,
        org: &str,
        id: &str,
        status: SubscriptionStatus,
    ) -> Result<(), SimError> {
        let req = {
            let world = self.shared.world();
            let o = world
                .orgs
                .iter()
                .find(|o| o.name.eq_ignore_ascii_case(org))
                .ok_or_else(|| SimError::UnknownOrg(org.into()))?;
            let s = o
                .subscriptions
                .iter()
                .find(|s| s.id == id)
                .ok_or_else(|| SimError::UnknownSubscription(id.into()))?;
            s.request.clone()
        };
        ops::replace_subscription(
            &self.shared,
            org,
            id,
            SubscriptionRequest {
                status: Some(status),
                ..req
            },
        )
        .map(|_| ())
    }

    pub fn delete_subscription(&self, org: &str, id: &str) -> Result<(), SimError> {
        ops::delete_subscription(&self.shared, org, id)
    }

    /// Performs `spec.actions` seeded actions; their hook deliveries proceed in the background.
    pub fn generate(&self, spec: &ActivitySpec) -> Result<ActivityReport, SimError> {
        ops::generate(&self.shared, spec)
    }

    /// Waits until no notification is queued, in flight, retrying or on probation.
    pub async fn settle(&self, timeout: Duration) -> Result<DeliveryStats, SimError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.counters.settled.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let stats = self.shared.counters.snapshot();
            if stats.outstanding == 0 {
                return Ok(stats);
            }
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(SimError::NotSettled { outstanding: self.shared.counters.snapshot().outstanding });
                }
            }
        }
    }

    pub fn stats(&self) -> DeliveryStats {
        self.shared.counters.snapshot()
    }

    /// Every change so far, in order.
    pub fn truth(&self) -> Vec<TruthEntry> {
        self.shared.world().truth.entries.clone()
    }

    pub fn truth_len(&self) -> usize {
        self.shared.world().truth.entries.len()
    }

    /// Changes and delivery outcome per normalized type.
    pub fn truth_summary(&self) -> BTreeMap<&'static str, TypeSummary> {
        self.shared.world().truth.summary()
    }

    pub fn set_faults(&self, faults: FaultRates) {
        self.shared.controls().faults = faults;
    }

    pub fn set_time_scale(&self, scale: f64) {
        self.shared.controls().time_scale = scale;
    }

    pub fn set_rate_limit(&self, rate_limit: Option<RateLimit>) {
        self.shared.set_rate_limit(rate_limit);
    }

    pub fn set_rest_faults(&self, faults: RestFaults) {
        self.shared.controls().rest_faults = faults;
    }

    /// Stops the REST server and the senders (in-flight retries are abandoned).
    pub async fn shutdown(&self) {
        self.shared.shutdown.cancel();
        self.shared.tasks.close();
        self.shared.tasks.wait().await;
    }
}
