//! `ado-ingest demo` at small volume: every change of the simulator's ground truth reaches the
//! exchange exactly once, duplicates injected by the simulator are suppressed, and the table adds up.

use ado_ingest::demo::{DemoArgs, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_is_exact_against_the_ground_truth() {
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
