//! Schema migrations: numbered SQL scripts embedded in the binary, applied in order inside one
//! `BEGIN IMMEDIATE` transaction, recorded in `schema_version`. Reopening applies nothing new;
//! two processes opening a fresh file at once serialise on the write lock and the second finds
//! the work done.
//!
//! Never edit a released migration: append a new one.
//!
//! Naming leaves room for the roadmap: log backups will get `log_backup_sets` and `log_copies`,
//! restore drills `restore_drills`, each a queue with the same job columns as `copies`
//! (`attempts`, `next_attempt_at`, `lease_*`, `last_error`, `resume_state`).

use rusqlite::{Connection, TransactionBehavior};

use super::errors::SqlResultExt;
use crate::{CatalogError, Result};

/// `(version, script)`, in ascending order.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, V1_INITIAL),
    (2, V2_BACKUP_AGENT),
    (3, V3_POLICY_SWITCHES),
    (4, V4_EXPIRING_COPIES),
    (5, V5_RUN_HEARTBEATS),
    (6, V6_LISTING_DAYS),
    (7, V7_BACKUP_REQUESTS),
    (8, super::leases::V8_LEASE_HOLDERS),
    (9, super::binlogs::V9_BINLOGS),
    (10, super::log_retention::V10_EXPIRING_LOG_FILES),
    (11, super::nonces::V11_NONCES_FILE),
    (12, V12_LISTED_COPIES),
];

/// Times are INTEGER unix seconds (UTC); enums are their domain `as_str()` values.
const V1_INITIAL: &str = r#"
CREATE TABLE accounts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

-- The secret is needed to verify signatures, so it is stored; it is never logged or listed.
CREATE TABLE access_keys (
    access_key_id TEXT PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts (id),
    secret        TEXT NOT NULL,
    enabled       INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL
);
CREATE INDEX access_keys_by_account ON access_keys (account_id);

CREATE TABLE regions (
    region_id  TEXT PRIMARY KEY,
    store_url  TEXT NOT NULL
);

CREATE TABLE instances (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    db_instance_id   TEXT NOT NULL UNIQUE,
    account_id       INTEGER NOT NULL REFERENCES accounts (id),
    region_id        TEXT NOT NULL REFERENCES regions (region_id),
    engine           TEXT NOT NULL,
    engine_version   TEXT NOT NULL,
    category         TEXT NOT NULL,
    storage_type     TEXT NOT NULL,
    instance_number  INTEGER NOT NULL,
    created_at       INTEGER NOT NULL
);
CREATE INDEX instances_by_account ON instances (account_id);

-- The cross-region backup policy: one per instance.
CREATE TABLE policies (
    instance_id     INTEGER PRIMARY KEY REFERENCES instances (id),
    enabled         INTEGER NOT NULL,
    dest_region_id  TEXT NOT NULL REFERENCES regions (region_id),
    retention_days  INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

-- Full and incremental data backups. `source_region_id` is the instance's region when taken.
CREATE TABLE backup_sets (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id       INTEGER NOT NULL REFERENCES instances (id),
    source_region_id  TEXT NOT NULL REFERENCES regions (region_id),
    method            TEXT NOT NULL,
    backup_type       TEXT NOT NULL,
    scale             INTEGER NOT NULL,
    started_at        INTEGER NOT NULL,
    finished_at       INTEGER NOT NULL,
    consistent_at     INTEGER NOT NULL,
    instance_number   INTEGER NOT NULL,
    object_key        TEXT NOT NULL,
    size_bytes        INTEGER NOT NULL,
    sha256            TEXT NOT NULL,
    recorded_at       INTEGER NOT NULL,
    UNIQUE (source_region_id, object_key)
);
CREATE INDEX backup_sets_by_instance ON backup_sets (instance_id, started_at);

-- Cross-region copies, and the durable job producing each. `id` is the CrossBackupId:
-- AUTOINCREMENT so ids only grow and are never reused, even after deletes.
-- `backup_started_at` and `instance_id` are copied from the set so listings read one index.
CREATE TABLE copies (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    backup_set_id      INTEGER NOT NULL REFERENCES backup_sets (id),
    instance_id        INTEGER NOT NULL REFERENCES instances (id),
    dest_region_id     TEXT NOT NULL REFERENCES regions (region_id),
    object_key         TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('pending', 'completed', 'failed')),
    backup_started_at  INTEGER NOT NULL,
    queued_at          INTEGER NOT NULL,
    completed_at       INTEGER,
    -- the job
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at    INTEGER,
    lease_token        TEXT,
    lease_until        INTEGER,
    last_error         TEXT,
    resume_state       TEXT,
    UNIQUE (backup_set_id, dest_region_id)
);

-- DescribeCrossRegionBackups: one instance's listed copies, newest first, read in index order
-- (no sort) and counted without touching the table. Queries must repeat the WHERE term verbatim;
-- `status` is carried so SQLite can check that term from the index alone.
CREATE INDEX copies_listed ON copies
    (instance_id, backup_started_at DESC, id DESC, dest_region_id, backup_set_id, status)
    WHERE status IN ('completed', 'failed');

-- Listed copies per instance and destination, kept by the triggers below in the same
-- transaction as the change, so an unfiltered listing's total costs one lookup instead of a
-- count over the instance's copies. Filtered listings still count through copies_listed.
CREATE TABLE copy_listing_totals (
    instance_id     INTEGER NOT NULL,
    dest_region_id  TEXT NOT NULL,
    listed          INTEGER NOT NULL,
    PRIMARY KEY (instance_id, dest_region_id)
) WITHOUT ROWID;

CREATE TRIGGER copies_listed_on_insert AFTER INSERT ON copies
WHEN NEW.status IN ('completed', 'failed')
BEGIN
    INSERT INTO copy_listing_totals (instance_id, dest_region_id, listed)
    VALUES (NEW.instance_id, NEW.dest_region_id, 1)
    ON CONFLICT (instance_id, dest_region_id) DO UPDATE SET listed = listed + 1;
END;

CREATE TRIGGER copies_listed_on_delete AFTER DELETE ON copies
WHEN OLD.status IN ('completed', 'failed')
BEGIN
    UPDATE copy_listing_totals SET listed = listed - 1
    WHERE instance_id = OLD.instance_id AND dest_region_id = OLD.dest_region_id;
END;

CREATE TRIGGER copies_listed_on_update AFTER UPDATE OF status, instance_id, dest_region_id ON copies
WHEN (OLD.status IN ('completed', 'failed')) OR (NEW.status IN ('completed', 'failed'))
BEGIN
    UPDATE copy_listing_totals SET listed = listed - 1
    WHERE OLD.status IN ('completed', 'failed')
      AND instance_id = OLD.instance_id AND dest_region_id = OLD.dest_region_id;
    INSERT INTO copy_listing_totals (instance_id, dest_region_id, listed)
    SELECT NEW.instance_id, NEW.dest_region_id, 1 WHERE NEW.status IN ('completed', 'failed')
    ON CONFLICT (instance_id, dest_region_id) DO UPDATE SET listed = listed + 1;
END;

-- The job queue: due pending copies, oldest first.
CREATE INDEX copies_due ON copies (next_attempt_at, id) WHERE status = 'pending';

-- Nonces of signed requests, kept until they expire to refuse replays across restarts.
CREATE TABLE nonces (
    access_key_id  TEXT NOT NULL,
    nonce          TEXT NOT NULL,
    expires_at     INTEGER NOT NULL,
    PRIMARY KEY (access_key_id, nonce)
) WITHOUT ROWID;
CREATE INDEX nonces_by_expiry ON nonces (expires_at);

-- Server secrets and switches (the download-link signing key).
CREATE TABLE settings (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);
"#;

/// The backup agent: how to reach each instance's servers, every backup it attempted, daily
/// schedules. New tables only, so existing rows and queries are untouched.
const V2_BACKUP_AGENT: &str = r#"
-- DSNs hold passwords: read by the agent only, never logged or listed.
CREATE TABLE instance_connections (
    instance_id              INTEGER PRIMARY KEY REFERENCES instances (id),
    dsn                      TEXT NOT NULL,
    standby_dsn              TEXT,
    standby_instance_number  INTEGER,
    updated_at               INTEGER NOT NULL,
    CHECK ((standby_dsn IS NULL) = (standby_instance_number IS NULL))
);

-- Every backup the agent attempted. A completed run points at the set it recorded (and adds
-- what restores need: manifest, base set, LSNs); a failed run keeps its error and has no set,
-- so it is never listed or copied.
CREATE TABLE backup_runs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id      INTEGER NOT NULL REFERENCES instances (id),
    method           TEXT NOT NULL,
    backup_type      TEXT NOT NULL,
    scale            INTEGER NOT NULL,
    database_name    TEXT,
    instance_number  INTEGER NOT NULL,
    run_trigger      TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    started_at       INTEGER NOT NULL,
    finished_at      INTEGER,
    error            TEXT,
    backup_set_id    INTEGER UNIQUE REFERENCES backup_sets (id),
    manifest_key     TEXT,
    base_set_id      INTEGER REFERENCES backup_sets (id),
    from_lsn         INTEGER,
    to_lsn           INTEGER
);
CREATE INDEX backup_runs_by_instance ON backup_runs (instance_id, id);

-- One daily window per instance (UTC minutes). `last_run_day` is claimed atomically so one
-- of several `serve` processes starts the day's run.
CREATE TABLE backup_schedules (
    instance_id     INTEGER PRIMARY KEY REFERENCES instances (id),
    at_minute       INTEGER NOT NULL CHECK (at_minute BETWEEN 0 AND 1439),
    window_minutes  INTEGER NOT NULL CHECK (window_minutes BETWEEN 1 AND 1440),
    method          TEXT NOT NULL,
    backup_type     TEXT NOT NULL,
    database_name   TEXT,
    enabled         INTEGER NOT NULL,
    last_run_day    TEXT,
    updated_at      INTEGER NOT NULL
);
"#;

/// The policy API's extra state: the log-backup switch and when each switch was last turned on
/// (NULL: never, or turned on before this version; readers then use `updated_at`).
const V3_POLICY_SWITCHES: &str = r#"
ALTER TABLE policies ADD COLUMN log_backup_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE policies ADD COLUMN backup_enabled_at INTEGER;
ALTER TABLE policies ADD COLUMN log_backup_enabled_at INTEGER;
"#;

/// Retention's tombstones: expiring a copy deletes its row (so it is no longer listed, and the
/// listing triggers keep the totals right) and inserts its tombstone here in the same
/// transaction; the tombstone names the destination object until retention has deleted it.
/// A new table only, so the `copies` table and its CHECK constraints are untouched.
const V4_EXPIRING_COPIES: &str = r#"
-- `copy_id` is the expired copy's id (AUTOINCREMENT there, so never reused).
CREATE TABLE expiring_copies (
    copy_id         INTEGER PRIMARY KEY,
    instance_id     INTEGER NOT NULL REFERENCES instances (id),
    dest_region_id  TEXT NOT NULL REFERENCES regions (region_id),
    object_key      TEXT NOT NULL,
    expired_at      INTEGER NOT NULL
);
-- Retention finishes the oldest tombstones first.
CREATE INDEX expiring_copies_by_age ON expiring_copies (expired_at, copy_id);
"#;

const V5_RUN_HEARTBEATS: &str = r#"
-- A running backup run's agent refreshes this while it works; a run whose heartbeat (or, before
-- the first one, start) is old was interrupted and is failed by whoever notices.
ALTER TABLE backup_runs ADD COLUMN heartbeat_at INTEGER;
CREATE INDEX backup_runs_running ON backup_runs (started_at) WHERE status = 'running';
"#;

/// Listed copies per instance, destination and day of `backup_started_at` (the column a
/// listing's window filters on), kept by triggers like `copy_listing_totals`, so a windowed
/// listing's total sums the whole days inside the window and counts only the two partial ones.
/// A day is `backup_started_at / 86400` (SQLite truncates: exact for times from 1970 on; readers
/// use the table only for windows starting there). Rows whose count falls to 0 are removed, so
/// the table is no larger than the days the instances' copies cover.
const V6_LISTING_DAYS: &str = r#"
CREATE TABLE copy_listing_days (
    instance_id     INTEGER NOT NULL,
    dest_region_id  TEXT NOT NULL,
    day             INTEGER NOT NULL,
    listed          INTEGER NOT NULL,
    PRIMARY KEY (instance_id, dest_region_id, day)
) WITHOUT ROWID;

INSERT INTO copy_listing_days (instance_id, dest_region_id, day, listed)
SELECT instance_id, dest_region_id, backup_started_at / 86400, COUNT(*)
FROM copies WHERE status IN ('completed', 'failed')
GROUP BY instance_id, dest_region_id, backup_started_at / 86400;

CREATE TRIGGER copy_listing_days_on_insert AFTER INSERT ON copies
WHEN NEW.status IN ('completed', 'failed')
BEGIN
    INSERT INTO copy_listing_days (instance_id, dest_region_id, day, listed)
    VALUES (NEW.instance_id, NEW.dest_region_id, NEW.backup_started_at / 86400, 1)
    ON CONFLICT (instance_id, dest_region_id, day) DO UPDATE SET listed = listed + 1;
END;

CREATE TRIGGER copy_listing_days_on_delete AFTER DELETE ON copies
WHEN OLD.status IN ('completed', 'failed')
BEGIN
    UPDATE copy_listing_days SET listed = listed - 1
    WHERE instance_id = OLD.instance_id AND dest_region_id = OLD.dest_region_id
      AND day = OLD.backup_started_at / 86400;
    DELETE FROM copy_listing_days
    WHERE instance_id = OLD.instance_id AND dest_region_id = OLD.dest_region_id
      AND day = OLD.backup_started_at / 86400 AND listed = 0;
END;

CREATE TRIGGER copy_listing_days_on_update
AFTER UPDATE OF status, instance_id, dest_region_id, backup_started_at ON copies
WHEN (OLD.status IN ('completed', 'failed')) OR (NEW.status IN ('completed', 'failed'))
BEGIN
    UPDATE copy_listing_days SET listed = listed - 1
    WHERE OLD.status IN ('completed', 'failed')
      AND instance_id = OLD.instance_id AND dest_region_id = OLD.dest_region_id
      AND day = OLD.backup_started_at / 86400;
    DELETE FROM copy_listing_days
    WHERE OLD.status IN ('completed', 'failed')
      AND instance_id = OLD.instance_id AND dest_region_id = OLD.dest_region_id
      AND day = OLD.backup_started_at / 86400 AND listed = 0;
    INSERT INTO copy_listing_days (instance_id, dest_region_id, day, listed)
    SELECT NEW.instance_id, NEW.dest_region_id, NEW.backup_started_at / 86400, 1
    WHERE NEW.status IN ('completed', 'failed')
    ON CONFLICT (instance_id, dest_region_id, day) DO UPDATE SET listed = listed + 1;
END;
"#;

/// Every listed copy with its backup set's columns, clustered in listing order: a
/// `DescribeCrossRegionBackups` page is one primary-key range of one table instead of an index walk
/// and two primary-key lookups per row (copy, backup set), which were most of an uncached call
/// (bench/results.md, 2026-12-05T16:10Z). Kept by triggers in the same transaction as the change,
/// like `copy_listing_totals`; backup sets are never updated today, but a trigger keeps the rows
/// right if one ever is. Columns named as the page reads them (`LISTED_COPY_COLUMNS` in `copies`).
const V12_LISTED_COPIES: &str = r#"
CREATE TABLE listed_copies (
    instance_id        INTEGER NOT NULL,
    backup_started_at  INTEGER NOT NULL,
    id                 INTEGER NOT NULL,
    dest_region_id     TEXT NOT NULL,
    backup_set_id      INTEGER NOT NULL,
    status             TEXT NOT NULL,
    object_key         TEXT NOT NULL,
    completed_at       INTEGER,
    set_instance_id    INTEGER NOT NULL,
    source_region_id   TEXT NOT NULL,
    method             TEXT NOT NULL,
    backup_type        TEXT NOT NULL,
    scale              INTEGER NOT NULL,
    set_started_at     INTEGER NOT NULL,
    finished_at        INTEGER NOT NULL,
    consistent_at      INTEGER NOT NULL,
    instance_number    INTEGER NOT NULL,
    set_object_key     TEXT NOT NULL,
    size_bytes         INTEGER NOT NULL,
    sha256             TEXT NOT NULL,
    PRIMARY KEY (instance_id, backup_started_at DESC, id DESC)
) WITHOUT ROWID;

-- A listed copy as `listed_copies` holds it (same columns, same order): the one definition the
-- backfill and the triggers below insert from.
CREATE VIEW listed_copy_rows AS
SELECT c.instance_id, c.backup_started_at, c.id, c.dest_region_id, c.backup_set_id, c.status,
       c.object_key, c.completed_at, b.instance_id AS set_instance_id, b.source_region_id,
       b.method, b.backup_type, b.scale, b.started_at AS set_started_at, b.finished_at,
       b.consistent_at, b.instance_number, b.object_key AS set_object_key, b.size_bytes, b.sha256
FROM copies c JOIN backup_sets b ON b.id = c.backup_set_id
WHERE c.status IN ('completed', 'failed');

INSERT INTO listed_copies SELECT * FROM listed_copy_rows;

CREATE TRIGGER listed_copies_on_insert AFTER INSERT ON copies
WHEN NEW.status IN ('completed', 'failed')
BEGIN
    INSERT INTO listed_copies SELECT * FROM listed_copy_rows WHERE id = NEW.id;
END;

CREATE TRIGGER listed_copies_on_delete AFTER DELETE ON copies
WHEN OLD.status IN ('completed', 'failed')
BEGIN
    DELETE FROM listed_copies
    WHERE instance_id = OLD.instance_id AND backup_started_at = OLD.backup_started_at
      AND id = OLD.id;
END;

CREATE TRIGGER listed_copies_on_update
AFTER UPDATE OF id, status, instance_id, backup_started_at, dest_region_id, backup_set_id,
                object_key, completed_at ON copies
WHEN (OLD.status IN ('completed', 'failed')) OR (NEW.status IN ('completed', 'failed'))
BEGIN
    DELETE FROM listed_copies
    WHERE instance_id = OLD.instance_id AND backup_started_at = OLD.backup_started_at
      AND id = OLD.id;
    INSERT INTO listed_copies SELECT * FROM listed_copy_rows WHERE id = NEW.id;
END;

CREATE TRIGGER listed_copies_on_set_update AFTER UPDATE ON backup_sets
BEGIN
    DELETE FROM listed_copies
    WHERE (instance_id, backup_started_at, id) IN
          (SELECT instance_id, backup_started_at, id FROM copies WHERE backup_set_id = OLD.id);
    INSERT INTO listed_copies SELECT * FROM listed_copy_rows WHERE backup_set_id = NEW.id;
END;
"#;

/// Backups asked for (enabling a policy with no recent set), a queue claimed with leases like
/// `copies`: a claimed row whose `lease_until` passed is claimable again (its worker died).
const V7_BACKUP_REQUESTS: &str = r#"
CREATE TABLE backup_requests (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id      INTEGER NOT NULL REFERENCES instances (id),
    request_trigger  TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('waiting', 'claimed', 'done', 'failed')),
    lease_token      TEXT,
    lease_until      INTEGER,
    attempts         INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    claimed_at       INTEGER,
    finished_at      INTEGER,
    backup_run_id    INTEGER REFERENCES backup_runs (id),
    last_error       TEXT
);
-- Claims scan the open requests oldest first; `backup runs` lists an instance's open ones.
CREATE INDEX backup_requests_open ON backup_requests (instance_id, id)
    WHERE state IN ('waiting', 'claimed');
"#;

/// The schema version this binary writes.
pub(crate) fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |(v, _)| *v)
}

/// Brings the schema up to date; returns the versions applied.
pub(crate) fn migrate(conn: &mut Connection) -> Result<Vec<i64>> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .db()?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (
             version     INTEGER PRIMARY KEY,
             applied_at  INTEGER NOT NULL
         )",
    )
    .db()?;
    let current: i64 = tx
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_version",
            [],
            |r| r.get(0),
        )
        .db()?;
    if current > latest_version() {
        return Err(CatalogError::Internal(format!(
            "catalog schema version {current} is newer than this binary's {}",
            latest_version()
        )));
    }
    let now = chrono::Utc::now().timestamp();
    let mut applied = Vec::new();
    for (version, script) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        tx.execute_batch(script).db()?;
        tx.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES (?1, ?2)",
            (version, now),
        )
        .db()?;
        tracing::info!(version, "catalog migration applied");
        applied.push(*version);
    }
    tx.commit().db()?;
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::super::rows::select_all;
    use super::*;

    #[test]
    fn versions_ascend_from_one() {
        for (i, (v, _)) in MIGRATIONS.iter().enumerate() {
            assert_eq!(*v, i as i64 + 1);
        }
    }

    #[test]
    fn migrating_twice_applies_nothing_the_second_time() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(
            migrate(&mut conn).unwrap(),
            (1..=latest_version()).collect::<Vec<_>>()
        );
        assert!(migrate(&mut conn).unwrap().is_empty());
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM schema_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, latest_version());
    }

    /// An in-memory catalog with the migrations up to `version` applied, as an older binary left it.
    fn migrated_to(version: i64) -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        let tx = conn.transaction().unwrap();
        tx.execute_batch(
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
        )
        .unwrap();
        for (v, script) in MIGRATIONS.iter().filter(|(v, _)| *v <= version) {
            tx.execute_batch(script).unwrap();
            tx.execute("INSERT INTO schema_version VALUES (?1, 0)", [v])
                .unwrap();
        }
        tx.commit().unwrap();
        conn
    }

    /// Rows written before migration 6 are counted into `copy_listing_days` by its backfill.
    #[test]
    fn listing_days_are_backfilled_from_existing_copies() {
        let mut conn = migrated_to(5);
        conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
        const DAY: i64 = 86_400;
        // (instance, destination, status, backup_started_at)
        let rows = [
            (1, "a", "completed", 10 * DAY),
            (1, "a", "failed", 10 * DAY + DAY - 1),
            (1, "a", "pending", 10 * DAY + 5),
            (1, "a", "completed", 11 * DAY),
            (1, "b", "completed", 10 * DAY + 7),
            (2, "a", "failed", 10 * DAY + 3),
            (2, "a", "completed", 12 * DAY + 3),
            (2, "a", "pending", 12 * DAY + 4),
        ];
        for (id, (instance, dest, status, started)) in rows.iter().enumerate() {
            conn.execute(
                "INSERT INTO copies (id, backup_set_id, instance_id, dest_region_id, object_key, status,
                                     backup_started_at, queued_at) VALUES (?1, ?1, ?2, ?3, 'k', ?4, ?5, 0)",
                (id as i64 + 1, instance, dest, status, started),
            )
            .unwrap();
        }
        assert_eq!(
            migrate(&mut conn).unwrap(),
            (6..=latest_version()).collect::<Vec<_>>()
        );
        let days: Vec<(i64, String, i64, i64)> = select_all(&conn, "SELECT instance_id, dest_region_id, day, listed FROM copy_listing_days ORDER BY 1, 2, 3", |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)));
        let expected: Vec<(i64, String, i64, i64)> = vec![
            (1, "a".into(), 10, 2),
            (1, "a".into(), 11, 1),
            (1, "b".into(), 10, 1),
            (2, "a".into(), 10, 1),
            (2, "a".into(), 12, 1),
        ];
        assert_eq!(days, expected);
        // And the triggers keep them from then on.
        conn.execute("UPDATE copies SET status = 'completed' WHERE id = 3", [])
            .unwrap();
        conn.execute("DELETE FROM copies WHERE id = 4", []).unwrap();
        let days: Vec<(i64, String, i64, i64)> = select_all(&conn, "SELECT instance_id, dest_region_id, day, listed FROM copy_listing_days WHERE instance_id = 1 ORDER BY 1, 2, 3", |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)));
        let expected: Vec<(i64, String, i64, i64)> =
            vec![(1, "a".into(), 10, 3), (1, "b".into(), 10, 1)];
        assert_eq!(days, expected);
    }

    /// Copies listed before migration 12 are in `listed_copies` after it, with their sets.
    #[test]
    fn listed_copies_are_backfilled_from_existing_copies() {
        let mut conn = migrated_to(11);
        conn.execute_batch(
            "PRAGMA foreign_keys = OFF;
             INSERT INTO backup_sets (id, instance_id, source_region_id, method, backup_type, scale,
                                      started_at, finished_at, consistent_at, instance_number,
                                      object_key, size_bytes, sha256, recorded_at)
             VALUES (1, 9, 'src', 'Physical', 'FullBackup', 0, 100, 160, 150, 7, 'set', 42, 'h', 0);
             INSERT INTO copies (id, backup_set_id, instance_id, dest_region_id, object_key, status,
                                 backup_started_at, queued_at, completed_at)
             VALUES (1, 1, 9, 'a', 'k1', 'completed', 100, 0, 200),
                    (2, 1, 9, 'b', 'k2', 'pending', 100, 0, NULL),
                    (3, 1, 9, 'c', 'k3', 'failed', 100, 0, 300);",
        )
        .unwrap();
        assert_eq!(migrate(&mut conn).unwrap(), [12]);
        let rows: Vec<(i64, String, String, i64, String, i64)> = select_all(
            &conn,
            "SELECT id, dest_region_id, object_key, completed_at, set_object_key, size_bytes \
             FROM listed_copies ORDER BY id",
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        );
        let expected: Vec<(i64, String, String, i64, String, i64)> = vec![
            (1, "a".into(), "k1".into(), 200, "set".into(), 42),
            (3, "c".into(), "k3".into(), 300, "set".into(), 42),
        ];
        assert_eq!(rows, expected);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        conn.execute(
            "INSERT INTO schema_version VALUES (?1, 0)",
            [latest_version() + 1],
        )
        .unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert!(
            matches!(err, CatalogError::Internal(ref m) if m.contains("newer")),
            "{err:?}"
        );
    }
}
