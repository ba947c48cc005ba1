//! Unit tests of backfill request validation and job records.

use chrono::{TimeZone, Utc};

use super::record::{is_job_id, new_job_id};
use super::*;
use crate::config::{OrganizationConfig, Stream};

fn orgs() -> Vec<OrganizationConfig> {
    let mut fabrikam = OrganizationConfig::with_pat("https://dev.azure.com/Fabrikam", "pat");
    fabrikam.streams = vec![Stream::Git, Stream::WorkItems];
    let mut server =
        OrganizationConfig::with_pat("https://tfs.example.com/tfs/DefaultCollection", "pat");
    server.name = Some("onprem".into());
    vec![fabrikam, server]
}

fn request(org: &str, since: &str) -> BackfillRequest {
    BackfillRequest {
        organization: org.into(),
        since: since.into(),
        ..BackfillRequest::default()
    }
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap()
}

#[test]
fn organization_is_found_by_name_or_url_and_named_canonically() {
    let orgs = orgs();
    for given in [
        "fabrikam",
        "FABRIKAM",
        "https://dev.azure.com/Fabrikam",
        "https://DEV.azure.com/fabrikam/",
    ] {
        let spec = request(given, "2025-05-01T00:00:00Z")
            .resolve(&orgs, now())
            .unwrap_or_else(|e| panic!("{given}: {e}"));
        assert_eq!(spec.organization, "fabrikam");
        // Empty streams = the organization's configured streams, listed explicitly.
        assert_eq!(spec.streams, vec![Stream::Git, Stream::WorkItems]);
        assert_eq!(
            spec.since,
            Utc.with_ymd_and_hms(2025, 5, 1, 0, 0, 0).unwrap()
        );
        assert_eq!(spec.until, None);
    }
    let spec = request(
        "https://tfs.example.com/tfs/DefaultCollection/",
        "2025-05-01T02:00:00+02:00",
    )
    .resolve(&orgs, now())
    .unwrap();
    assert_eq!(spec.organization, "onprem");
    assert_eq!(
        spec.since,
        Utc.with_ymd_and_hms(2025, 5, 1, 0, 0, 0).unwrap()
    );
}

#[test]
fn unknown_organization_lists_the_configured_ones() {
    let e = request("contoso", "2025-05-01T00:00:00Z")
        .resolve(&orgs(), now())
        .unwrap_err();
    assert!(matches!(e, RequestError::UnknownOrganization { .. }));
    let text = e.to_string();
    assert!(
        text.contains("contoso") && text.contains("fabrikam, onprem"),
        "{text}"
    );
    let e = request("contoso", "2025-05-01T00:00:00Z")
        .resolve(&[], now())
        .unwrap_err();
    assert!(
        e.to_string().contains("no organizations are configured"),
        "{e}"
    );
}

#[test]
fn times_must_be_rfc3339_and_the_window_not_empty() {
    let orgs = orgs();
    for bad in ["yesterday", "2025-05-01", "2025-05-01 00:00:00", ""] {
        let e = request("fabrikam", bad).resolve(&orgs, now()).unwrap_err();
        assert_eq!(
            e,
            RequestError::BadTimestamp {
                field: "since",
                value: bad.into()
            },
            "{bad}"
        );
    }
    let mut r = request("fabrikam", "2025-05-01T00:00:00Z");
    r.until = Some("2025-05-01T00:00:00Z".into());
    assert!(matches!(
        r.resolve(&orgs, now()),
        Err(RequestError::EmptyWindow { .. })
    ));
    r.until = Some("2025-04-30T00:00:00Z".into());
    assert!(matches!(
        r.resolve(&orgs, now()),
        Err(RequestError::EmptyWindow { .. })
    ));
    r.until = Some("soon".into());
    assert!(matches!(
        r.resolve(&orgs, now()),
        Err(RequestError::BadTimestamp { field: "until", .. })
    ));
    r.until = Some("2025-05-02T00:00:00Z".into());
    assert_eq!(
        r.resolve(&orgs, now()).unwrap().until,
        Some(Utc.with_ymd_and_hms(2025, 5, 2, 0, 0, 0).unwrap())
    );
    // Without `until` the window ends now, so `since` must be in the past.
    let e = request("fabrikam", "2025-07-01T00:00:00Z")
        .resolve(&orgs, now())
        .unwrap_err();
    assert!(matches!(e, RequestError::FutureSince(_)), "{e}");
}

#[test]
fn streams_are_parsed_leniently_deduplicated_and_unknown_ones_rejected() {
    let mut r = request("fabrikam", "2025-05-01T00:00:00Z");
    r.streams = vec![
        "Pull-Requests".into(),
        "builds".into(),
        "pullrequests".into(),
        "work_items".into(),
    ];
    let spec = r.resolve(&orgs(), now()).unwrap();
    // Any known stream may be asked for, also one the organization does not reconcile periodically.
    assert_eq!(
        spec.streams,
        vec![Stream::PullRequests, Stream::Builds, Stream::WorkItems]
    );
    r.streams = vec!["git".into(), "commits".into()];
    assert_eq!(
        r.resolve(&orgs(), now()).unwrap_err(),
        RequestError::UnknownStream("commits".into())
    );
    r.streams = vec![];
    r.projects = vec!["Web".into(), " web ".into(), "Api".into()];
    assert_eq!(
        r.resolve(&orgs(), now()).unwrap().projects,
        vec!["Web", "Api"]
    );
    r.projects = vec!["  ".into()];
    assert_eq!(
        r.resolve(&orgs(), now()).unwrap_err(),
        RequestError::EmptyProject
    );
}

#[test]
fn request_bodies_reject_unknown_fields() {
    let ok: BackfillRequest =
        serde_json::from_str(r#"{"organization":"fabrikam","since":"2025-05-01T00:00:00Z"}"#)
            .unwrap();
    assert_eq!(ok.organization, "fabrikam");
    let e = serde_json::from_str::<BackfillRequest>(
        r#"{"organization":"fabrikam","since":"2025-05-01T00:00:00Z","stream":["git"]}"#,
    )
    .unwrap_err();
    assert!(e.to_string().contains("unknown field `stream`"), "{e}");
}

#[test]
fn job_ids_sort_by_creation_and_are_recognised() {
    let a = new_job_id(now());
    let b = new_job_id(now() + chrono::Duration::milliseconds(1));
    assert!(a < b, "{a} {b}");
    assert!(is_job_id(&a) && is_job_id(&b));
    for bad in ["", "../etc/passwd", "zzzzzzzzzzzzzzzzzzzz", &a[1..]] {
        assert!(!is_job_id(bad), "{bad}");
    }
}

#[test]
fn records_round_trip_and_sum_their_streams() {
    let spec = request("fabrikam", "2025-05-01T00:00:00Z")
        .resolve(&orgs(), now())
        .unwrap();
    let mut record = JobRecord::queued(new_job_id(now()), spec, now());
    assert_eq!(record.progress.len(), 2);
    assert!(!record.totals().done);
    for (i, p) in record.progress.values_mut().enumerate() {
        p.pages = 2 + i as u64;
        p.objects_seen = 10;
        p.events_published = 7;
        p.duplicates_skipped = 3;
        p.cursor = Some(format!("c{i}"));
        p.done = true;
    }
    let t = record.totals();
    assert_eq!(
        (
            t.pages,
            t.objects_seen,
            t.events_published,
            t.duplicates_skipped
        ),
        (5, 20, 14, 6)
    );
    assert!(t.done);
    let json = serde_json::to_string(&record).unwrap();
    assert!(
        json.contains(r#""state":"queued""#) && json.contains(r#""workitems":{"#),
        "{json}"
    );
    assert_eq!(serde_json::from_str::<JobRecord>(&json).unwrap(), record);
}
