//! One replay guard for every API server on a catalog: a signed request answered by one server
//! is refused `SignatureNonceUsed` by another, also after both restart. On a SQLite file (two
//! handles, as two processes on one data dir would have) and on PostgreSQL (the server named by
//! `XBAK_TEST_POSTGRES_URL`; no server: the test fails).

use std::future::Future;
use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use chrono::Utc;
use xbak_catalog::postgres::PostgresCatalog;
use xbak_catalog::sqlite::SqliteCatalog;
use xbak_catalog::suite::scratch::ScratchDatabase;
use xbak_catalog::Catalog;
use xbak_server::{AppState, ServerConfig};
use xbak_storage::links::LinkSigner;
use xbak_storage::Regions;
use xbak_testkit::{send_to, v1_params};

/// A server on its own catalog handle.
async fn server(catalog: Arc<dyn Catalog>) -> AppState {
    let links = LinkSigner::new("k".into(), "s".into(), "http://127.0.0.1:9".into());
    AppState::new(ServerConfig::default(), catalog, Regions::new(), links)
        .await
        .unwrap()
}

/// The `Code` a server answers `query` with (`""` for a success).
async fn code(server: &AppState, query: &str) -> String {
    let req = Request::get(format!("/?{query}"))
        .body(Body::empty())
        .unwrap();
    let (status, _, body, _) = send_to(server, req).await;
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(status < 500, "{status}: {v}");
    v["Code"].as_str().unwrap_or_default().to_owned()
}

/// Two servers, each on a handle from `open`: the same signed request goes through one and is a
/// replay for the other, and for both once restarted (one having read the live claims before
/// serving, as `serve` does: how many it read is returned); a fresh one still passes.
async fn servers_share_one_guard<F, Fut>(open: F) -> u64
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn Catalog>>,
{
    let catalog = open().await;
    let (_, key) = catalog.create_account("alice").await.unwrap();
    let signed = |now| {
        // A call that passes authentication and then finds no such instance.
        let p = [
            ("DBInstanceId", "rm-nosuch"),
            ("RegionId", "cn-hangzhou"),
            ("CrossBackupId", "1"),
        ];
        v1_params("GET", &key.access_key_id, &key.secret, &p, now)
    };
    let (a, b) = (server(open().await).await, server(open().await).await);
    let first = signed(Utc::now());
    let served = code(&a, &first).await;
    assert!(
        served.starts_with("InvalidDBInstance"),
        "authenticated: {served}"
    );
    assert_eq!(code(&b, &first).await, "SignatureNonceUsed");
    assert_eq!(code(&a, &first).await, "SignatureNonceUsed");

    // The claims' upkeep runs (on SQLite: the claims so far become a run), then both go away
    // (nothing flushed on the way) and come back, one reading the live claims first.
    let second = signed(Utc::now());
    assert_eq!(code(&b, &second).await, served);
    a.nonces.prune().await.unwrap();
    drop((a, b));
    let (a, b) = (server(open().await).await, server(open().await).await);
    let read = a.nonces.load().await.unwrap();
    for query in [&first, &second] {
        assert_eq!(code(&a, query).await, "SignatureNonceUsed");
        assert_eq!(code(&b, query).await, "SignatureNonceUsed");
    }
    assert_eq!(code(&b, &signed(Utc::now())).await, served);
    read
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_on_one_sqlite_file_share_one_guard() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.db");
    let read = servers_share_one_guard(|| async {
        Arc::new(SqliteCatalog::open(&path).await.unwrap()) as Arc<dyn Catalog>
    })
    .await;
    assert_eq!(read, 2, "the run of both claims");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_on_one_postgres_database_share_one_guard() {
    let db = ScratchDatabase::create().await;
    let read = servers_share_one_guard(|| async {
        Arc::new(PostgresCatalog::open(db.url()).await.unwrap()) as Arc<dyn Catalog>
    })
    .await;
    assert_eq!(read, 0, "every claim is looked up in the table");
}
