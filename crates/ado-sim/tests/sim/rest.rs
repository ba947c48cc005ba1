//! REST behaviour (acceptance 3): PAT auth, both URL styles, paging that returns everything
//! exactly once (continuation tokens and `$top`/`$skip`), time and id filters that return exactly
//! the matching objects (checked against the ground truth), the rate limit (429 + Retry-After) and
//! injected 5xx.

use std::collections::BTreeSet;
use std::time::Duration;

use ado_sim::{self as sim, ActivitySpec, OrgSpec, RateLimit, RestFaults, SimConfig, Simulator};
use ado_testkit::sim::{services_and_server, start_sim};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::sim_common::Rest;

async fn start(seed: u64, actions: usize) -> (Simulator, Rest) {
    let sim = start_sim(services_and_server(seed)).await;
    sim.generate(&ActivitySpec {
        org: Some("contoso".into()),
        ..ActivitySpec::new(actions)
    })
    .unwrap();
    let rest = Rest::new(&sim.orgs()[0].base_url, &sim.pat());
    (sim, rest)
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

/// Ground-truth hook resources of one event type in one collection.
fn truth_resources(sim: &Simulator, org: &str, event_type: &str) -> Vec<Value> {
    sim.truth()
        .iter()
        .filter(|t| t.org == org && t.event_type == event_type)
        .map(|t| t.canonical_payload()["resource"].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pat_auth_and_both_url_styles() {
    let (sim, rest) = start(3, 50).await;
    let url = format!("{}_apis/projects", rest.base);
    let anonymous = rest.http.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.headers().contains_key("www-authenticate"));
    let wrong = rest
        .http
        .get(&url)
        .header("authorization", crate::sim_common::basic("nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let with_user = rest
        .http
        .get(&url)
        .basic_auth("anyone", Some(sim.pat()))
        .send()
        .await
        .unwrap();
    assert_eq!(with_user.status(), 200);

    let server = sim.org("DefaultCollection").unwrap();
    assert!(
        server.base_url.ends_with("/tfs/DefaultCollection/"),
        "{}",
        server.base_url
    );
    let srest = Rest::new(&server.base_url, &sim.pat());
    let (cd, _) = srest.get("_apis/connectionData").await;
    assert_eq!(cd["instanceId"], server.collection_id.as_str());
    assert_eq!(cd["deploymentType"], "onPremises");
    let (cd, _) = rest.get("_apis/connectionData").await;
    assert_eq!(cd["deploymentType"], "hosted");
    // A Server collection is not reachable with the Services URL shape, nor the reverse.
    let host = format!("http://{}/", sim.addr());
    assert_eq!(
        Rest::new(&format!("{host}DefaultCollection/"), &sim.pat())
            .get_raw("_apis/projects")
            .await
            .status(),
        404
    );
    assert_eq!(
        Rest::new(&format!("{host}tfs/contoso/"), &sim.pat())
            .get_raw("_apis/projects")
            .await
            .status(),
        404
    );
    // Project by name (URL-encoded) or id.
    let (name, id) = (server.projects[0].1.clone(), server.projects[0].0.clone());
    let (by_name, _) = srest
        .get(&format!(
            "{}/_apis/git/repositories",
            name.replace(' ', "%20")
        ))
        .await;
    let (by_id, _) = srest.get(&format!("{id}/_apis/git/repositories")).await;
    assert_eq!(by_name, by_id);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builds_page_by_continuation_token_exactly_once_with_time_filters() {
    let (sim, rest) = start(11, 1200).await;
    let org = sim.org("contoso").unwrap();
    let project = &org.projects[0].0;
    let completed: Vec<Value> = truth_resources(&sim, "contoso", "build.complete")
        .into_iter()
        .filter(|b| b["project"]["id"] == project.as_str())
        .collect();
    assert!(
        completed.len() > 10,
        "need enough builds, got {}",
        completed.len()
    );
    let mut finishes: Vec<DateTime<Utc>> =
        completed.iter().map(|b| time(&b["finishTime"])).collect();
    finishes.sort();
    let min = finishes[finishes.len() / 5];
    let expected = |sim: &Simulator| -> BTreeSet<u64> {
        truth_resources(sim, "contoso", "build.complete")
            .iter()
            .filter(|b| b["project"]["id"] == project.as_str() && time(&b["finishTime"]) >= min)
            .map(|b| b["id"].as_u64().unwrap())
            .collect()
    };
    let before = expected(&sim);

    let mut seen = Vec::new();
    let mut last: Option<DateTime<Utc>> = None;
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut path = format!(
            "{project}/_apis/build/builds?statusFilter=completed&queryOrder=finishTimeAscending&minTime={}&$top=3",
            min.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                .replace('+', "%2B")
        );
        if let Some(t) = &token {
            path.push_str(&format!("&continuationToken={t}"));
        }
        let (page, next) = rest.get(&path).await;
        pages += 1;
        for b in page["value"].as_array().unwrap() {
            let t = time(&b["finishTime"]);
            assert!(last.is_none_or(|l| t >= l), "finishTimeAscending order");
            last = Some(t);
            seen.push(b["id"].as_u64().unwrap());
        }
        match next {
            Some(t) => token = Some(t),
            None => break,
        }
        if pages == 1 {
            // Builds finishing while a client pages are picked up once, not skipped or repeated.
            sim.generate(&ActivitySpec {
                org: Some("contoso".into()),
                mix: sim::ActivityMix::only("builds").unwrap(),
                actions: 150,
            })
            .unwrap();
        }
    }
    let expected = expected(&sim);
    assert!(
        expected.len() > before.len(),
        "more builds finished while paging"
    );
    assert!(
        pages > 2,
        "pages {pages}, seen {seen:?}, expected {expected:?}"
    );
    let unique: BTreeSet<u64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "no build twice");
    assert_eq!(
        unique, expected,
        "exactly the completed builds that finished at or after minTime"
    );
    let bad = rest
        .get_raw(&format!(
            "{project}/_apis/build/builds?continuationToken=nope"
        ))
        .await;
    assert_eq!(bad.status(), 400);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_pull_requests_and_changesets_page_with_top_skip_and_filter_exactly() {
    let (sim, rest) = start(12, 900).await;
    let org = sim.org("contoso").unwrap();
    let (repo, _, project) = org.repositories[0].clone();

    // Pushes of one repository, $top/$skip, newest first.
    let expected: Vec<u64> = {
        let mut v: Vec<u64> = truth_resources(&sim, "contoso", "git.push")
            .iter()
            .filter(|p| p["repository"]["id"] == repo.as_str())
            .map(|p| p["pushId"].as_u64().unwrap())
            .collect();
        v.reverse();
        v
    };
    let got = rest
        .ids_paged(
            &format!("_apis/git/repositories/{repo}/pushes?"),
            3,
            "pushId",
        )
        .await;
    assert_eq!(
        got, expected,
        "every push of the repository once, newest first"
    );
    let pushes = truth_resources(&sim, "contoso", "git.push");
    let dates: Vec<DateTime<Utc>> = pushes
        .iter()
        .filter(|p| p["repository"]["id"] == repo.as_str())
        .map(|p| time(&p["date"]))
        .collect();
    let (from, to) = (dates[dates.len() / 4], dates[dates.len() * 3 / 4]);
    let want: BTreeSet<u64> = pushes
        .iter()
        .filter(|p| {
            p["repository"]["id"] == repo.as_str()
                && time(&p["date"]) >= from
                && time(&p["date"]) < to
        })
        .map(|p| p["pushId"].as_u64().unwrap())
        .collect();
    let fmt = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let (page, _) = rest
        .get(&format!("_apis/git/repositories/{repo}/pushes?searchCriteria.fromDate={}&searchCriteria.toDate={}&$top=1000", fmt(from), fmt(to)))
        .await;
    let got: BTreeSet<u64> = page["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pushId"].as_u64().unwrap())
        .collect();
    assert_eq!(got, want, "fromDate inclusive, toDate exclusive");

    // Pull requests: status=all pages over every PR of the project once; created/closed windows.
    let created: Vec<Value> = truth_resources(&sim, "contoso", "git.pullrequest.created")
        .into_iter()
        .filter(|p| p["repository"]["project"]["id"] == project.as_str())
        .collect();
    assert!(created.len() > 5);
    let all = rest
        .ids_paged(
            &format!("{project}/_apis/git/pullrequests?searchCriteria.status=all"),
            4,
            "pullRequestId",
        )
        .await;
    let all_set: BTreeSet<u64> = all.iter().copied().collect();
    assert_eq!(all.len(), all_set.len());
    assert_eq!(
        all_set,
        created
            .iter()
            .map(|p| p["pullRequestId"].as_u64().unwrap())
            .collect()
    );
    let mut times: Vec<DateTime<Utc>> = created.iter().map(|p| time(&p["creationDate"])).collect();
    times.sort();
    let min = times[times.len() / 2];
    let want: BTreeSet<u64> = created
        .iter()
        .filter(|p| time(&p["creationDate"]) >= min)
        .map(|p| p["pullRequestId"].as_u64().unwrap())
        .collect();
    let (page, _) = rest.get(&format!("{project}/_apis/git/pullrequests?searchCriteria.status=all&searchCriteria.minTime={}&$top=1000", fmt(min))).await;
    let got: BTreeSet<u64> = page["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pullRequestId"].as_u64().unwrap())
        .collect();
    assert_eq!(got, want, "created since minTime");
    let closed: BTreeSet<u64> = truth_resources(&sim, "contoso", "git.pullrequest.updated")
        .iter()
        .filter(|p| {
            p["repository"]["project"]["id"] == project.as_str() && p["closedDate"].is_string()
        })
        .map(|p| p["pullRequestId"].as_u64().unwrap())
        .collect();
    let (page, _) = rest
        .get(&format!("{project}/_apis/git/pullrequests?searchCriteria.status=all&searchCriteria.queryTimeRangeType=closed&searchCriteria.minTime=2000-01-01T00:00:00Z&$top=1000"))
        .await;
    let got: BTreeSet<u64> = page["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pullRequestId"].as_u64().unwrap())
        .collect();
    assert_eq!(
        got, closed,
        "closed window = every completed or abandoned PR"
    );
    let (active, _) = rest.get(&format!("{project}/_apis/git/pullrequests")).await;
    assert!(
        active["value"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["status"] == "active"),
        "status defaults to active"
    );

    // TFVC: fromId + ascending order + $top/$skip.
    let ids: Vec<u64> = truth_resources(&sim, "contoso", "tfvc.checkin")
        .iter()
        .map(|c| c["changesetId"].as_u64().unwrap())
        .collect();
    let from_id = ids[ids.len() / 2];
    let want: Vec<u64> = ids.iter().copied().filter(|i| *i >= from_id).collect();
    let got = rest
        .ids_paged(
            &format!("_apis/tfvc/changesets?searchCriteria.fromId={from_id}&$orderby=id%20asc"),
            2,
            "changesetId",
        )
        .await;
    assert_eq!(got, want);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reporting_revisions_continue_from_a_stored_token_exactly_once() {
    let (sim, rest) = start(13, 600).await;
    let expected = |sim: &Simulator| -> BTreeSet<(u64, u64)> {
        sim.truth()
            .iter()
            .filter(|t| {
                t.org == "contoso"
                    && matches!(t.event_type, "workitem.created" | "workitem.updated")
            })
            .filter(|t| !t.identity.contains_key("updateId"))
            .map(|t| {
                (
                    t.identity["workItemId"].as_u64().unwrap(),
                    t.identity["rev"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let read_all = |token: String| {
        let rest = &rest;
        async move {
            let mut rows = Vec::new();
            let mut token = token;
            let mut batches = 0;
            loop {
                let (page, _) = rest.get(&format!("_apis/wit/reporting/workitemrevisions?includeDeleted=true&$maxPageSize=7&continuationToken={token}")).await;
                batches += 1;
                for r in page["values"].as_array().unwrap() {
                    rows.push((r["id"].as_u64().unwrap(), r["rev"].as_u64().unwrap()));
                }
                token = page["continuationToken"].as_str().unwrap().to_string();
                if page["isLastBatch"] == true {
                    break;
                }
            }
            (rows, token, batches)
        }
    };
    let (rows, token, batches) = read_all("0".into()).await;
    assert!(batches > 3);
    let set: BTreeSet<(u64, u64)> = rows.iter().copied().collect();
    assert_eq!(set.len(), rows.len(), "no revision twice");
    assert_eq!(set, expected(&sim));

    // Resume from the stored token after more activity: exactly the new revisions.
    let before = expected(&sim);
    sim.generate(&ActivitySpec {
        org: Some("contoso".into()),
        mix: sim::ActivityMix::only("wit").unwrap(),
        actions: 40,
    })
    .unwrap();
    let (rows, _, _) = read_all(token.clone()).await;
    let new: BTreeSet<(u64, u64)> = expected(&sim).difference(&before).copied().collect();
    assert!(!new.is_empty());
    assert_eq!(rows.iter().copied().collect::<BTreeSet<_>>(), new);
    assert_eq!(rows.len(), new.len());
    // Without includeDeleted, deleted items are left out.
    let (page, _) = rest
        .get("_apis/wit/reporting/workitemrevisions?$maxPageSize=1000")
        .await;
    let deleted: BTreeSet<u64> = rest
        .get(&format!(
            "{}/_apis/wit/recyclebin",
            sim.orgs()[0].projects[0].0
        ))
        .await
        .0["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_u64().unwrap())
        .collect();
    assert!(
        page["values"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| !deleted.contains(&r["id"].as_u64().unwrap()))
    );
    // `recyclebin?ids=` answers many items at once: who deleted each and when, as
    // `recyclebin/{id}` does, without the item; an id not in the bin gets code 404.
    assert!(!deleted.is_empty());
    let project = &sim.orgs()[0].projects[0].0;
    let ids: Vec<String> = deleted.iter().map(u64::to_string).collect();
    let (refs, _) = rest
        .get(&format!(
            "{project}/_apis/wit/recyclebin?ids={},999999",
            ids.join(",")
        ))
        .await;
    let refs = refs["value"].as_array().unwrap();
    assert_eq!(refs.len(), deleted.len() + 1);
    for (r, id) in refs.iter().zip(&deleted) {
        let (one, _) = rest
            .get(&format!("{project}/_apis/wit/recyclebin/{id}"))
            .await;
        assert_eq!(r["id"], *id);
        assert_eq!(r["code"], 200);
        for key in ["deletedDate", "deletedBy", "name", "project", "type", "url"] {
            assert_eq!(r[key], one[key], "{key} of {id}");
        }
        assert!(r.get("resource").is_none());
    }
    assert_eq!(refs[deleted.len()]["code"], 404);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_budget_requests_are_delayed_then_blocked_with_retry_after() {
    let (sim, rest) = start(14, 10).await;
    sim.set_rate_limit(Some(RateLimit {
        budget: 10.0,
        block_at: 1.5,
        delay_per_unit: Duration::from_millis(20),
        ..RateLimit::default()
    }));
    let mut statuses = Vec::new();
    let mut saw_remaining = false;
    let mut saw_delay = false;
    for _ in 0..16 {
        let started = std::time::Instant::now();
        let resp = rest.get_raw("_apis/projects").await;
        let h = resp.headers().clone();
        saw_remaining |= h.contains_key("x-ratelimit-remaining")
            && h.contains_key("x-ratelimit-limit")
            && h.contains_key("x-ratelimit-reset");
        if h.contains_key("x-ratelimit-delay") {
            saw_delay = true;
            assert!(
                started.elapsed() >= Duration::from_millis(15),
                "a delayed request is actually delayed"
            );
        }
        if resp.status() == 429 {
            let retry: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
            assert!(retry >= 1);
            let body: Value = resp.json().await.unwrap();
            assert!(body["message"].as_str().unwrap().starts_with("TF400733"));
            statuses.push(429);
        } else {
            statuses.push(resp.status().as_u16());
        }
    }
    assert!(saw_remaining && saw_delay);
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        15,
        "{statuses:?}"
    );
    assert_eq!(statuses.last(), Some(&429));
    sim.set_rate_limit(None);
    assert_eq!(rest.get_raw("_apis/projects").await.status(), 200);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_5xx_and_error_shapes() {
    let (sim, rest) = start(15, 20).await;
    sim.set_rest_faults(RestFaults {
        fail_next: 2,
        error_status: 503,
        ..RestFaults::default()
    });
    for _ in 0..2 {
        let r = rest.get_raw("_apis/projects").await;
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()["retry-after"], "1");
    }
    assert_eq!(rest.get_raw("_apis/projects").await.status(), 200);
    sim.set_rest_faults(RestFaults {
        error_rate: 1.0,
        error_status: 500,
        ..RestFaults::default()
    });
    assert_eq!(rest.get_raw("_apis/projects").await.status(), 500);
    sim.set_rest_faults(RestFaults::default());

    // Errors carry Azure DevOps' error body.
    let r = rest.get_raw("_apis/git/repositories/nope").await;
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().starts_with("TF401019"));
    assert!(body["typeKey"].is_string());
    let (status, _) = rest
        .send(
            reqwest::Method::POST,
            "_apis/wit/workitemsbatch",
            &json!({"ids": [999_999]}),
        )
        .await;
    assert_eq!(status, 404);
    let (status, omitted) = rest
        .send(
            reqwest::Method::POST,
            "_apis/wit/workitemsbatch",
            &json!({"ids": [999_999], "errorPolicy": "omit"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(omitted["value"], json!([null]));
    let (status, _) = rest.send(reqwest::Method::POST, "_apis/hooks/subscriptions", &json!({"publisherId": "tfs", "eventType": "git.push", "consumerId": "webHooks", "consumerActionId": "httpRequest", "consumerInputs": {"url": "ftp://x"}})).await;
    assert_eq!(status, 400);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_are_managed_through_the_api() {
    let (sim, rest) = start(16, 5).await;
    let rx = crate::sim_common::receiver().await;
    let mut ids = Vec::new();
    for et in ["git.push", "build.complete", "workitem.updated"] {
        let body = json!({
            "publisherId": "tfs", "eventType": et, "resourceVersion": if et == "build.complete" { "2.0" } else { "1.0" },
            "consumerId": "webHooks", "consumerActionId": "httpRequest",
            "publisherInputs": {"projectId": sim.orgs()[0].projects[0].0},
            "consumerInputs": {"url": rx.url, "basicAuthUsername": "u", "basicAuthPassword": "p"}
        });
        let (status, created) = rest
            .send(
                reqwest::Method::POST,
                "_apis/hooks/subscriptions?api-version=7.1",
                &body,
            )
            .await;
        assert_eq!(status, 200, "{created}");
        assert_eq!(
            created["consumerInputs"]["basicAuthPassword"], "********",
            "confidential inputs are masked"
        );
        assert_eq!(created["status"], "enabled");
        ids.push(created["id"].as_str().unwrap().to_string());
    }
    let (all, _) = rest.get("_apis/hooks/subscriptions").await;
    assert_eq!(all["count"], 3);
    let (filtered, _) = rest
        .get("_apis/hooks/subscriptions?eventType=build.complete&consumerId=webHooks")
        .await;
    assert_eq!(filtered["count"], 1);
    assert_eq!(filtered["value"][0]["id"], ids[1].as_str());
    let r = rest
        .http
        .delete(format!("{}_apis/hooks/subscriptions/{}", rest.base, ids[0]))
        .header("authorization", crate::sim_common::basic(&sim.pat()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        rest.get_raw(&format!("_apis/hooks/subscriptions/{}", ids[0]))
            .await
            .status(),
        404
    );
    // Project-filtered subscriptions only get that project's events.
    sim.generate(&ActivitySpec::new(300)).unwrap();
    sim.settle(Duration::from_secs(20)).await.unwrap();
    let project = sim.orgs()[0].projects[0].0.clone();
    let got = rx.received();
    assert!(!got.is_empty());
    assert!(
        got.iter()
            .all(|r| r.body["resourceContainers"]["project"]["id"] == project.as_str())
    );
    assert!(
        got.iter().all(|r| r.body["eventType"] != "git.push"),
        "the deleted subscription gets nothing"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sim_command_serves_an_organization_and_sends_hooks() {
    use clap::Parser;
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        sim: ado_sim::cli::SimArgs,
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let rx = crate::sim_common::receiver().await;
    let listen = format!("127.0.0.1:{port}");
    let cli = Cli::parse_from([
        "sim",
        "--listen",
        &listen,
        "--org",
        "Fabrikam",
        "--style",
        "server",
        "--pat",
        "p4t",
        "--rate",
        "200",
        "--actions",
        "30",
        "--hook-url",
        &rx.url,
        "--hook-password",
        "pw",
        "--time-scale",
        "0.001",
    ]);
    let stop = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(ado_sim::cli::run_sim_until(cli.sim, stop.clone()));
    let rest = Rest::new(&format!("http://{listen}/tfs/Fabrikam/"), "p4t");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while rx.received().len() < 10 {
        assert!(
            std::time::Instant::now() < deadline,
            "the sim command sent {} hooks",
            rx.received().len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (cd, _) = rest.get("_apis/connectionData").await;
    assert_eq!(cd["deploymentType"], "onPremises");
    let got = rx.received();
    assert!(
        got.iter()
            .all(|r| r.headers["authorization"] == "Basic YWRvOnB3"),
        "Basic ado:pw"
    );
    assert!(got.iter().all(|r| {
        r.body["resourceContainers"]["server"]["baseUrl"]
            .as_str()
            .unwrap()
            .ends_with("/tfs/")
    }));
    stop.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_versions_above_the_server_are_out_of_range() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let legacy = OrgSpec {
        api_version: "6.0".into(),
        ..OrgSpec::server("Legacy")
    };
    let sim = sim::start(
        SimConfig {
            seed: 17,
            orgs: vec![legacy],
            ..SimConfig::default()
        },
        listener,
    )
    .await
    .unwrap();
    sim.generate(&ActivitySpec::new(300)).unwrap();
    let rest = Rest::new(&sim.orgs()[0].base_url, &sim.pat());
    let r = rest.get_raw("_apis/projects?$top=1&api-version=7.1").await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    let msg = body["message"].as_str().unwrap();
    assert!(
        msg.contains("out of range") && msg.contains("supports is 6.0"),
        "{msg}"
    );
    assert_eq!(
        rest.get_raw("_apis/projects?$top=1&api-version=6.0")
            .await
            .status(),
        200
    );
    assert_eq!(
        rest.get_raw("_apis/projects?api-version=5.1-preview.1")
            .await
            .status(),
        200
    );
    assert_eq!(
        rest.get_raw("_apis/projects?api-version=banana")
            .await
            .status(),
        400
    );
    // PR time-range criteria are a 7.1 feature: a 6.0 server ignores them.
    let project = &sim.orgs()[0].projects[0].0;
    let all = rest
        .get(&format!(
            "{project}/_apis/git/pullrequests?searchCriteria.status=all&$top=1000&api-version=6.0"
        ))
        .await
        .0;
    let windowed = rest
        .get(&format!("{project}/_apis/git/pullrequests?searchCriteria.status=all&searchCriteria.minTime=2999-01-01T00:00:00Z&$top=1000&api-version=6.0"))
        .await
        .0;
    assert!(all["count"].as_u64().unwrap() > 0);
    assert_eq!(all, windowed);
    sim.shutdown().await;
}
