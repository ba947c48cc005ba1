//! The store contract, written once and run against both backends: SQLite (a temporary file) and
//! PostgreSQL (a fresh database per test). `shared` adds what only a store several replicas share
//! has to hold.

mod backend;
mod in_flight;
mod purge;
mod shared;
mod suite;

/// Runs each named `async fn(Backend)` once per backend, as `name::sqlite` and `name::postgres`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(crate::store::backend::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name(crate::store::backend::Backend::Postgres).await
                }
            }
        )*
    };
}
pub(crate) use on_both_backends;
