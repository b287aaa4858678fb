//! Retention of log files: which closed log files (in any region) have outlived their
//! instance's policy, turning their rows into tombstones until their objects are deleted (SQL
//! in `crate::binlog_sql`).

use rusqlite::{Connection, Row, Transaction};
use xbak_domain::time::Timestamp;

use super::errors::SqlResultExt;
use super::rows::{all_rows, optional_row, secs, time_at};
use crate::binlog_sql as sql;
use crate::{ExpiredLogFile, ExpiringLogObject, Result};

/// Retention's tombstones for log files, as `expiring_copies` for copies: expiring a log file
/// deletes its row (so no listing or recovery window shows it) and inserts its tombstone here
/// in the same transaction; the tombstone names the object until retention has deleted it.
pub(super) const V10_EXPIRING_LOG_FILES: &str = r#"
-- `log_file_id` is the expired row's id (AUTOINCREMENT there, so never reused).
CREATE TABLE expiring_log_files (
    log_file_id  INTEGER PRIMARY KEY,
    instance_id  INTEGER NOT NULL REFERENCES instances (id),
    region_id    TEXT NOT NULL REFERENCES regions (region_id),
    object_key   TEXT NOT NULL,
    expired_at   INTEGER NOT NULL
);
CREATE INDEX expiring_log_files_by_age ON expiring_log_files (expired_at, log_file_id);
"#;

/// Closed log file `?1` (`id, instance_id, region_id, object_key`): what its tombstone names.
const CLOSED_FILE_OBJECT: &str = "
SELECT id, instance_id, region_id, object_key FROM log_files
WHERE id = ?1 AND state = 'closed' AND object_key IS NOT NULL";

/// The tombstone of log file `?1`: instance `?2`, region `?3`, key `?4`, expired at `?5`.
const INSERT_LOG_TOMBSTONE: &str = "
INSERT INTO expiring_log_files (log_file_id, instance_id, region_id, object_key, expired_at)
VALUES (?1, ?2, ?3, ?4, ?5)";

/// Deletes log file row `?1` (a closed file: it has no segment rows).
const DELETE_FILE: &str = "DELETE FROM log_files WHERE id = ?1";

pub(super) fn expired_log_files(
    conn: &Connection,
    now: Timestamp,
    limit: u32,
) -> Result<Vec<ExpiredLogFile>> {
    all_rows(
        conn,
        sql::EXPIRED_FILES,
        (secs(now), i64::from(limit)),
        |r| {
            Ok(ExpiredLogFile {
                log_file_id: r.get(0)?,
                instance_id: r.get(1)?,
                region_id: r.get(2)?,
                file_name: r.get(3)?,
                object_key: r.get(4)?,
                last_event_at: time_at(r, 5)?,
            })
        },
    )
}

/// Reads, tombstones and deletes the row in one write transaction (SQLite has one writer at a
/// time, so a concurrent begin finds the row gone).
pub(super) fn begin_log_expiry(
    tx: &Transaction<'_>,
    log_file_id: i64,
    now: Timestamp,
) -> Result<Option<ExpiringLogObject>> {
    let Some(file) = optional_row(tx, CLOSED_FILE_OBJECT, [log_file_id], expiring_at)? else {
        return Ok(None);
    };
    tx.prepare_cached(INSERT_LOG_TOMBSTONE)
        .db()?
        .execute((
            file.log_file_id,
            file.instance_id,
            &file.region_id,
            &file.object_key,
            secs(now),
        ))
        .db_as(|| format!("tombstone of log file {log_file_id}"))?;
    tx.prepare_cached(DELETE_FILE)
        .db()?
        .execute([log_file_id])
        .db()?;
    Ok(Some(file))
}

pub(super) fn expiring_log_objects(
    conn: &Connection,
    limit: u32,
) -> Result<Vec<ExpiringLogObject>> {
    all_rows(conn, sql::LOG_TOMBSTONES, [i64::from(limit)], expiring_at)
}

pub(super) fn finish_log_expiry(tx: &Transaction<'_>, log_file_id: i64) -> Result<bool> {
    let n = tx
        .prepare_cached(sql::FINISH_LOG_TOMBSTONE)
        .db()?
        .execute([log_file_id])
        .db()?;
    Ok(n > 0)
}

fn expiring_at(r: &Row<'_>) -> rusqlite::Result<ExpiringLogObject> {
    Ok(ExpiringLogObject {
        log_file_id: r.get(0)?,
        instance_id: r.get(1)?,
        region_id: r.get(2)?,
        object_key: r.get(3)?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::rows::{ones, query_plan};
    use super::*;

    fn plan(conn: &Connection, sql: &str, n: usize) -> String {
        query_plan(conn, sql, ones(n))
    }

    /// Expired files are found per instance through `log_files_by_time`, never by scanning
    /// every log file; tombstones are read in index order.
    #[test]
    fn queries_use_the_log_file_indexes() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::migrations::migrate(&mut conn).unwrap();
        let expired = plan(&conn, sql::EXPIRED_FILES, 2);
        assert!(expired.contains("INDEX log_files_by_time"), "{expired}");
        let tombstones = plan(&conn, sql::LOG_TOMBSTONES, 1);
        assert!(
            tombstones.contains("INDEX expiring_log_files_by_age"),
            "{tombstones}"
        );
        assert!(!tombstones.contains("TEMP B-TREE"), "{tombstones}");
    }

    /// Log files of an instance without a policy are kept: nothing says how long to keep them.
    /// (Only a direct write makes such files: a stream needs a policy with log backup on.)
    #[test]
    fn files_of_instances_without_a_policy_never_expire() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::migrations::migrate(&mut conn).unwrap();
        conn.execute_batch(
            "INSERT INTO accounts (id, name, created_at) VALUES (1, 'a', 0);
             INSERT INTO regions VALUES ('r1', 'memory://'), ('r2', 'memory://');",
        )
        .unwrap();
        for n in 1..=2 {
            conn.execute(
                "INSERT INTO instances (id, db_instance_id, account_id, region_id, engine,
                   engine_version, category, storage_type, instance_number, created_at)
                 VALUES (?1, 'rm-' || ?1, 1, 'r1', 'MySQL', '5.7', 'HighAvailability',
                   'local_ssd', ?1, 0)",
                [n],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO log_files (instance_id, region_id, file_name, sequence, size,
                   last_event_at, state, object_key, created_at)
                 VALUES (?1, 'r1', 'bin.000001', 1, 100, 0, 'closed', 'k' || ?1, 0)",
                [n],
            )
            .unwrap();
        }
        conn.execute(
            "INSERT INTO policies (instance_id, enabled, dest_region_id, retention_days, updated_at)
             VALUES (2, 0, 'r2', 7, 0)",
            [],
        )
        .unwrap();
        let now = chrono::DateTime::from_timestamp(100 * 86400, 0).unwrap();
        let expired = expired_log_files(&conn, now, 10).unwrap();
        let instances: Vec<_> = expired.iter().map(|e| e.instance_id).collect();
        assert_eq!(instances, vec![2]);
    }
}
