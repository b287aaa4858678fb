//! Replay protection (nonces of signed requests) in a database file of its own, and server
//! secrets (the link signing key) in the catalog.
//!
//! A claim is the most frequent write there is (one per signed request, from every API server on
//! the data dir), so claims live beside the catalog, in `catalog-nonces.db`, not in it: their
//! commits neither queue behind the catalog's writer nor make every catalog reader drop its page
//! cache (SQLite empties a connection's cache whenever another connection changed its file), and
//! the catalog's WAL checkpoints no longer copy them. Each claim is keyed by a 16-byte fingerprint
//! of its AccessKey and nonce, so a batch dirties fewer pages than with the text pair (measured:
//! bench/results.md, 2026-12-05T03:00Z).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};
use sha2::{Digest, Sha256};
use xbak_domain::time::Timestamp;

use super::errors::SqlResultExt;
use super::rows::{optional_row, secs, wall_clock};
use crate::rules::{new_link_key, parse_link_key, NonceBatch, LINK_KEY};
use crate::{CatalogError, Result, SeenNonce};

/// The nonces file's schema version (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 1;

/// The fingerprint is SHA-256 of the length-prefixed AccessKeyId and the nonce, cut to 16 bytes:
/// the same on every server, and no two claims share one in practice.
///
/// No index on `expires_at` (files from before 2026-12 had one; it is dropped on open): prunes
/// sweep in key order ([`prune_step`]), and deleting claims in key order from an index in expiry
/// order wrote one index page per claim. Schema version 1 still: a binary of that version
/// creates the index again and works as before (its prunes scan the table), so servers of both
/// can share the file during an upgrade.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS nonces (
    fingerprint  BLOB PRIMARY KEY,
    expires_at   INTEGER NOT NULL
) WITHOUT ROWID;
DROP INDEX IF EXISTS nonces_by_expiry;
";

/// The nonces file of the catalog at `catalog`: `catalog-nonces.db` beside `catalog.db`.
pub(super) fn nonces_path(catalog: &Path) -> PathBuf {
    let stem = catalog.file_stem().unwrap_or_default().to_string_lossy();
    let name = match catalog.extension() {
        Some(ext) => format!("{stem}-nonces.{}", ext.to_string_lossy()),
        None => format!("{stem}-nonces"),
    };
    catalog.with_file_name(name)
}

/// Creates the nonces table unless it is there; refuses a file written by a newer binary.
pub(super) fn prepare(conn: &mut Connection) -> Result<()> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .db()?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0)).db()?;
    if version > SCHEMA_VERSION {
        return Err(CatalogError::Internal(format!(
            "nonces file schema version {version} is newer than this binary's {SCHEMA_VERSION}"
        )));
    }
    tx.execute_batch(SCHEMA).db()?;
    tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))
        .db()?;
    tx.commit().db()
}

/// Copies the claims of a catalog from before the nonces file (its `nonces` table, which the
/// catalog's next migration drops) into the nonces file, so that an upgrade forgets no live
/// claim. Idempotent: a crash before that migration copies them again on the next open.
pub(super) fn carry_over(catalog: &Connection, nonces: &mut Connection) -> Result<usize> {
    let old_table: Option<i64> = catalog
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'nonces'",
            [],
            |r| r.get(0),
        )
        .optional()
        .db()?;
    if old_table.is_none() {
        return Ok(0);
    }
    let mut stmt = catalog
        .prepare("SELECT access_key_id, nonce, expires_at FROM nonces")
        .db()?;
    let old = stmt
        .query_map([], |r| {
            Ok((
                fingerprint(&r.get::<_, String>(0)?, &r.get::<_, String>(1)?),
                r.get::<_, i64>(2)?,
            ))
        })
        .db()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .db()?;
    let tx = nonces
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .db()?;
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO nonces (fingerprint, expires_at) VALUES (?1, ?2)
                 ON CONFLICT (fingerprint) DO UPDATE
                 SET expires_at = MAX(expires_at, excluded.expires_at)",
            )
            .db()?;
        for (fp, expires_at) in &old {
            insert.execute((&fp[..], expires_at)).db()?;
        }
    }
    tx.commit().db()?;
    Ok(old.len())
}

/// Catalog migration 11: the claims moved to the nonces file ([`carry_over`] copied them first).
pub(super) const V11_NONCES_FILE: &str = "DROP TABLE nonces;";

/// The key of a claim in the nonces file.
fn fingerprint(access_key_id: &str, nonce: &str) -> [u8; 16] {
    let mut hash = Sha256::new();
    hash.update((access_key_id.len() as u64).to_be_bytes());
    hash.update(access_key_id.as_bytes());
    hash.update(nonce.as_bytes());
    let digest = hash.finalize();
    let mut fp = [0; 16];
    fp.copy_from_slice(&digest[..16]);
    fp
}

/// Claims each distinct nonce with an upsert that only takes over an expired claim.
pub(super) fn claim_nonces(
    tx: &Transaction<'_>,
    nonces: &[SeenNonce],
    now: Timestamp,
) -> Result<Vec<bool>> {
    let batch = NonceBatch::new(nonces);
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO nonces (fingerprint, expires_at) VALUES (?1, ?2)
             ON CONFLICT (fingerprint) DO UPDATE SET expires_at = excluded.expires_at
             WHERE nonces.expires_at <= ?3",
        )
        .db()?;
    let mut won = HashSet::new();
    for n in &batch.distinct {
        let fp = fingerprint(&n.access_key_id, &n.nonce);
        let changed = stmt
            .execute((&fp[..], secs(n.expires_at), secs(now)))
            .db()?;
        if changed == 1 {
            won.insert((n.access_key_id.as_str(), n.nonce.as_str()));
        }
    }
    Ok(batch.answers(&won))
}

/// Claims one prune step examines at most. Without a bound, a step that found fewer expired claims
/// than it wanted read on to the end of the table holding the nonces file's write lock, and every
/// claim waited: in a server's first 20 minutes no claim has expired, and a sweep over 2.7 million
/// live claims stalled requests for 267 ms (bench/results.md, 2026-12-06T00:10:01Z). 4096 claims
/// are about 30 table pages, well under a millisecond.
pub(super) const PRUNE_SCAN: u64 = 4096;

/// One step of a sweep, in one short transaction: deletes up to `wanted` expired claims among the
/// next `scan` claims after `cursor` in fingerprint order (empty: from the start) and moves
/// `cursor` past the claims it examined. `true` when it reached the end of the table (`cursor` is
/// then empty again, so the next step starts over).
///
/// Key order, not expiry order: the fingerprints are random, so deleting claims in the order they
/// expire (by the expiry index) dirtied one table page per claim, and a page is written to the WAL
/// for each: as much as the claims themselves, which from the 20th minute of the soak's load
/// (when the first claims were pruned) made the server fall behind (bench/results.md,
/// 2026-12-05T10:30Z). A sweep in key order deletes every expired claim of a page at once, and a
/// page holds more of them the longer the server waits between sweeps (`PRUNE_EVERY`).
pub(super) fn prune_step(
    tx: &Transaction<'_>,
    now: Timestamp,
    wanted: u64,
    scan: u64,
    cursor: &mut Vec<u8>,
) -> Result<(u64, bool)> {
    if wanted == 0 {
        return Ok((0, false));
    }
    let now = secs(now);
    // One pass over the window in key order (the table's own order), up to the `wanted`-th
    // expired claim: `last` is the last claim examined.
    let mut last = Vec::with_capacity(16);
    let (mut seen, mut expired) = (0, 0);
    {
        let mut stmt = tx
            .prepare_cached(
                "SELECT fingerprint, expires_at FROM nonces WHERE fingerprint > ?1
                 ORDER BY fingerprint LIMIT ?2",
            )
            .db()?;
        let mut rows = stmt.query((&cursor[..], scan)).db()?;
        while let Some(row) = rows.next().db()? {
            seen += 1;
            let ValueRef::Blob(fingerprint) = row.get_ref(0).db()? else {
                return Err(CatalogError::Internal(
                    "a nonce fingerprint is not a blob".into(),
                ));
            };
            last.clear();
            last.extend_from_slice(fingerprint);
            if row.get::<_, i64>(1).db()? <= now {
                expired += 1;
                if expired == wanted {
                    break;
                }
            }
        }
    }
    // Also true when nothing was left after the cursor (`seen` 0): the cursor starts over.
    let reached_end = expired < wanted && seen < scan;
    let deleted = if expired == 0 {
        0
    } else {
        tx.prepare_cached(
            "DELETE FROM nonces
             WHERE fingerprint > ?1 AND fingerprint <= ?2 AND +expires_at <= ?3",
        )
        .db()?
        .execute((&cursor[..], &last[..], now))
        .db()?
    };
    if reached_end {
        cursor.clear();
    } else {
        *cursor = last;
    }
    Ok((deleted as u64, reached_end))
}

/// Reads the link signing key; `None` until it was created.
pub(super) fn read_link_signing_key(conn: &Connection) -> Result<Option<(String, String)>> {
    let value: Option<String> = optional_row(
        conn,
        "SELECT value FROM settings WHERE key = ?1",
        [LINK_KEY],
        |row| row.get(0),
    )?;
    value.map(|v| parse_link_key(&v)).transpose()
}

/// Creates the key unless some process already did, then returns the one stored.
pub(super) fn create_link_signing_key(tx: &Transaction<'_>) -> Result<(String, String)> {
    let value = new_link_key();
    tx.prepare_cached(
        "INSERT OR IGNORE INTO settings (key, value, updated_at) VALUES (?1, ?2, ?3)",
    )
    .db()?
    .execute((LINK_KEY, value, wall_clock()))
    .db()?;
    read_link_signing_key(tx)?
        .ok_or_else(|| CatalogError::Internal("link signing key vanished".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nonces_file_sits_beside_the_catalog() {
        let cases = [
            ("/data/catalog.db", "/data/catalog-nonces.db"),
            ("/data/xbak", "/data/xbak-nonces"),
            ("rel/c.sqlite", "rel/c-nonces.sqlite"),
        ];
        for (catalog, want) in cases {
            assert_eq!(nonces_path(Path::new(catalog)), PathBuf::from(want));
        }
    }

    /// A nonces table holding claims with fingerprints `[k; 16]` for each `(k, expires_at)`.
    fn table(claims: &[(u8, i64)]) -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        prepare(&mut conn).unwrap();
        for (k, expires_at) in claims {
            conn.execute(
                "INSERT INTO nonces (fingerprint, expires_at) VALUES (?1, ?2)",
                (&[*k; 16][..], expires_at),
            )
            .unwrap();
        }
        conn
    }

    fn left(conn: &Connection) -> Vec<u8> {
        let mut stmt = conn
            .prepare("SELECT fingerprint FROM nonces ORDER BY fingerprint")
            .unwrap();
        let rows = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0)).unwrap();
        rows.map(|fp| fp.unwrap()[0]).collect()
    }

    #[test]
    fn opening_drops_the_expiry_index_of_older_files() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE nonces (fingerprint BLOB PRIMARY KEY, expires_at INTEGER NOT NULL)
             WITHOUT ROWID;
             CREATE INDEX nonces_by_expiry ON nonces (expires_at);
             INSERT INTO nonces VALUES (x'01', 10);
             PRAGMA user_version = 1;",
        )
        .unwrap();
        prepare(&mut conn).unwrap();
        let indexes: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'nonces'
                 AND sql IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(indexes, 0);
        assert_eq!(left(&conn), [1], "the claims stay");
    }

    #[test]
    fn a_prune_step_examines_a_bounded_window_in_key_order_from_its_cursor() {
        let at = |t: i64| Timestamp::from_timestamp(t, 0).unwrap();
        // Expired at 100: 1, 2, 4, 6, 7; live: 3, 5.
        let mut conn = table(&[
            (1, 50),
            (2, 90),
            (3, 500),
            (4, 100),
            (5, 200),
            (6, 10),
            (7, 60),
        ]);
        let mut cursor = Vec::new();
        let mut step = |wanted: u64, scan: u64, cursor: &mut Vec<u8>| {
            let tx = conn.transaction().unwrap();
            let out = prune_step(&tx, at(100), wanted, scan, cursor).unwrap();
            tx.commit().unwrap();
            out
        };
        assert_eq!(
            step(2, 100, &mut cursor),
            (2, false),
            "the first two expired"
        );
        assert_eq!(cursor, [2; 16], "the step ends at the last one it deleted");
        // Three claims examined (3, 4, 5): only 4 had expired, and the cursor passes all three.
        assert_eq!(step(10, 3, &mut cursor), (1, false));
        assert_eq!(cursor, [5; 16]);
        // The rest of the table is shorter than the window: the end, and the cursor starts over.
        assert_eq!(step(10, 3, &mut cursor), (2, true));
        assert!(cursor.is_empty());
        // Nothing expired left: a window of live claims only, then the end.
        assert_eq!(step(10, 1, &mut cursor), (0, false));
        assert_eq!(cursor, [3; 16]);
        assert_eq!(step(10, 5, &mut cursor), (0, true));
        assert!(cursor.is_empty());
        assert_eq!(left(&conn), [3, 5], "the live claims stay");
    }

    #[test]
    fn fingerprints_tell_the_key_from_the_nonce() {
        assert_ne!(fingerprint("LTAIa", "bc"), fingerprint("LTAIab", "c"));
        assert_ne!(fingerprint("LTAIa", "n1"), fingerprint("LTAIb", "n1"));
        assert_eq!(fingerprint("LTAIa", "n1"), fingerprint("LTAIa", "n1"));
    }
}
