//! A store that fails while hooks arrive: the sender gets `503` with `Retry-After` and a body that
//! says what to do, never the store's error text (database names, paths, SQL); once the store is
//! back the same hook is accepted.

use std::time::Duration;

use crate::support::process::push_hook;
use crate::support::*;

async fn admin() -> tokio_postgres::Client {
    let (client, connection) =
        tokio_postgres::connect(&postgres::admin_url(), tokio_postgres::NoTls)
            .await
            .unwrap();
    tokio::spawn(connection);
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_store_answers_503_without_its_internals() {
    let db = TestDatabase::create().await;
    let server =
        TestServer::ready(ServerOptions::default().with("ADO_INGEST_STORE", &db.url)).await;
    assert_eq!(server.post(&push_hook(1)).await.0, 202);

    // The database goes away under the server: its connections are cut, reconnecting fails.
    let hidden = format!("{}_gone", db.name);
    let admin = admin().await;
    admin
        .batch_execute(&format!(
            "ALTER DATABASE {name} ALLOW_CONNECTIONS false;
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}';
             ALTER DATABASE {name} RENAME TO {hidden};",
            name = db.name
        ))
        .await
        .unwrap();
    let (status, body) = server.post(&push_hook(2)).await;
    let restore = format!(
        "ALTER DATABASE {hidden} RENAME TO {name}; ALTER DATABASE {name} ALLOW_CONNECTIONS true;",
        name = db.name
    );
    admin.batch_execute(&restore).await.unwrap();
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "store_unavailable", "{body}");
    let text = body.to_string();
    for internal in [
        db.name.as_str(),
        "postgres",
        "database",
        "127.0.0.1",
        "sqlite",
    ] {
        assert!(
            !text.contains(internal),
            "503 body leaks {internal:?}: {text}"
        );
    }
    assert_eq!(
        body["detail"],
        ado_ingest::http::hooks::STORE_UNAVAILABLE_DETAIL,
        "the same advice whatever the cause"
    );

    // Back: the same hook is accepted (nothing of it was stored).
    let accepted = eventually(Duration::from_secs(20), || async {
        server.post(&push_hook(2)).await.0 == 202
    })
    .await;
    assert!(accepted, "the hook is accepted once the store is back");
}
