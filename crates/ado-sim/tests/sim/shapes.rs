//! Shape fidelity (acceptance 1): every hook payload the simulator sends has the structure of the
//! real samples of its event type and resource version (../shared/fixtures/ado-samples), and its
//! REST responses that of ../shared/fixtures/ado-rest-samples — key paths and JSON types, values
//! ignored, by the rules in `crate::sim_common::shape`.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::sim_common::fidelity::{
    check_hooks, field_pool, load_samples, rest_remap, updates_remap,
};
use crate::sim_common::rest_fidelity::{RestCase, check_rest_cases, no_remap};
use ado_sim::{self as sim, ActivitySpec, OrgSpec, SimConfig, SubscriptionRequest};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hook_payloads_have_the_real_sample_structure() {
    let Some(dir) = crate::sim_common::fixtures("ado-samples") else {
        return;
    };
    let samples = load_samples(&dir);
    let rest_dir = dir.parent().unwrap().join("ado-rest-samples");

    let rx = crate::sim_common::receiver().await;
    let config = SimConfig {
        seed: 42,
        orgs: vec![
            OrgSpec::services("contoso"),
            OrgSpec::server("DefaultCollection"),
        ],
        time_scale: 0.001,
        ..SimConfig::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = sim::start(config, listener).await.unwrap();
    for org in sim.orgs() {
        sim.subscribe_all(&org.name, &rx.url, Some(("ado", "secret")))
            .unwrap();
        for et in [
            "build.complete",
            "ms.vss-code.git-pullrequest-comment-event",
        ] {
            let req = SubscriptionRequest::webhook(et, &rx.url)
                .resource_version("1.0")
                .consumer_input("resourceDetailsToSend", "all")
                .consumer_input("messagesToSend", "all")
                .consumer_input("detailedMessagesToSend", "all");
            sim.create_subscription(&org.name, req).unwrap();
        }
    }
    sim.generate(&ActivitySpec::new(2500)).unwrap();
    sim.settle(Duration::from_secs(60)).await.unwrap();

    // Group what was delivered by (event type, resource version, style).
    let style_by_collection: BTreeMap<String, &'static str> = sim
        .orgs()
        .iter()
        .map(|o| {
            (
                o.collection_id.clone(),
                if o.style == sim::UrlStyle::Server {
                    "server"
                } else {
                    "services"
                },
            )
        })
        .collect();
    let mut delivered: BTreeMap<(String, String), Vec<(&'static str, Value)>> = BTreeMap::new();
    for r in rx.received() {
        let et = r.body["eventType"].as_str().unwrap().to_string();
        let rv = r.body["resourceVersion"].as_str().unwrap().to_string();
        let style = style_by_collection[r.body["resourceContainers"]["collection"]["id"]
            .as_str()
            .unwrap()];
        delivered.entry((et, rv)).or_default().push((style, r.body));
    }

    let mut problems = check_hooks(&samples, &rest_dir, &delivered);
    problems.sort();
    problems.dedup();
    assert!(
        problems.is_empty(),
        "{} shape problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_responses_have_the_real_sample_structure() {
    use crate::sim_common::Rest;
    let Some(dir) = crate::sim_common::fixtures("ado-rest-samples") else {
        return;
    };
    let rx = crate::sim_common::receiver().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = sim::start(
        SimConfig {
            seed: 9,
            time_scale: 0.001,
            ..SimConfig::default()
        },
        listener,
    )
    .await
    .unwrap();
    sim.generate(&ActivitySpec::new(1500)).unwrap();
    let org = sim.orgs().remove(0);
    let rest = Rest::new(&org.base_url, &sim.pat());
    let project = org.projects[0].0.clone();

    // Subscriptions created through the API, one of them driven onto probation and back.
    let create = crate::sim_common::read_json(&dir.join("hooks.subscriptions.create.request.json"));
    let mut body = create.clone();
    body["consumerInputs"] = serde_json::json!({ "url": rx.url, "basicAuthUsername": "ado", "basicAuthPassword": "secret" });
    body["publisherInputs"]["projectId"] = Value::String(project.clone());
    body["resourceVersion"] = Value::String("2.0".into());
    let (status, created) = rest
        .send(
            reqwest::Method::POST,
            "_apis/hooks/subscriptions?api-version=7.1",
            &body,
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let sub_id = created["id"].as_str().unwrap().to_string();
    let push_sub = sim
        .create_subscription(&org.name, SubscriptionRequest::webhook("git.push", &rx.url))
        .unwrap();
    rx.script(&[500]);
    sim.generate(&ActivitySpec {
        org: None,
        actions: 200,
        mix: sim::ActivityMix::only("git").unwrap(),
    })
    .unwrap();
    sim.set_time_scale(0.000_01);
    sim.settle(Duration::from_secs(30)).await.unwrap();
    assert!(
        sim.subscription(&org.name, &push_sub)
            .unwrap()
            .probation_retries
            > 0
    );

    let (repos, _) = rest.get(&format!("{project}/_apis/git/repositories")).await;
    let repo = repos["value"][0]["id"].as_str().unwrap().to_string();
    let (pushes, _) = rest
        .get(&format!(
            "{project}/_apis/git/repositories/{repo}/pushes?$top=1000"
        ))
        .await;
    let push_ids: Vec<u64> = pushes["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pushId"].as_u64().unwrap())
        .collect();
    let with_commits = push_ids[0];
    let (prs, _) = rest
        .get(&format!(
            "{project}/_apis/git/pullrequests?searchCriteria.status=all"
        ))
        .await;
    let (builds, _) = rest
        .get(&format!(
            "{project}/_apis/build/builds?statusFilter=completed"
        ))
        .await;
    let build_id = builds["value"][0]["id"].as_u64().unwrap();
    let (revs, _) = rest.get("_apis/wit/reporting/workitemrevisions").await;
    let wi_ids: Vec<u64> = revs["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_u64().unwrap())
        .collect();
    let (changesets, _) = rest.get("_apis/tfvc/changesets").await;
    let cs = changesets["value"][0]["changesetId"].as_u64().unwrap();

    let get = |paths: Vec<String>| {
        let rest = &rest;
        async move {
            let mut out = Vec::new();
            for p in paths {
                out.push(rest.get(&p).await.0);
            }
            out
        }
    };
    let pr_gets = get(prs["value"]
        .as_array()
        .unwrap()
        .iter()
        .take(12)
        .map(|p| format!("{project}/_apis/git/pullrequests/{}", p["pullRequestId"]))
        .collect())
    .await;
    let mut updates = Vec::new();
    for id in wi_ids.iter().take(30) {
        updates.push(
            rest.get(&format!("_apis/wit/workitems/{id}/updates"))
                .await
                .0,
        );
    }
    let batch_ids: Vec<u64> = wi_ids.iter().copied().take(3).collect();
    let (_, batch) = rest
        .send(reqwest::Method::POST, "_apis/wit/workitemsbatch", &serde_json::json!({"ids": batch_ids, "fields": ["System.Id", "System.Title", "System.WorkItemType", "Microsoft.VSTS.Scheduling.RemainingWork"]}))
        .await;
    let (_, posted_revs) = rest
        .send(reqwest::Method::POST, "_apis/wit/reporting/workitemrevisions?continuationToken=0", &serde_json::json!({"types": ["Bug", "Task"], "fields": ["System.WorkItemType", "System.Title", "System.AreaPath"], "includeIdentityRef": true}))
        .await;
    let watermark = revs["values"][0]["fields"]["System.Watermark"]
        .as_u64()
        .unwrap();

    let cases = vec![
        RestCase { name: "projects", kind: "project", samples: vec!["core.projects.list.json", "core.projects.list.2.json", "core.projects.list.3.json"], responses: vec![rest.get("_apis/projects").await.0], items: Some("value"), remap: no_remap },
        RestCase { name: "repositories", kind: "repository", samples: vec!["git.repositories.list.json", "git.repositories.list.2.json", "git.repositories.list.3.json"], responses: vec![repos.clone()], items: Some("value"), remap: no_remap },
        RestCase { name: "pushes", kind: "push", samples: vec!["git.pushes.list.fromDate-toDate.json", "git.pushes.list.top-skip.json"], responses: vec![pushes.clone()], items: Some("value"), remap: no_remap },
        RestCase { name: "pushes+refUpdates", kind: "push", samples: vec!["git.pushes.list.includeRefUpdates.json"], responses: vec![rest.get(&format!("{project}/_apis/git/repositories/{repo}/pushes?searchCriteria.includeRefUpdates=true")).await.0], items: Some("value"), remap: no_remap },
        RestCase { name: "push", kind: "push", samples: vec!["git.push.get.json"], responses: vec![rest.get(&format!("_apis/git/repositories/{repo}/pushes/{with_commits}")).await.0], items: None, remap: no_remap },
        RestCase { name: "push commits", kind: "commit", samples: vec!["git.commits.list.by-push.json"], responses: vec![rest.get(&format!("_apis/git/repositories/{repo}/pushes/{with_commits}/commits")).await.0], items: Some("value"), remap: no_remap },
        RestCase { name: "pull requests", kind: "pull request", samples: vec!["git.pullrequests.list.2.json", "git.pullrequests.list.by-project.json"], responses: vec![rest.get(&format!("{project}/_apis/git/pullrequests?searchCriteria.status=active")).await.0], items: Some("value"), remap: no_remap },
        RestCase { name: "completed pull requests", kind: "pull request", samples: vec!["git.pullrequests.list.status-completed.json"], responses: vec![rest.get(&format!("{project}/_apis/git/pullrequests?searchCriteria.status=completed")).await.0], items: Some("value"), remap: no_remap },
        RestCase { name: "pull request", kind: "pull request", samples: vec!["git.pullrequest.get.json", "git.pullrequest.get.2.json", "git.pullrequest.get.3.json"], responses: pr_gets, items: None, remap: no_remap },
        RestCase { name: "builds", kind: "build", samples: vec!["build.builds.list.json", "build.builds.list.2.json"], responses: vec![builds.clone()], items: Some("value"), remap: no_remap },
        RestCase { name: "build", kind: "build", samples: vec!["build.build.get.json"], responses: vec![rest.get(&format!("{project}/_apis/build/builds/{build_id}")).await.0], items: None, remap: no_remap },
        RestCase { name: "timeline", kind: "timeline record", samples: vec!["build.timeline.get.json"], responses: vec![rest.get(&format!("{project}/_apis/build/builds/{build_id}/timeline")).await.0], items: Some("records"), remap: no_remap },
        RestCase { name: "reporting revisions", kind: "revision", samples: vec!["wit.reporting.workitemrevisions.get.json"], responses: vec![revs.clone()], items: Some("values"), remap: rest_remap },
        RestCase { name: "reporting revisions (identity refs)", kind: "revision", samples: vec!["wit.reporting.workitemrevisions.get.watermark.json"], responses: vec![rest.get(&format!("_apis/wit/reporting/workitemrevisions?includeIdentityRef=true&continuationToken={watermark}")).await.0], items: Some("values"), remap: rest_remap },
        RestCase { name: "reporting revisions (POST)", kind: "revision", samples: vec!["wit.reporting.workitemrevisions.post.json"], responses: vec![posted_revs], items: Some("values"), remap: rest_remap },
        RestCase { name: "work items batch", kind: "work item", samples: vec!["wit.workitemsbatch.json"], responses: vec![batch], items: Some("value"), remap: rest_remap },
        RestCase { name: "work item updates", kind: "work item update", samples: vec!["wit.workitem.updates.list.json"], responses: updates, items: Some("value"), remap: updates_remap },
        RestCase { name: "changesets", kind: "changeset", samples: vec!["tfvc.changesets.list.fromId-toId.json", "tfvc.changesets.list.fromDate-toDate.json", "tfvc.changesets.list.top-skip.json"], responses: vec![changesets.clone()], items: Some("value"), remap: no_remap },
        RestCase { name: "changeset", kind: "changeset", samples: vec!["tfvc.changeset.get.json"], responses: vec![rest.get(&format!("_apis/tfvc/changesets/{cs}")).await.0], items: None, remap: no_remap },
        RestCase { name: "changeset changes", kind: "change", samples: vec!["tfvc.changeset.changes.json"], responses: vec![rest.get(&format!("_apis/tfvc/changesets/{cs}/changes")).await.0], items: Some("value"), remap: no_remap },
        RestCase { name: "subscriptions", kind: "subscription", samples: vec!["hooks.subscriptions.list.json", "hooks.subscriptions.list.2.json"], responses: vec![rest.get("_apis/hooks/subscriptions").await.0], items: Some("value"), remap: no_remap },
        RestCase { name: "subscription", kind: "subscription", samples: vec!["hooks.subscription.get.json"], responses: vec![rest.get(&format!("_apis/hooks/subscriptions/{sub_id}")).await.0, rest.get(&format!("_apis/hooks/subscriptions/{push_sub}")).await.0], items: None, remap: no_remap },
        RestCase { name: "subscription create", kind: "subscription", samples: vec!["hooks.subscriptions.create.response.json"], responses: vec![created], items: None, remap: no_remap },
    ];
    let hook_samples = load_samples(&dir.parent().unwrap().join("ado-samples"));
    let (_, field_types) = field_pool(&hook_samples, &dir);
    let mut problems = check_rest_cases(&dir, &cases, &field_types);
    problems.sort();
    problems.dedup();
    assert!(
        problems.is_empty(),
        "{} REST shape problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    sim.shutdown().await;
}
