//! `ado-ingest demo` at small volume: every change of the simulator's ground truth reaches the
//! exchange exactly once, duplicates injected by the simulator are suppressed, and the table adds up.

use ado_ingest::demo::{DemoArgs, run};

/// The demo reads the process-wide metrics recorder before and after; two demos at once in one
/// test process would count each other's duplicates.
static ONE_DEMO_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_is_exact_against_the_ground_truth() {
    let _one = ONE_DEMO_AT_A_TIME.lock().await;
    let report = run(DemoArgs {
        actions: 80,
        seed: 7,
        duplicate: 0.2,
        reorder: 0.1,
        delay: 0.1,
        quiet: true,
        ..DemoArgs::default()
    })
    .await
    .expect("demo runs");
    let table = report.table();
    assert!(report.exact, "{table}");
    let changes: u64 = report.rows.values().map(|r| r.changes).sum();
    let published: u64 = report.rows.values().map(|r| r.published).sum();
    let duplicates: u64 = report.rows.values().map(|r| r.duplicates_suppressed).sum();
    assert!(changes >= 80, "{table}");
    assert_eq!(published, changes, "{table}");
    assert!(
        report.rows.len() >= 8,
        "the activity covers many event types: {table}"
    );
    // A 20 % duplicate rate over this many deliveries sends some twice; each was answered duplicate.
    assert!(report.deliveries.duplicates_sent > 0, "{table}");
    assert_eq!(duplicates, report.deliveries.duplicates_sent, "{table}");
    assert!(table.contains("exactly once"));
}

/// With hooks dropped, the reconciler publishes what REST can reveal, each change once; nothing is
/// published twice or invented. Only changes of the types REST may not show (intermediate
/// pull-request states, deletes and restores between passes) may be missing, each named in the
/// table with the reason, and then the demo is not exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_with_dropped_hooks_is_filled_by_the_reconciler() {
    use ado_ingest::reconcile::hook_only;
    let _one = ONE_DEMO_AT_A_TIME.lock().await;
    let report = run(DemoArgs {
        actions: 80,
        seed: 11,
        drop: 0.3,
        duplicate: 0.1,
        quiet: true,
        timeout: std::time::Duration::from_secs(25),
        ..DemoArgs::default()
    })
    .await
    .expect("demo runs");
    let table = report.table();
    assert!(report.deliveries.dropped_by_fault > 0, "{table}");
    let reconciled: u64 = report.rows.values().map(|r| r.reconciled).sum();
    assert!(
        reconciled > 0,
        "the reconciler published what hooks lost: {table}"
    );
    for (ty, row) in &report.rows {
        assert_eq!(
            row.extra, 0,
            "{ty}: nothing published twice or invented\n{table}"
        );
        match hook_only::reason(ty) {
            None => assert_eq!(
                row.missing, 0,
                "{ty}: every change REST can reveal arrives\n{table}"
            ),
            Some(why) if row.missing > 0 => assert!(
                table.contains(&format!("  {ty} ({}): {why}", row.missing)),
                "{ty}: the table names why it is missing\n{table}"
            ),
            Some(_) => {}
        }
    }
    let missing: u64 = report.rows.values().map(|r| r.missing).sum();
    assert_eq!(report.exact, missing == 0, "{table}");
    // What REST cannot reveal never arrives: the demo stops once a reconciler pass after the
    // deliveries settled has finished, instead of waiting out its timeout.
    assert!(missing > 0, "this seed loses REST-blind changes: {table}");
    assert!(
        report.elapsed < std::time::Duration::from_secs(20),
        "the demo waited {:?} for changes that cannot arrive",
        report.elapsed
    );
}
