//! Replay protection (nonces of signed requests) in a database file of its own, and server
//! secrets (the link signing key) in the catalog.
//!
//! A claim is the most frequent write there is (one per signed request, from every API server on
//! the data dir), so claims live beside the catalog, in `catalog-nonces.db`, not in it: their
//! commits neither queue behind the catalog's writer nor make every catalog reader drop its page
//! cache (SQLite empties a connection's cache whenever another connection changed its file), and
//! the catalog's WAL checkpoints no longer copy them. Each claim is keyed by a 16-byte fingerprint
//! of its AccessKey and nonce.
//!
//! Claims are appended to a log (`log`), and every few seconds rewritten once in key order as a
//! run with a filter (`upkeep`); a run is deleted whole when all its claims expired. Until 2026-12
//! each claim was an upsert into one B-tree keyed by fingerprint: a random leaf per claim, read,
//! written to the WAL and copied by the checkpoint, which was half of a cached call's server CPU
//! (bench/results.md, 2026-12-06T10:45Z).

mod backfill;
mod bloom;
mod epochs;
mod log;
mod upkeep;

use std::path::{Path, PathBuf};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior};
use xbak_domain::time::Timestamp;

use super::errors::SqlResultExt;
use super::rows::{optional_row, secs, wall_clock};
use crate::rules::{new_link_key, parse_link_key, LINK_KEY};
use crate::{CatalogError, Result};

pub(crate) use backfill::{Backfill, EPOCH_CLAIMS};
pub(crate) use log::ClaimLog;
pub(crate) use upkeep::{due_run, start_run_if_due, Upkeep};

use crate::rules::{fingerprint, Fingerprint};

/// The nonces file's schema version (`PRAGMA user_version`). Version 1 (one `nonces` B-tree)
/// binaries refuse a version 2 file, so they cannot claim beside servers that no longer look
/// there; a version 1 file's `nonces` table is still consulted until its claims expired.
const SCHEMA_VERSION: i64 = 2;

/// The fingerprint is SHA-256 of the length-prefixed AccessKeyId and the nonce, cut to 16 bytes:
/// the same on every server, and no two claims share one in practice.
///
/// `claim_log`: every claim, in the order made (`AUTOINCREMENT`: a `seq` is never used twice,
/// even after the log's end was deleted, so a process's "read up to" mark stays true).
/// `claim_runs`: runs of the log rewritten in key order into `claim_sorted`, named by their last
/// `seq` (they cover `first_seq..=run`); `filter` is NULL until the run is fully written.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS claim_log (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint  BLOB NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS claim_runs (
    run          INTEGER PRIMARY KEY,
    first_seq    INTEGER NOT NULL,
    expires_max  INTEGER NOT NULL,
    filter       BLOB,
    created_at   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS claim_sorted (
    run          INTEGER NOT NULL,
    fingerprint  BLOB NOT NULL,
    expires_at   INTEGER NOT NULL,
    PRIMARY KEY (run, fingerprint)
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
/// claim. A crash before that migration copies them again on the next open: a claim logged twice
/// is one claim.
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
            .prepare("INSERT INTO claim_log (fingerprint, expires_at) VALUES (?1, ?2)")
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

/// Whether the file still has the `nonces` table of schema version 1.
fn has_legacy_table(conn: &Connection) -> Result<bool> {
    Ok(optional_row(
        conn,
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'nonces'",
        [],
        |r| r.get::<_, i64>(0),
    )?
    .is_some())
}

/// Column `idx` of `row`, a blob.
fn blob_at<'r>(row: &'r Row<'_>, idx: usize) -> Result<&'r [u8]> {
    match row.get_ref(idx).db()? {
        ValueRef::Blob(bytes) => Ok(bytes),
        _ => Err(CatalogError::Internal(format!(
            "column {idx} of the nonces file is not a blob"
        ))),
    }
}

/// Column `idx` of `row`, a claim's fingerprint.
fn fingerprint_at(row: &Row<'_>, idx: usize) -> Result<Fingerprint> {
    blob_at(row, idx)?
        .try_into()
        .map_err(|_| CatalogError::Internal("a claim fingerprint is not 16 bytes".into()))
}

/// Claims one prune step examines at most. Without a bound, a step that found fewer expired claims
/// than it wanted read on to the end of the table holding the nonces file's write lock, and every
/// claim waited: in a server's first 20 minutes no claim has expired, and a sweep over 2.7 million
/// live claims stalled requests for 267 ms (bench/results.md, 2026-12-06T00:10:01Z). 4096 claims
/// are about 30 table pages, well under a millisecond.
pub(super) const PRUNE_SCAN: u64 = 4096;

/// One step of a sweep of the version 1 `nonces` table, in one short transaction: deletes up to `wanted` expired claims among the
/// next `scan` claims after `cursor` in fingerprint order (empty: from the start) and moves
/// `cursor` past the claims it examined. `true` when it reached the end of the table (`cursor` is
/// then empty again, so the next step starts over).
///
/// Key order, not expiry order: the fingerprints are random, so deleting claims in the order they
/// expire (by the expiry index) dirtied one table page per claim, and a page is written to the WAL
/// for each: as much as the claims themselves, which from the 20th minute of the soak's load
/// (when the first claims were pruned) made the server fall behind (bench/results.md,
/// 2026-12-05T10:30Z). A sweep in key order deletes every expired claim of a page at once, and a
/// page holds more of them the longer between sweeps. Only a version 1 file's table is swept so,
/// until it is empty (`upkeep`).
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
    use crate::sqlite::lock;

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

    /// The claims table of schema version 1.
    const V1_TABLE: &str =
        "CREATE TABLE nonces (fingerprint BLOB PRIMARY KEY, expires_at INTEGER NOT NULL)
         WITHOUT ROWID; PRAGMA user_version = 1;";

    /// A version 1 nonces table holding claims with fingerprints `[k; 16]` for each `(k, expires_at)`.
    fn table(claims: &[(u8, i64)]) -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(V1_TABLE).unwrap();
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

    fn claims(from: usize, to: usize, expires_at: Timestamp) -> Vec<crate::SeenNonce> {
        (from..to)
            .map(|i| crate::SeenNonce {
                access_key_id: "LTAIa".into(),
                nonce: format!("n{i}"),
                expires_at,
            })
            .collect()
    }

    fn claim(
        conn: &mut Connection,
        view: &mut ClaimLog,
        nonces: &[crate::SeenNonce],
        now: Timestamp,
    ) -> Vec<bool> {
        let tx = conn.transaction().unwrap();
        let won = view.claim(&tx, nonces, now).unwrap();
        tx.commit().unwrap();
        won
    }

    /// Cuts a run of the log's claims and writes it whole, as the upkeep does.
    fn write_run(conn: &mut Connection, upkeep: &mut Upkeep, wall: i64) {
        let tx = conn.transaction().unwrap();
        assert!(start_run_if_due(&tx, wall).unwrap().is_some());
        tx.commit().unwrap();
        upkeep.load(conn).unwrap();
        loop {
            let tx = conn.transaction().unwrap();
            let n = upkeep.step(&tx, 0, 4_096).unwrap();
            tx.commit().unwrap();
            if n < 4_096 {
                break;
            }
        }
    }

    #[test]
    fn a_view_holds_exactly_only_the_claims_no_finished_run_holds() {
        let mut conn = Connection::open_in_memory().unwrap();
        prepare(&mut conn).unwrap();
        let (mut view, mut upkeep) = (ClaimLog::default(), Upkeep::default());
        let now = Timestamp::from_timestamp(1_000_000, 0).unwrap();
        let batch = claims(0, 2_000, now + chrono::Duration::seconds(600));
        assert!(claim(&mut conn, &mut view, &batch, now).iter().all(|w| *w));
        let (exact, stored, epochs, _) = view.size();
        assert_eq!((exact, stored, epochs), (2_000, 0, 1));
        let memory = view.memory();
        assert!(memory.exact >= 2_000 * 24, "{memory:?}");
        assert!(memory.open_epoch >= 2_000 * 2 && memory.epochs + memory.stored_filters == 0);
        // Another process claims more while this one claims nothing, and the run takes all.
        let mut other = ClaimLog::default();
        let more = claims(2_000, 3_000, now + chrono::Duration::seconds(600));
        assert!(claim(&mut conn, &mut other, &more, now).iter().all(|w| *w));
        write_run(&mut conn, &mut upkeep, wall_clock());
        // The log no longer holds them: the view's epoch holds its own (a "maybe" confirmed in
        // the run), the run's stored filter those it never read.
        let replays = [&batch[..3], &more[..3]].concat();
        assert_eq!(claim(&mut conn, &mut view, &replays, now), [false; 6]);
        let (exact, stored, epochs, bytes) = view.size();
        assert_eq!((exact, stored, epochs), (0, 1, 1), "the run holds them now");
        // The run's stored filter: its 3,000 claims at 16 bits, in whole blocks.
        let stored_filters = view.memory().stored_filters;
        assert!((6_000..6_100).contains(&stored_filters), "{stored_filters}");
        assert!(bytes as u64 > stored_filters, "and the view's own epoch");
        assert_eq!(
            upkeep.memory(),
            0,
            "the run is written: its claims are let go"
        );
        // The other process read every claim of the run: its epoch is enough.
        assert_eq!(claim(&mut conn, &mut other, &batch[5..6], now), [false]);
        assert_eq!(other.size().1, 0, "no stored filter");
        // A view loaded after the run finished (another process) uses the run's stored filter.
        let mut late = ClaimLog::default();
        assert_eq!(
            claim(&mut conn, &mut late, &batch[1_000..1_001], now),
            [false]
        );
        let (exact, stored, epochs, bytes) = late.size();
        assert_eq!((exact, stored, epochs), (0, 1, 0));
        assert!((6_000..6_100).contains(&bytes), "{bytes} bytes of filter");
        // Once the claims expired, every view drops its filters; the nonces are free again.
        let later = now + chrono::Duration::seconds(600);
        for view in [&mut view, &mut other, &mut late] {
            assert!(claim(&mut conn, view, &[], later).is_empty());
            assert_eq!(view.size(), (0, 0, 0, 0));
        }
        let again = claims(0, 2, later + chrono::Duration::seconds(600));
        assert_eq!(claim(&mut conn, &mut view, &again, later), [true; 2]);
    }

    #[test]
    fn the_exact_part_of_a_view_gives_back_what_a_burst_made_it_take() {
        let (mut conn, now, expires) = nonces_file();
        let (mut view, mut upkeep) = (ClaimLog::default(), Upkeep::default());
        // 50,000 claims before a run is written.
        let burst = claims(0, 50_000, expires);
        assert!(claim(&mut conn, &mut view, &burst, now).iter().all(|w| *w));
        let held = view.memory().exact;
        assert!(held >= 50_000 * 24, "{held} bytes");
        write_run(&mut conn, &mut upkeep, wall_clock());
        // While the finished run is the burst's, the map keeps its size.
        let few = claims(50_000, 50_300, expires);
        assert!(claim(&mut conn, &mut view, &few, now).iter().all(|w| *w));
        assert_eq!(view.memory().exact, held);
        // The next run finishes holding 300: the map is shrunk.
        write_run(&mut conn, &mut upkeep, wall_clock() + 10);
        assert!(claim(&mut conn, &mut view, &[], now).is_empty());
        let after = view.memory().exact;
        assert!(after * 10 < held, "{after} bytes of {held}");
        // It still refuses every replay, of the runs and of the log.
        let replays = [&burst[..2], &burst[49_998..], &few[..2]].concat();
        assert_eq!(claim(&mut conn, &mut view, &replays, now), [false; 6]);
        let more = claims(50_300, 50_302, expires);
        assert!(claim(&mut conn, &mut view, &more, now).iter().all(|w| *w));
        assert_eq!(claim(&mut conn, &mut view, &more, now), [false; 2]);
    }

    /// An empty nonces file, a time, and an expiry ten minutes after it.
    fn nonces_file() -> (Connection, Timestamp, Timestamp) {
        let mut conn = Connection::open_in_memory().unwrap();
        prepare(&mut conn).unwrap();
        let now = Timestamp::from_timestamp(1_000_000, 0).unwrap();
        (conn, now, now + chrono::Duration::seconds(600))
    }

    /// Another process claims `runs` runs of 1,000 nonces at `now`, those of run `r` expiring
    /// at `expires(r)`, each run written whole.
    fn claimed_in_runs(
        conn: &mut Connection,
        runs: usize,
        now: Timestamp,
        expires: impl Fn(usize) -> Timestamp,
    ) {
        let (mut other, mut upkeep) = (ClaimLog::default(), Upkeep::default());
        for r in 0..runs {
            let batch = claims(r * 1_000, (r + 1) * 1_000, expires(r));
            assert!(claim(conn, &mut other, &batch, now).iter().all(|w| *w));
            write_run(conn, &mut upkeep, wall_clock() + 10 * r as i64);
        }
    }

    #[test]
    fn a_late_view_makes_its_own_filters_of_the_runs_it_did_not_read() {
        let (mut conn, now, expires) = nonces_file();
        // Five runs, the first two expiring sooner.
        let sooner = now + chrono::Duration::seconds(60);
        claimed_in_runs(&mut conn, 5, now, |r| if r < 2 { sooner } else { expires });
        // A process starting now holds their stored filters.
        let view = std::sync::Mutex::new(ClaimLog::default());
        assert!(claim(&mut conn, &mut lock(&view), &[], now).is_empty());
        assert_eq!(lock(&view).size().1, 5);
        // Epochs of about 2,000 claims: runs 1–2, then 3–4, then 5.
        let mut backfill = Backfill::new(1_500);
        let mut steps = Vec::new();
        loop {
            match backfill.step(&conn, &view).unwrap() {
                0 => break,
                n => steps.push((n, lock(&view).size())),
            }
            // Replays are refused at every step, whatever holds them.
            let replays = claims(0, 5_000, expires);
            let won = claim(&mut conn, &mut lock(&view), &replays[..], now);
            assert!(won.iter().all(|w| !w), "after step {}", steps.len());
        }
        let sizes: Vec<_> = steps
            .iter()
            .map(|(n, (_, stored, epochs, _))| (*n, *stored, *epochs))
            .collect();
        assert_eq!(
            sizes,
            [
                (1_001, 5, 0),
                (1_001, 3, 1),
                (1_001, 3, 1),
                (1_001, 1, 2),
                (1_001, 0, 3)
            ]
        );
        // New nonces are taken; the epochs go with their claims.
        let fresh = claims(5_000, 5_100, expires);
        assert!(claim(&mut conn, &mut lock(&view), &fresh, now)
            .iter()
            .all(|w| *w));
        let later = now + chrono::Duration::seconds(120);
        assert_eq!(
            claim(&mut conn, &mut lock(&view), &claims(0, 1, expires), later),
            [true]
        );
        // The first two runs' epoch is gone; the view's own one holds the new claims.
        assert_eq!(lock(&view).size().2, 3);
    }

    #[test]
    fn an_epoch_made_for_a_view_since_reset_is_dropped_and_made_again() {
        let (mut conn, now, expires) = nonces_file();
        claimed_in_runs(&mut conn, 2, now, |_| expires);
        let view = std::sync::Mutex::new(ClaimLog::default());
        assert!(claim(&mut conn, &mut lock(&view), &[], now).is_empty());
        let mut backfill = Backfill::default();
        assert_eq!(backfill.step(&conn, &view).unwrap(), 1_001);
        // A claim transaction failed: the view forgets everything, the epoch finds no run.
        lock(&view).reset();
        assert_eq!(backfill.step(&conn, &view).unwrap(), 1_001);
        assert_eq!(lock(&view).size(), (0, 0, 0, 0));
        assert_eq!(
            backfill.step(&conn, &view).unwrap(),
            0,
            "nothing stored yet"
        );
        let replays = claims(0, 2_000, expires);
        assert!(claim(&mut conn, &mut lock(&view), &replays, now)
            .iter()
            .all(|w| !w));
        assert_eq!(lock(&view).size().1, 2, "loaded again");
        while backfill.step(&conn, &view).unwrap() > 0 {}
        assert_eq!(lock(&view).size().1, 0);
        assert!(claim(&mut conn, &mut lock(&view), &replays, now)
            .iter()
            .all(|w| !w));
    }

    #[test]
    fn a_view_read_before_its_first_claim_loads_no_stored_filter_of_the_runs_it_read() {
        let (mut conn, now, expires) = nonces_file();
        // Four runs, the first expired by now.
        let past = now - chrono::Duration::seconds(1);
        claimed_in_runs(&mut conn, 4, now, |r| if r == 0 { past } else { expires });
        let mut view = ClaimLog::default();
        assert_eq!(view.preload(&conn, now, 1_500).unwrap(), 3_000);
        // Epochs of runs 2–3 and 4; the expired run is not read.
        let (exact, stored, epochs, _) = view.size();
        assert_eq!((exact, stored, epochs), (0, 0, 2));
        // Another process claims more, and a run of them finishes before this view's first claim.
        let mut other = ClaimLog::default();
        let more = claims(4_000, 5_000, expires);
        assert!(claim(&mut conn, &mut other, &more, now).iter().all(|w| *w));
        write_run(&mut conn, &mut Upkeep::default(), wall_clock() + 100);
        let replays = claims(1_000, 5_000, expires);
        assert!(claim(&mut conn, &mut view, &replays, now)
            .iter()
            .all(|w| !w));
        let (exact, stored, epochs, _) = view.size();
        assert_eq!(
            (exact, stored, epochs),
            (0, 1, 2),
            "that run's stored filter"
        );
        assert_eq!(view.preload(&conn, now, 1_500).unwrap(), 0, "read once");
        let fresh = claims(0, 1, expires);
        assert_eq!(claim(&mut conn, &mut view, &fresh, now), [true]);
    }

    #[test]
    fn filters_over_their_budget_answer_maybe_often_but_never_wrongly() {
        let mut conn = Connection::open_in_memory().unwrap();
        prepare(&mut conn).unwrap();
        // A budget of 4 KiB for ~12,000 live claims: 2 bits each, most lookups "maybe".
        let limits = epochs::Limits {
            epoch_secs: 2,
            least: 256,
            most: 1 << 16,
            budget: 4 << 10,
            least_bits: 2,
        };
        let (mut view, mut upkeep) = (ClaimLog::with_limits(limits), Upkeep::default());
        let start = 1_000_000;
        let at = |s: i64| Timestamp::from_timestamp(start + s, 0).unwrap();
        // Twelve seconds of 1,000 claims, a run cut every three seconds and written.
        for s in 0..12 {
            let from = s as usize * 1_000;
            let batch = claims(from, from + 1_000, at(s + 600));
            assert!(claim(&mut conn, &mut view, &batch, at(s))
                .iter()
                .all(|w| *w));
            if s % 3 == 2 {
                write_run(&mut conn, &mut upkeep, wall_clock() + 2 * s);
            }
        }
        // Every replay refused, all of them in runs now; every new nonce taken.
        let replays = claims(0, 12_000, at(612));
        assert!(claim(&mut conn, &mut view, &replays, at(12))
            .iter()
            .all(|w| !w));
        let (exact, _, epochs, bytes) = view.size();
        assert_eq!(exact, 0, "the runs hold every claim");
        assert!(epochs >= 3, "{epochs} epochs");
        assert!(bytes <= 8 << 10, "{bytes} bytes of filters");
        // Each replay was a "maybe" confirmed by at least one lookup.
        let replayed = view.checks();
        assert_eq!(replayed.checked, 24_000);
        assert!(replayed.maybes >= 12_000, "{replayed:?}");
        assert!(replayed.lookups >= 12_000, "{replayed:?}");
        let fresh = claims(12_000, 14_000, at(612));
        assert!(claim(&mut conn, &mut view, &fresh, at(12))
            .iter()
            .all(|w| *w));
        // At 2 bits a claim most new nonces meet a false "maybe", each costing lookups.
        let after = view.checks();
        assert_eq!(after.checked, 26_000);
        let (maybes, lookups) = (
            after.maybes - replayed.maybes,
            after.lookups - replayed.lookups,
        );
        assert!(
            maybes > 1_000 && lookups >= maybes,
            "{maybes} maybes, {lookups} lookups"
        );
        view.reset();
        assert_eq!(view.checks(), after, "kept across a reset");
    }
}
