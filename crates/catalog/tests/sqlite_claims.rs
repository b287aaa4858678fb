//! The SQLite replay guard's storage: claims appended to a log, rewritten into runs with
//! filters by the upkeep, runs deleted whole once expired, and a file of the old layout read
//! until its claims expire. Each `open` is a new handle, as another process would have.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use rusqlite::Connection;
use sha2::{Digest, Sha256};
use xbak_catalog::sqlite::SqliteCatalog;
use xbak_catalog::{Catalog, SeenNonce};

struct Files {
    _dir: tempfile::TempDir,
    catalog: PathBuf,
    nonces: PathBuf,
}

fn files() -> Files {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog.db");
    let nonces = dir.path().join("catalog-nonces.db");
    Files {
        _dir: dir,
        catalog,
        nonces,
    }
}

fn claims(prefix: &str, n: usize, expires_at: DateTime<Utc>) -> Vec<SeenNonce> {
    (0..n)
        .map(|i| SeenNonce {
            access_key_id: "LTAIclaimlog".into(),
            nonce: format!("{prefix}-{i}"),
            expires_at,
        })
        .collect()
}

/// Claims `batch` at `now` in chunks of 500: the answers, all together.
async fn claim(cat: &SqliteCatalog, batch: &[SeenNonce], now: DateTime<Utc>) -> Vec<bool> {
    let mut won = Vec::new();
    for chunk in batch.chunks(500) {
        won.extend(cat.claim_nonces(chunk, now).await.unwrap());
    }
    won
}

/// Upkeep steps of `limit` at `before` until one does less.
async fn upkeep(cat: &SqliteCatalog, before: DateTime<Utc>, limit: u32) {
    for _ in 0..1_000 {
        if cat.prune_nonces(before, limit).await.unwrap() < u64::from(limit) {
            return;
        }
    }
    panic!("the upkeep never finished");
}

/// `(log rows, runs, runs with a filter, sorted rows)` in the nonces file.
fn tables(nonces: &Path) -> (i64, i64, i64, i64) {
    Connection::open(nonces)
        .unwrap()
        .query_row(
            "SELECT (SELECT COUNT(*) FROM claim_log), (SELECT COUNT(*) FROM claim_runs),
                    (SELECT COUNT(*) FROM claim_runs WHERE filter IS NOT NULL),
                    (SELECT COUNT(*) FROM claim_sorted)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap()
}

#[tokio::test]
async fn claims_become_a_run_which_other_processes_read_and_which_goes_when_expired() {
    let f = files();
    let now = Utc::now();
    let cat = SqliteCatalog::open(&f.catalog).await.unwrap();
    let live = claims("live", 3_000, now + Duration::minutes(15));
    assert!(claim(&cat, &live, now).await.iter().all(|w| *w));
    assert_eq!(tables(&f.nonces), (3_000, 0, 0, 0), "claims are logged");
    upkeep(&cat, now, 1_024).await;
    assert_eq!(
        tables(&f.nonces),
        (0, 1, 1, 3_000),
        "one run, the log emptied"
    );

    // A process that never saw the log reads the run; so does the one that wrote it.
    let other = SqliteCatalog::open(&f.catalog).await.unwrap();
    for handle in [&cat, &other] {
        assert!(claim(handle, &live, now).await.iter().all(|w| !w));
    }
    let fresh = claims("fresh", 1_000, now + Duration::minutes(15));
    assert!(claim(&other, &fresh, now).await.iter().all(|w| *w));
    assert!(claim(&cat, &fresh, now).await.iter().all(|w| !w));

    // Once every claim of the run expired, the run goes whole; the newer claims stay in the log
    // until the next run is due, a minute after the last.
    let later = now + Duration::minutes(20);
    upkeep(&cat, later, 1_024).await;
    assert_eq!(tables(&f.nonces), (1_000, 0, 0, 0));
    assert!(claim(&other, &live, later).await.iter().all(|w| *w));
}

#[tokio::test]
async fn a_run_left_half_written_is_finished_after_a_restart_without_duplicates() {
    let f = files();
    let now = Utc::now();
    let live = claims("live", 3_000, now + Duration::minutes(15));
    {
        let cat = SqliteCatalog::open(&f.catalog).await.unwrap();
        assert!(claim(&cat, &live, now).await.iter().all(|w| *w));
        assert_eq!(cat.prune_nonces(now, 1_000).await.unwrap(), 1_000);
        assert_eq!(
            tables(&f.nonces),
            (3_000, 1, 0, 1_000),
            "a run half written"
        );
    }
    let cat = SqliteCatalog::open(&f.catalog).await.unwrap();
    assert!(claim(&cat, &live, now).await.iter().all(|w| !w));
    upkeep(&cat, now, 700).await;
    assert_eq!(tables(&f.nonces), (0, 1, 1, 3_000));
    assert!(claim(&cat, &live, now).await.iter().all(|w| !w));
}

#[tokio::test]
async fn a_filters_maybe_is_confirmed_by_a_lookup() {
    let f = files();
    let now = Utc::now();
    let cat = SqliteCatalog::open(&f.catalog).await.unwrap();
    let old = claims("old", 10, now + Duration::minutes(15));
    assert!(claim(&cat, &old, now).await.iter().all(|w| *w));
    upkeep(&cat, now, 1_024).await;
    // A filter that answers "maybe" to everything: one block, every bit set.
    let mut everything = vec![1u8];
    everything.extend([0xff; 64]);
    Connection::open(&f.nonces)
        .unwrap()
        .execute("UPDATE claim_runs SET filter = ?1", [everything])
        .unwrap();
    let other = SqliteCatalog::open(&f.catalog).await.unwrap();
    let new = claims("new", 100, now + Duration::minutes(15));
    assert!(claim(&other, &new, now).await.iter().all(|w| *w));
    assert!(claim(&other, &old, now).await.iter().all(|w| !w));
}

/// The fingerprint of schema version 1 (and 2): SHA-256 of the length-prefixed key and nonce.
fn fingerprint(key: &str, nonce: &str) -> Vec<u8> {
    let mut hash = Sha256::new();
    hash.update((key.len() as u64).to_be_bytes());
    hash.update(key.as_bytes());
    hash.update(nonce.as_bytes());
    hash.finalize()[..16].to_vec()
}

#[tokio::test]
async fn a_file_of_the_old_layout_is_read_until_its_claims_expired_then_dropped() {
    let f = files();
    let now = Utc::now();
    let old = Connection::open(&f.nonces).unwrap();
    old.execute_batch(
        "CREATE TABLE nonces (fingerprint BLOB PRIMARY KEY, expires_at INTEGER NOT NULL)
         WITHOUT ROWID; PRAGMA user_version = 1;",
    )
    .unwrap();
    for (nonce, minutes) in [("live", 10), ("expired", -1)] {
        old.execute(
            "INSERT INTO nonces VALUES (?1, ?2)",
            (
                fingerprint("LTAIold", nonce),
                (now + Duration::minutes(minutes)).timestamp(),
            ),
        )
        .unwrap();
    }
    drop(old);
    let cat = SqliteCatalog::open(&f.catalog).await.unwrap();
    let ask = |nonce: &str| SeenNonce {
        access_key_id: "LTAIold".into(),
        nonce: nonce.into(),
        expires_at: now + Duration::minutes(15),
    };
    let won = claim(&cat, &[ask("live"), ask("expired"), ask("new")], now).await;
    assert_eq!(won, [false, true, true]);
    let old_table = |path: &Path| -> i64 {
        Connection::open(path)
            .unwrap()
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = 'nonces'",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    upkeep(&cat, now, 1_024).await;
    assert_eq!(old_table(&f.nonces), 1, "a live claim keeps the old table");
    assert_eq!(claim(&cat, &[ask("live")], now).await, [false]);
    let later = now + Duration::minutes(11);
    upkeep(&cat, later, 1_024).await;
    assert_eq!(old_table(&f.nonces), 0, "dropped once its claims expired");
    let version: i64 = Connection::open(&f.nonces)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 2, "version 1 binaries refuse the file");
    assert_eq!(
        claim(&cat, &[ask("live"), ask("new")], later).await,
        [true, false]
    );
}
