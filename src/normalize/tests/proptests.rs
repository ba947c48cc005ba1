//! Property tests: arbitrary JSON and mutated real payloads through `parse_envelope` +
//! `normalize_hook` never panic, and whatever is accepted normalizes to a well-formed message.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::support::shared_sample;
use crate::normalize::{NormalizeOptions, normalize_hook, parse_envelope};

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[a-zA-Z0-9 <>@.:/_-]{0,24}".prop_map(Value::String),
        Just(json!("0000000000000000000000000000000000000000")),
        Just(json!("9999-01-01T00:00:00Z")),
    ];
    leaf.prop_recursive(8, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z_.]{1,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

const EVENT_TYPES: &[&str] = &[
    "git.push",
    "git.pullrequest.created",
    "git.pullrequest.updated",
    "git.pullrequest.merged",
    "ms.vss-code.git-pullrequest-comment-event",
    "build.complete",
    "ms.vss-pipelines.run-state-changed-event",
    "ms.vss-pipelines.stage-state-changed-event",
    "ms.vss-pipelines.job-state-changed-event",
    "ms.vss-pipelinechecks-events.approval-pending",
    "ms.vss-pipelinechecks-events.approval-completed",
    "ms.vss-release.deployment-started-event",
    "ms.vss-release.deployment-completed-event",
    "tfvc.checkin",
    "workitem.created",
    "workitem.updated",
    "workitem.deleted",
    "workitem.restored",
    "workitem.commented",
    "something.else",
];

fn check(body: &[u8]) {
    if let Ok(env) = parse_envelope(body) {
        let ev = normalize_hook(&env, &NormalizeOptions::default());
        let msg: Value = serde_json::from_slice(&ev.body).expect("body is JSON");
        assert_eq!(msg["id"], ev.id.as_str());
        assert_eq!(msg["type"], ev.event_type.as_str());
        assert!(msg["data"].is_object());
        let (org, rest) = ev.routing_key.split_once('.').expect("org segment");
        let (project, ty) = rest.split_once('.').expect("project segment");
        assert_eq!(ty, ev.event_type);
        let slug_ok = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        };
        assert!(
            slug_ok(org) && slug_ok(project),
            "bad routing key {}",
            ev.routing_key
        );
        assert!(crate::normalize::NORMALIZED_TYPES.contains(&ty));
    }
}

/// Mutates `v` at a pseudo-random path chosen by `choices`: drop a key, change a type, or nest deeply.
fn mutate(v: &mut Value, choices: &[u8], replacement: &Value) {
    let mut cur = v;
    for (i, c) in choices.iter().enumerate() {
        let last = i + 1 == choices.len();
        let next_key = match cur {
            Value::Object(m) if !m.is_empty() => m.keys().nth(*c as usize % m.len()).cloned(),
            _ => None,
        };
        let idx = match cur {
            Value::Array(a) if !a.is_empty() => Some(*c as usize % a.len()),
            _ => None,
        };
        match (next_key, idx) {
            (Some(k), _) if last || c % 5 == 0 => {
                let m = cur.as_object_mut().expect("object");
                match c % 3 {
                    0 => {
                        m.remove(&k);
                    }
                    1 => {
                        m.insert(k, replacement.clone());
                    }
                    _ => {
                        let mut deep = replacement.clone();
                        for _ in 0..40 {
                            deep = json!({ "x": [deep] });
                        }
                        m.insert(k, deep);
                    }
                }
                return;
            }
            (Some(k), _) => cur = cur.get_mut(&k).expect("key exists"),
            (None, Some(i)) => cur = &mut cur[i],
            _ => {
                *cur = replacement.clone();
                return;
            }
        }
    }
}

fn samples() -> Vec<Value> {
    let names = [
        "git.push.2.json",
        "git.pullrequest.updated.json",
        "ms.vss-code.git-pullrequest-comment-event.json",
        "ms.vss-code.git-pullrequest-comment-event.3.json",
        "build.complete.json",
        "build.complete.3.json",
        "ms.vss-pipelines.job-state-changed-event.json",
        "ms.vss-pipelinechecks-events.approval-pending.json",
        "ms.vss-release.deployment-completed-event.json",
        "tfvc.checkin.2.json",
        "workitem.updated.2.json",
        "workitem.updated.3.json",
        "workitem.commented.2.json",
    ];
    names
        .iter()
        .filter_map(|n| shared_sample(n))
        .map(|b| serde_json::from_slice(&b).expect("fixture JSON"))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, max_shrink_iters: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_json_never_panics(v in arb_json()) {
        check(&serde_json::to_vec(&v).unwrap());
    }

    #[test]
    fn arbitrary_resources_of_every_type_never_panic(
        ty in prop::sample::select(EVENT_TYPES),
        rv in prop::option::of(prop::sample::select(&["1.0", "2.0", "5.1-preview.1"][..])),
        resource in arb_json(),
        containers in arb_json(),
    ) {
        let env = json!({
            "id": "e1", "eventType": ty, "publisherId": "tfs", "resourceVersion": rv,
            "resource": resource, "resourceContainers": containers, "createdDate": "2024-01-01T00:00:00Z",
        });
        check(&serde_json::to_vec(&env).unwrap());
    }

    #[test]
    fn mutated_real_payloads_never_panic(
        which in any::<prop::sample::Index>(),
        mutations in prop::collection::vec((prop::collection::vec(any::<u8>(), 1..8), arb_json()), 1..6),
    ) {
        let samples = samples();
        prop_assume!(!samples.is_empty());
        let mut v = samples[which.index(samples.len())].clone();
        for (path, replacement) in &mutations {
            mutate(&mut v, path, replacement);
        }
        check(&serde_json::to_vec(&v).unwrap());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check(&bytes);
    }
}
