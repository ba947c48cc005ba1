//! The seeded activity generator: each action is one step in the life of an object (a push, a
//! pull request vote, the next stage of a pipeline run, a work item save …). Actions mutate the
//! organization and emit the hook events that step raises; the simulator records each event in
//! the ground truth and fans it out to subscriptions.

mod build;
mod git;
mod pr;
mod tfvc;
mod wit;
mod wit_revisions;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::clock::SimClock;
use super::event::event_kind;
use super::hooks::NewEvent;
use super::ids::SimRng;
use super::model::Org;

/// Relative weights of the kinds of activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityMix {
    /// Plain pushes, branch creation/deletion, multi-ref pushes.
    pub git: u32,
    /// Pull request steps (create, vote, source push, merge attempt, comment, complete, abandon).
    pub pull_requests: u32,
    /// Build / pipeline run steps (stages, jobs, approvals, completion, release deployments).
    pub builds: u32,
    /// TFVC check-ins.
    pub tfvc: u32,
    /// Work item steps (create, field/state updates, comments, links, delete, restore).
    pub work_items: u32,
}

impl Default for ActivityMix {
    fn default() -> Self {
        Self {
            git: 15,
            pull_requests: 25,
            builds: 30,
            tfvc: 5,
            work_items: 25,
        }
    }
}

impl ActivityMix {
    /// Only one kind of activity.
    pub fn only(kind: &str) -> Option<Self> {
        let zero = Self {
            git: 0,
            pull_requests: 0,
            builds: 0,
            tfvc: 0,
            work_items: 0,
        };
        Some(match kind {
            "git" => Self { git: 1, ..zero },
            "pull_requests" | "prs" => Self {
                pull_requests: 1,
                ..zero
            },
            "builds" => Self { builds: 1, ..zero },
            "tfvc" => Self { tfvc: 1, ..zero },
            "work_items" | "wit" => Self {
                work_items: 1,
                ..zero
            },
            _ => return None,
        })
    }
}

/// What [`crate::Simulator::generate`] should do.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActivitySpec {
    /// Number of actions (each raises one or more changes).
    pub actions: usize,
    pub mix: ActivityMix,
    /// Organization to act in; `None` spreads actions over all organizations.
    pub org: Option<String>,
}

impl ActivitySpec {
    pub fn new(actions: usize) -> Self {
        Self {
            actions,
            mix: ActivityMix::default(),
            org: None,
        }
    }
}

/// The generator's view of one organization during one action.
pub(crate) struct Gen<'a> {
    pub org: &'a mut Org,
    pub rng: &'a mut SimRng,
    pub clock: &'a mut SimClock,
    pub events: Vec<(NewEvent, DateTime<Utc>)>,
}

impl Gen<'_> {
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Moves time a little forward within the action and returns it.
    pub fn later(&mut self) -> DateTime<Utc> {
        let ms = self.rng.between(200, 20_000);
        self.clock.tick(ms)
    }

    pub fn person(&mut self) -> usize {
        self.rng.index(self.org.people.len())
    }

    /// A person other than `not`.
    pub fn other_person(&mut self, not: usize) -> usize {
        let n = self.org.people.len();
        (not + 1 + self.rng.index(n.saturating_sub(1).max(1))) % n
    }

    /// Records an event raised now (Server collections do not raise Services-only events).
    pub fn emit(&mut self, ev: NewEvent) {
        let supported =
            event_kind(ev.event_type).is_some_and(|k| k.on_server || !self.org.is_server());
        if supported {
            let at = self.clock.tick(self.rng.between(5, 900));
            self.events.push((ev, at));
        }
    }
}

/// Performs one action chosen by the mix; returns its name.
pub(crate) fn run_action(g: &mut Gen<'_>, mix: &ActivityMix) -> &'static str {
    let secs = g.rng.between(1, 120);
    g.clock.advance(secs);
    let weights = [
        mix.git,
        mix.pull_requests,
        mix.builds,
        mix.tfvc,
        mix.work_items,
    ];
    match g.rng.weighted(&weights) {
        0 => git::action(g),
        1 => pr::action(g),
        2 => build::action(g),
        3 => tfvc::action(g),
        _ => wit::action(g),
    }
}
