//! Unique names for a test's exchanges, queues and databases, so parallel tests never share one.

/// `test.{prefix}.{pid}.{random}`: unique across the tests of one run and across runs.
pub fn unique(prefix: &str) -> String {
    format!(
        "test.{prefix}.{}.{:012x}",
        std::process::id(),
        rand::random::<u64>() >> 16
    )
}
