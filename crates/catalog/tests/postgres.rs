//! The conformance suite on PostgreSQL: each test in a fresh scratch database on the server
//! named by `XBAK_TEST_POSTGRES_URL` (default: the machine's own on 127.0.0.1:5432). Each `open`
//! is a new handle with its own pool, as another process would have. No server: the tests fail.

use std::sync::Arc;

use async_trait::async_trait;
use xbak_catalog::postgres::PostgresCatalog;
use xbak_catalog::suite::scratch::ScratchDatabase;
use xbak_catalog::suite::Backend;
use xbak_catalog::Catalog;

/// A scratch database, created on the first `open`.
#[derive(Default)]
struct PostgresScratch {
    database: tokio::sync::OnceCell<ScratchDatabase>,
}

impl PostgresScratch {
    async fn url(&self) -> &str {
        self.database
            .get_or_init(ScratchDatabase::create)
            .await
            .url()
    }
}

#[async_trait]
impl Backend for PostgresScratch {
    async fn open(&self) -> Arc<dyn Catalog> {
        Arc::new(
            PostgresCatalog::open(self.url().await)
                .await
                .expect("open postgres catalog"),
        )
    }
}

mod suite {
    use super::*;
    xbak_catalog::catalog_test_suite!(PostgresScratch::default());
}

/// What only the PostgreSQL adapter promises.
mod specific {
    use super::*;
    use xbak_catalog::suite::{record, t0, world};
    use xbak_catalog::CatalogError;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn processes_opening_a_fresh_database_at_once_migrate_it_once() {
        let scratch = ScratchDatabase::create().await;
        let opens: Vec<_> = (0..6)
            .map(|_| {
                let url = scratch.url().to_string();
                tokio::spawn(async move { PostgresCatalog::open(&url).await.map(|_| ()) })
            })
            .collect();
        for open in opens {
            open.await.unwrap().expect("concurrent open");
        }
        let (client, connection) = tokio_postgres::connect(scratch.url(), tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        let row = client
            .query_one(
                "SELECT COUNT(*), COUNT(DISTINCT version), MAX(version) FROM schema_migrations",
                &[],
            )
            .await
            .unwrap();
        let (rows, distinct, max): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
        assert_eq!(rows, distinct, "a migration was applied twice");
        assert_eq!(rows, max, "a migration is missing");
    }

    #[tokio::test]
    async fn ids_are_not_reused_after_the_newest_copy_is_deleted() {
        let backend = PostgresScratch::default();
        let w = world(&backend).await;
        let mut last = 0;
        for n in 0..3 {
            last = record(&*w.cat, &w.instance, t0(), n).await;
        }
        let (client, connection) =
            tokio_postgres::connect(backend.url().await, tokio_postgres::NoTls)
                .await
                .unwrap();
        tokio::spawn(connection);
        assert_eq!(
            client
                .execute("DELETE FROM copies WHERE id = $1", &[&last])
                .await
                .unwrap(),
            1
        );
        let next = record(&*w.cat, &w.instance, t0(), 3).await;
        assert!(next > last, "CrossBackupId {last} reused as {next}");
    }

    #[tokio::test]
    async fn an_unreachable_server_is_unavailable() {
        // Port 1 on loopback: nothing listens there.
        let err = PostgresCatalog::open("postgres://postgres@127.0.0.1:1/postgres")
            .await
            .err()
            .expect("no server");
        assert!(matches!(err, CatalogError::Unavailable(_)), "{err:?}");
        assert!(err.is_retryable());
    }

    #[tokio::test]
    async fn a_malformed_url_is_refused() {
        let err = PostgresCatalog::open("postgres://h:notaport/db")
            .await
            .err()
            .expect("bad url");
        assert!(matches!(err, CatalogError::Internal(_)), "{err:?}");
    }
}
