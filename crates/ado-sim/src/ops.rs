//! Operations shared by the programmatic API and the REST handlers: generating activity (raise →
//! ground truth → fan-out) and managing subscriptions (create, replace, delete).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::Notify;

use super::SimError;
use super::activity::{ActivitySpec, Gen, run_action};
use super::delivery::subscription::{Subscription, SubscriptionRequest, SubscriptionStatus};
use super::delivery::{disable, fan_out, sender};
use super::event::{Containers, RaisedEvent, event_kind};
use super::hooks::NewEvent;
use super::ids::SimRng;
use super::model::World;
use super::shared::Shared;
use super::truth::{DeliveryTally, TruthEntry};

/// What one call to generate did.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityReport {
    pub actions: usize,
    /// Changes recorded in the ground truth (one per hook event raised).
    pub changes: usize,
    /// Ground-truth positions of those changes: `first_seq .. first_seq + changes`.
    pub first_seq: usize,
    /// Actions performed, by name (e.g. `pr.vote`, `build.job_step`, `wit.link`).
    pub by_action: BTreeMap<&'static str, usize>,
}

/// Actions per lock hold, so REST and senders keep running while a large batch is generated.
const CHUNK: usize = 64;

fn raise(
    world: &mut World,
    org: usize,
    ne: NewEvent,
    at: DateTime<Utc>,
) -> Option<Arc<RaisedEvent>> {
    let kind = event_kind(ne.event_type)?;
    let o = &world.orgs[org];
    let containers = Containers {
        collection_id: o.collection_id.clone(),
        base_url: o.base_url.clone(),
        host_key: if o.is_server() { "server" } else { "account" },
        host_id: o.host_id.clone(),
        host_base_url: o.host_base_url.clone(),
    };
    let project_id = ne.project.map(|p| o.projects[p].id.clone());
    let resources = ne
        .resources
        .iter()
        .map(|r| Arc::<str>::from(serde_json::to_string(r).unwrap_or_else(|_| "null".into())))
        .collect();
    let ev = Arc::new(RaisedEvent {
        org,
        truth_index: world.truth.entries.len(),
        id: world.rng.guid(),
        kind,
        created_date: at,
        containers,
        project_id: project_id.clone(),
        resources,
        message: ne.message,
        detailed_message: ne.detailed_message,
        facts: ne.facts,
    });
    world.truth.entries.push(TruthEntry {
        seq: world.truth.entries.len(),
        org: o.name.clone(),
        collection_id: o.collection_id.clone(),
        project_id,
        event_type: kind.event_type,
        normalized_type: kind.normalized_type,
        identity: ne.identity,
        ado_event_id: ev.id.clone(),
        time: at,
        summary: ne.summary,
        delivery: DeliveryTally::default(),
        event: ev.clone(),
    });
    Some(ev)
}

pub(crate) fn generate(
    shared: &Arc<Shared>,
    spec: &ActivitySpec,
) -> Result<ActivityReport, SimError> {
    let fixed_org = match &spec.org {
        Some(name) => Some(
            shared
                .world()
                .org_index(name)
                .ok_or_else(|| SimError::UnknownOrg(name.clone()))?,
        ),
        None => None,
    };
    let faults = shared.controls().faults;
    let mut report = ActivityReport {
        first_seq: shared.world().truth.entries.len(),
        ..ActivityReport::default()
    };
    let mut done = 0;
    while done < spec.actions {
        let mut wakers: Vec<Arc<Notify>> = Vec::new();
        {
            let mut guard = shared.world();
            let world = &mut *guard;
            for i in done..(done + CHUNK).min(spec.actions) {
                let org = fixed_org.unwrap_or(i % world.orgs.len());
                let mut g = Gen {
                    org: &mut world.orgs[org],
                    rng: &mut world.rng,
                    clock: &mut world.clock,
                    events: Vec::new(),
                };
                let name = run_action(&mut g, &spec.mix);
                let events = std::mem::take(&mut g.events);
                *report.by_action.entry(name).or_default() += 1;
                report.actions += 1;
                for (ne, at) in events {
                    if let Some(ev) = raise(world, org, ne, at) {
                        report.changes += 1;
                        wakers.extend(fan_out(world, &ev, &faults, &shared.counters));
                    }
                }
            }
        }
        done = (done + CHUNK).min(spec.actions);
        for w in wakers {
            w.notify_one();
        }
    }
    Ok(report)
}

/// Creates a subscription and starts its sender; returns its REST representation.
pub(crate) fn create_subscription(
    shared: &Arc<Shared>,
    org: &str,
    req: SubscriptionRequest,
) -> Result<Value, SimError> {
    req.validate().map_err(SimError::BadRequest)?;
    let mut world = shared.world();
    let oi = world
        .org_index(org)
        .ok_or_else(|| SimError::UnknownOrg(org.to_string()))?;
    world.subscriptions_created += 1;
    let n = world.subscriptions_created;
    let mut ids = SimRng::derive(
        world.seed,
        &format!("subscription/{oi}/{n}/{}", req.event_type),
    );
    let now = Utc::now();
    let wake = Arc::new(Notify::new());
    let id = ids.guid();
    let sub = Subscription {
        id: id.clone(),
        status: SubscriptionStatus::Enabled,
        probation_retries: 0,
        last_probation_retry_date: None,
        created_by: world.orgs[oi].service_identity.clone(),
        created_date: now,
        modified_date: now,
        tfs_subscription_id: ids.guid(),
        next_notification_id: 1,
        notifications: Vec::new(),
        queue: VecDeque::new(),
        wake: wake.clone(),
        rng: SimRng::derive(world.seed, &format!("faults/{id}")),
        request: SubscriptionRequest {
            status: None,
            ..req
        },
    };
    let json = sub.to_json(&world.orgs[oi]);
    world.orgs[oi].subscriptions.push(sub);
    drop(world);
    shared
        .tasks
        .spawn(sender::run(shared.clone(), oi, id, wake));
    Ok(json)
}

fn find(world: &World, org: &str, id: &str) -> Result<(usize, usize), SimError> {
    let oi = world
        .org_index(org)
        .ok_or_else(|| SimError::UnknownOrg(org.to_string()))?;
    let si = world.orgs[oi]
        .subscriptions
        .iter()
        .position(|s| s.id.eq_ignore_ascii_case(id))
        .ok_or_else(|| SimError::UnknownSubscription(id.to_string()))?;
    Ok((oi, si))
}

/// PUT: replaces the inputs; `status: enabled` re-enables a subscription on probation or
/// disabled, `disabledByUser` disables it.
pub(crate) fn replace_subscription(
    shared: &Arc<Shared>,
    org: &str,
    id: &str,
    req: SubscriptionRequest,
) -> Result<Value, SimError> {
    req.validate().map_err(SimError::BadRequest)?;
    let mut world = shared.world();
    let (oi, si) = find(&world, org, id)?;
    let sub_id = world.orgs[oi].subscriptions[si].id.clone();
    let new_status = req.status;
    {
        let sub = &mut world.orgs[oi].subscriptions[si];
        if sub.request.event_type != req.event_type {
            return Err(SimError::BadRequest(
                "The event type of a subscription cannot be changed.".into(),
            ));
        }
        sub.request = SubscriptionRequest {
            status: None,
            ..req
        };
        sub.modified_date = Utc::now();
    }
    match new_status {
        Some(SubscriptionStatus::Enabled) => {
            world.orgs[oi].subscriptions[si].status = SubscriptionStatus::Enabled
        }
        Some(s) if s.is_disabled() => disable(
            &mut world,
            oi,
            &sub_id,
            s,
            "disabled by user",
            &shared.counters,
        ),
        _ => {}
    }
    let sub = &world.orgs[oi].subscriptions[si];
    sub.wake.notify_one();
    Ok(sub.to_json(&world.orgs[oi]))
}

pub(crate) fn delete_subscription(
    shared: &Arc<Shared>,
    org: &str,
    id: &str,
) -> Result<(), SimError> {
    let mut world = shared.world();
    let (oi, si) = find(&world, org, id)?;
    let sub = world.orgs[oi].subscriptions.remove(si);
    shared.counters.resolve(sub.queue.len() as u64);
    sub.wake.notify_one();
    Ok(())
}
