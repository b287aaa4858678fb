//! The conformance suite on SQLite: a database file (each `open` is a new handle, as another
//! process would have) and a private in-memory database (one handle, one connection).

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use xbak_catalog::sqlite::SqliteCatalog;
use xbak_catalog::suite::Backend;
use xbak_catalog::{Catalog, SeenNonce};

/// A fresh database file in its own temporary directory.
struct SqliteFile {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl SqliteFile {
    fn new() -> SqliteFile {
        let dir = tempfile::tempdir().expect("temp dir");
        // A missing parent directory is created by `open`.
        let path = dir.path().join("state").join("catalog.db");
        SqliteFile { _dir: dir, path }
    }
}

#[async_trait]
impl Backend for SqliteFile {
    async fn open(&self) -> Arc<dyn Catalog> {
        Arc::new(
            SqliteCatalog::open(&self.path)
                .await
                .expect("open sqlite catalog"),
        )
    }
}

/// One in-memory catalog; every `open` returns the same handle.
#[derive(Default)]
struct SqliteMemory {
    catalog: tokio::sync::OnceCell<Arc<dyn Catalog>>,
}

#[async_trait]
impl Backend for SqliteMemory {
    async fn open(&self) -> Arc<dyn Catalog> {
        let catalog = self
            .catalog
            .get_or_init(|| async {
                Arc::new(
                    SqliteCatalog::open_in_memory()
                        .await
                        .expect("open in-memory catalog"),
                ) as Arc<dyn Catalog>
            })
            .await;
        Arc::clone(catalog)
    }
}

mod file {
    use super::*;
    xbak_catalog::catalog_test_suite!(SqliteFile::new());
}

mod memory {
    use super::*;
    xbak_catalog::catalog_test_suite!(SqliteMemory::default());
}

/// What only the SQLite adapter promises.
mod specific {
    use super::*;
    use xbak_catalog::suite::{record, record_many, t0, world};

    #[tokio::test]
    async fn ids_are_not_reused_after_the_newest_copy_is_deleted() {
        let backend = SqliteFile::new();
        let w = world(&backend).await;
        let last = record_many(&w, 3).await;
        let raw = rusqlite::Connection::open(&backend.path).unwrap();
        assert_eq!(
            raw.execute("DELETE FROM copies WHERE id = ?1", [last])
                .unwrap(),
            1
        );
        let next = record(&*w.cat, &w.instance, t0(), 3).await;
        assert!(next > last, "CrossBackupId {last} reused as {next}");
    }

    /// Pins a race: switching a fresh file to WAL from several connections at once can fail with
    /// SQLITE_BUSY without the busy handler being consulted.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn processes_opening_a_fresh_file_at_once_migrate_it_once() {
        for _round in 0..10 {
            let backend = Arc::new(SqliteFile::new());
            let opens: Vec<_> = (0..6)
                .map(|_| {
                    let backend = Arc::clone(&backend);
                    tokio::spawn(
                        async move { SqliteCatalog::open(&backend.path).await.map(|_| ()) },
                    )
                })
                .collect();
            for open in opens {
                open.await.unwrap().expect("concurrent open");
            }
            let raw = rusqlite::Connection::open(&backend.path).unwrap();
            let (rows, distinct): (i64, i64) = raw
                .query_row(
                    "SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_version",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap();
            assert_eq!(rows, distinct, "a migration was applied twice");
            let mode: String = raw
                .query_row("PRAGMA journal_mode", [], |r| r.get(0))
                .unwrap();
            assert_eq!(mode, "wal");
        }
    }

    /// The writer never checkpoints (`wal_autocheckpoint = 0`: a batch of nonce claims would
    /// wait for it); the catalog's own thread copies the WAL into the database file while the
    /// catalog is open. Without that thread the file would not grow until the last close.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_is_checkpointed_while_the_catalog_is_open() {
        let backend = SqliteFile::new();
        let cat = SqliteCatalog::open(&backend.path).await.unwrap();
        let db_size = || std::fs::metadata(&backend.path).unwrap().len();
        let before = db_size();
        let expires_at = chrono::Utc::now() + chrono::Duration::minutes(15);
        for batch in 0..10 {
            let nonces: Vec<SeenNonce> = (0..1_000)
                .map(|i| SeenNonce {
                    access_key_id: "LTAIcheckpointtest".into(),
                    nonce: format!("{batch:04}-{i:06}-{}", "x".repeat(200)),
                    expires_at,
                })
                .collect();
            let won = cat.claim_nonces(&nonces, chrono::Utc::now()).await.unwrap();
            assert!(won.iter().all(|w| *w));
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while db_size() < before + 1_000_000 {
            assert!(
                std::time::Instant::now() < deadline,
                "the WAL was not checkpointed: the database file stayed at {} bytes",
                db_size()
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        drop(cat);
    }

    #[tokio::test]
    async fn a_directory_is_not_a_catalog() {
        let dir = tempfile::tempdir().unwrap();
        assert!(SqliteCatalog::open(dir.path()).await.is_err());
    }

    #[tokio::test]
    async fn in_memory_catalogs_are_private() {
        let a = SqliteCatalog::open_in_memory().await.unwrap();
        let b = SqliteCatalog::open_in_memory().await.unwrap();
        a.create_account("acme").await.unwrap();
        assert!(b.account_by_name("acme").await.unwrap().is_none());
        b.create_account("acme")
            .await
            .expect("no conflict across in-memory catalogs");
    }
}
