//! A fresh PostgreSQL database per test, dropped when the guard goes (also when the test panics).
//! The server comes from `ADO_INGEST_TEST_POSTGRES_URL` (default: the local server as `postgres`).

use tokio_postgres::NoTls;

/// URL of a database on the test server used to create and drop the tests' databases.
pub fn admin_url() -> String {
    std::env::var("ADO_INGEST_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database that exists while this value lives.
pub struct TestDatabase {
    pub name: String,
    /// `postgres://…/{name}`, what `store` is set to.
    pub url: String,
}

impl TestDatabase {
    /// Creates an empty database with a unique name.
    pub async fn create() -> TestDatabase {
        let name = format!(
            "ado_ingest_test_{}_{:010x}",
            std::process::id(),
            rand::random::<u64>() >> 24
        );
        let admin = admin_client().await;
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|e| panic!("cannot create the test database {name}: {e}"));
        let base = admin_url();
        let url = match base.rsplit_once('/') {
            Some((server, _db)) => format!("{server}/{name}"),
            None => format!("{base}/{name}"),
        };
        TestDatabase { name, url }
    }
}

async fn admin_client() -> tokio_postgres::Client {
    let url = admin_url();
    let (client, connection) = tokio_postgres::connect(&url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {url} is needed by this test: {e}"));
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        crate::broker::run_blocking(async move {
            let admin = admin_client().await;
            let _ = admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await;
        });
    }
}
