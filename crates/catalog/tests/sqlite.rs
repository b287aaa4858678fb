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

    /// The writers leave checkpoints to the catalog's own threads until the WAL is long (a batch
    /// of nonce claims would wait for them): the threads copy the WALs into the database files
    /// while the catalog is open. Without them the nonces file would not grow here (5,000 claims
    /// stay below the writer's own checkpoint) until the last close.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_is_checkpointed_while_the_catalog_is_open() {
        let backend = SqliteFile::new();
        let cat = SqliteCatalog::open(&backend.path).await.unwrap();
        let nonces_file = backend.path.with_file_name("catalog-nonces.db");
        let db_size = || std::fs::metadata(&nonces_file).unwrap().len();
        let before = db_size();
        claim_many(&cat, 5_000).await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while db_size() < before + 100_000 {
            assert!(
                std::time::Instant::now() < deadline,
                "the WAL was not checkpointed: the nonces file stayed at {} bytes",
                db_size()
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        drop(cat);
    }

    /// Under writes that never pause, the WAL is still started over: 150,000 claims in a row
    /// write hundreds of MiB through it (about one 4 KiB page per claim once the table is larger
    /// than a batch), and it stays a fraction of that (a passive checkpoint alone never lets
    /// SQLite reuse it).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_stays_bounded_under_steady_writes() {
        let backend = SqliteFile::new();
        let cat = SqliteCatalog::open(&backend.path).await.unwrap();
        claim_many(&cat, 150_000).await;
        let wal = backend.path.with_file_name("catalog-nonces.db-wal");
        let size = std::fs::metadata(&wal).unwrap().len();
        assert!(size < 64 << 20, "the WAL grew to {size} bytes");
    }

    /// Claims `n` fresh nonces, in batches of 1,000, and checks that each was won.
    async fn claim_many(cat: &SqliteCatalog, n: usize) {
        let expires_at = chrono::Utc::now() + chrono::Duration::minutes(15);
        let call: u128 = rand::random();
        for batch in 0..n.div_ceil(1_000) {
            let nonces: Vec<SeenNonce> = (0..1_000.min(n - batch * 1_000))
                .map(|i| SeenNonce {
                    access_key_id: "LTAInoncefiletest".into(),
                    nonce: format!("{call:x}-{batch:04}-{i:06}"),
                    expires_at,
                })
                .collect();
            let won = cat.claim_nonces(&nonces, chrono::Utc::now()).await.unwrap();
            assert!(won.iter().all(|w| *w));
        }
    }

    /// A batch of claims is made on the caller's thread without waiting for locks; while another
    /// process holds the nonces file's write lock it waits for it on the blocking pool (as it
    /// always did) instead of failing, and the claim is made once the lock is free.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn claims_wait_for_another_process_holding_the_nonces_file() {
        let backend = SqliteFile::new();
        let cat = Arc::new(SqliteCatalog::open(&backend.path).await.unwrap());
        let mut other =
            rusqlite::Connection::open(backend.path.with_file_name("catalog-nonces.db")).unwrap();
        let held = other
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .unwrap();
        let nonce = SeenNonce {
            access_key_id: "LTAIlockedfile".into(),
            nonce: "held-1".into(),
            expires_at: chrono::Utc::now() + chrono::Duration::minutes(15),
        };
        let claim = {
            let (cat, nonce) = (Arc::clone(&cat), nonce.clone());
            tokio::spawn(async move { cat.claim_nonces(&[nonce], chrono::Utc::now()).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert!(!claim.is_finished(), "the claim did not wait for the lock");
        held.commit().unwrap();
        let won = tokio::time::timeout(std::time::Duration::from_secs(10), claim)
            .await
            .expect("the claim went on once the lock was free")
            .unwrap()
            .expect("the claim succeeded");
        assert_eq!(won, [true]);
        let again = cat
            .claim_nonces(&[nonce], chrono::Utc::now())
            .await
            .unwrap();
        assert_eq!(again, [false], "the waited-for claim was made");
    }

    /// Claims go to `catalog-nonces.db` (private like the catalog): the catalog file does not
    /// change, so its readers keep their page caches.
    #[tokio::test]
    async fn nonce_claims_leave_the_catalog_file_alone() {
        let backend = SqliteFile::new();
        let cat = SqliteCatalog::open(&backend.path).await.unwrap();
        cat.create_account("acme").await.unwrap();
        let raw = rusqlite::Connection::open(&backend.path).unwrap();
        let data_version = || -> i64 {
            raw.query_row("PRAGMA data_version", [], |r| r.get(0))
                .unwrap()
        };
        let before = data_version();
        claim_many(&cat, 2_000).await;
        assert_eq!(data_version(), before, "a claim changed the catalog file");
        cat.create_account("other").await.unwrap();
        assert_ne!(data_version(), before, "the probe sees catalog commits");

        let nonces_file = backend.path.with_file_name("catalog-nonces.db");
        let claims: i64 = rusqlite::Connection::open(&nonces_file)
            .unwrap()
            .query_row("SELECT COUNT(*) FROM claim_log", [], |r| r.get(0))
            .unwrap();
        assert_eq!(claims, 2_000);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&nonces_file)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "nonces file mode {mode:o}");
    }

    /// A catalog from before the nonces file (claims in its `nonces` table, schema version 10):
    /// opening it moves the claims into the nonces file and drops the table, so a live claim
    /// still refuses its replay after the upgrade.
    #[tokio::test]
    async fn claims_from_before_the_nonces_file_survive_the_upgrade() {
        let backend = SqliteFile::new();
        drop(SqliteCatalog::open(&backend.path).await.unwrap());
        let now = chrono::Utc::now();
        let at = |m: i64| (now + chrono::Duration::minutes(m)).timestamp();
        let nonces_file = backend.path.with_file_name("catalog-nonces.db");
        for suffix in ["", "-wal", "-shm"] {
            let mut file = nonces_file.clone().into_os_string();
            file.push(suffix);
            let _ = std::fs::remove_file(file);
        }
        let raw = rusqlite::Connection::open(&backend.path).unwrap();
        raw.execute_batch(&format!(
            "DELETE FROM schema_version WHERE version >= 11;
             DROP TRIGGER listed_copies_on_insert; DROP TRIGGER listed_copies_on_delete;
             DROP TRIGGER listed_copies_on_update; DROP TRIGGER listed_copies_on_set_update;
             DROP TABLE listed_copies; DROP VIEW listed_copy_rows;
             CREATE TABLE nonces (
                 access_key_id TEXT NOT NULL, nonce TEXT NOT NULL, expires_at INTEGER NOT NULL,
                 PRIMARY KEY (access_key_id, nonce)) WITHOUT ROWID;
             INSERT INTO nonces VALUES ('LTAIa', 'live', {}), ('LTAIa', 'expired', {});",
            at(10),
            at(-1)
        ))
        .unwrap();
        drop(raw);

        let cat = SqliteCatalog::open(&backend.path).await.unwrap();
        let claim = |nonce: &str| SeenNonce {
            access_key_id: "LTAIa".into(),
            nonce: nonce.into(),
            expires_at: now + chrono::Duration::minutes(15),
        };
        assert_eq!(
            cat.claim_nonces(&[claim("live"), claim("expired"), claim("new")], now)
                .await
                .unwrap(),
            [false, true, true]
        );
        let raw = rusqlite::Connection::open(&backend.path).unwrap();
        let (tables, version): (i64, i64) = raw
            .query_row(
                "SELECT (SELECT COUNT(*) FROM sqlite_master WHERE name = 'nonces'),
                        (SELECT MAX(version) FROM schema_version)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((tables, version), (0, 12), "the old table is dropped");
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
