//! Pull requests in a backfill window `[since, until)`: PRs created in it (`created`), PRs closed
//! in it (their closing `updated` and their comments), and the comments of PRs still active.
//! With time filters (api-version 7.1) the lists are `queryTimeRangeType=created|closed`
//! windows; older servers page every PR and filter by date.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::super::super::ReconcileError;
use super::super::super::walk::Walk;
use super::super::{query_time, time_of};
use super::{Cursor, get_pr, pr_events, pr_id, thread_events, time_filters};
use crate::normalize::extract::str_at;

/// Where a backfill of pull requests is: the phase (0 created, 1 closed, 2 active, 3 done), the
/// project within it and the `$skip` within that project.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(super) struct Position {
    #[serde(default)]
    phase: u8,
    #[serde(default)]
    project: usize,
    #[serde(default)]
    skip: u64,
}

pub(super) async fn walk(
    w: &mut Walk<'_>,
    cursor: &mut Cursor,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<(), ReconcileError> {
    let filtered = time_filters(w.ctx);
    let window = format!(
        "&searchCriteria.minTime={}&searchCriteria.maxTime={}",
        query_time(since),
        query_time(until)
    );
    let phases: Vec<String> = if filtered {
        vec![
            format!("searchCriteria.status=all&searchCriteria.queryTimeRangeType=created{window}"),
            format!("searchCriteria.status=all&searchCriteria.queryTimeRangeType=closed{window}"),
            "searchCriteria.status=active".to_string(),
        ]
    } else {
        vec!["searchCriteria.status=all".to_string()]
    };
    let projects = w.ctx.projects.clone();
    let top = w.ctx.config.page_size.max(1) as u64;
    while (cursor.window.phase as usize) < phases.len() {
        let query = &phases[cursor.window.phase as usize];
        while cursor.window.project < projects.len() {
            let project = &projects[cursor.window.project];
            if w.cancel.is_cancelled() {
                return Err(ReconcileError::Cancelled);
            }
            let path = format!(
                "{}/_apis/git/pullrequests?{query}&$top={top}&$skip={}",
                super::seg(&project.id),
                cursor.window.skip
            );
            let resp = w.ctx.get(&path).await?;
            let page = super::values(&resp).to_vec();
            let mut events = Vec::new();
            let mut with_comments = Vec::new();
            for pr in &page {
                let created = time_of(pr, "creationDate").is_some_and(|t| t >= since && t < until);
                let closed_at = time_of(pr, "closedDate");
                let closed = str_at(pr, &["status"]) != Some("active")
                    && closed_at.is_some_and(|t| t >= since && t < until);
                let (emit_created, emit_closed, comments) = match (filtered, cursor.window.phase) {
                    (true, 0) => (true, false, false),
                    (true, 1) => (false, closed, closed),
                    (true, _) => (false, false, true),
                    (false, _) => (
                        created,
                        closed,
                        closed || str_at(pr, &["status"]) == Some("active"),
                    ),
                };
                let mut types = Vec::new();
                if emit_created {
                    types.push("git.pullrequest.created");
                }
                if emit_closed {
                    types.push("git.pullrequest.updated");
                }
                let Some(id) = pr_id(pr) else { continue };
                if !types.is_empty() {
                    let full = get_pr(w.ctx, project, id)
                        .await?
                        .unwrap_or_else(|| pr.clone());
                    events.extend(pr_events(w.ctx, project, &full, &types));
                }
                if comments {
                    with_comments.push(pr.clone());
                }
            }
            let history = thread_events(
                w.ctx,
                w.stream,
                project,
                &with_comments,
                Some((since, until)),
                &mut Default::default(),
            )
            .await?;
            let events = super::history_first(history, events);
            if (page.len() as u64) < top {
                cursor.window.project += 1;
                cursor.window.skip = 0;
            } else {
                cursor.window.skip += page.len() as u64;
            }
            let n = page.len() as u64;
            w.commit(events, n, &*cursor).await?;
        }
        cursor.window.phase += 1;
        cursor.window.project = 0;
        cursor.window.skip = 0;
    }
    Ok(())
}
