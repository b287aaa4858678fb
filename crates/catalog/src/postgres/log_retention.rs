//! Retention of log files: which closed log files (in any region) have outlived their
//! instance's policy, turning their rows into tombstones until their objects are deleted (SQL
//! in `crate::binlog_sql`, with `$N` parameters).

use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::Row;
use xbak_domain::time::Timestamp;

use super::rows::{execute, get, optional_row, rows, secs, time_at};
use crate::binlog_sql as sql;
use crate::lease_sql::dollars;
use crate::{ExpiredLogFile, ExpiringLogObject, Result};

/// Retention's tombstones for log files. As SQLite's migration 10.
pub(super) const V6_EXPIRING_LOG_FILES: &str = r#"
CREATE TABLE expiring_log_files (
    log_file_id  BIGINT PRIMARY KEY,
    instance_id  BIGINT NOT NULL REFERENCES instances (id),
    region_id    TEXT NOT NULL REFERENCES regions (region_id),
    object_key   TEXT NOT NULL,
    expired_at   BIGINT NOT NULL
);
CREATE INDEX expiring_log_files_by_age ON expiring_log_files (expired_at, log_file_id);
"#;

/// Deleting the row and writing its tombstone in one statement: a concurrent expiry of the
/// same file waits for this one and then deletes nothing. A closed file has no segment rows.
const BEGIN_LOG_EXPIRY: &str = "
WITH gone AS (
    DELETE FROM log_files WHERE id = $1 AND state = 'closed' AND object_key IS NOT NULL
    RETURNING id, instance_id, region_id, object_key)
INSERT INTO expiring_log_files (log_file_id, instance_id, region_id, object_key, expired_at)
SELECT id, instance_id, region_id, object_key, $2 FROM gone
RETURNING log_file_id, instance_id, region_id, object_key";

pub(super) async fn expired_log_files(
    c: &impl GenericClient,
    now: Timestamp,
    limit: u32,
) -> Result<Vec<ExpiredLogFile>> {
    rows(
        c,
        &dollars(sql::EXPIRED_FILES),
        &[&secs(now), &i64::from(limit)],
        |r| {
            Ok(ExpiredLogFile {
                log_file_id: get(r, 0)?,
                instance_id: get(r, 1)?,
                region_id: get(r, 2)?,
                file_name: get(r, 3)?,
                object_key: get(r, 4)?,
                last_event_at: time_at(r, 5)?,
            })
        },
    )
    .await
}

pub(super) async fn begin_log_expiry(
    tx: &Transaction<'_>,
    log_file_id: i64,
    now: Timestamp,
) -> Result<Option<ExpiringLogObject>> {
    optional_row(
        tx,
        BEGIN_LOG_EXPIRY,
        &[&log_file_id, &secs(now)],
        expiring_at,
    )
    .await
}

pub(super) async fn expiring_log_objects(
    c: &impl GenericClient,
    limit: u32,
) -> Result<Vec<ExpiringLogObject>> {
    rows(
        c,
        &dollars(sql::LOG_TOMBSTONES),
        &[&i64::from(limit)],
        expiring_at,
    )
    .await
}

pub(super) async fn finish_log_expiry(tx: &Transaction<'_>, log_file_id: i64) -> Result<bool> {
    let n = execute(
        tx,
        &dollars(sql::FINISH_LOG_TOMBSTONE),
        &[&log_file_id],
        || format!("tombstone of log file {log_file_id}"),
    )
    .await?;
    Ok(n > 0)
}

fn expiring_at(r: &Row) -> Result<ExpiringLogObject> {
    Ok(ExpiringLogObject {
        log_file_id: get(r, 0)?,
        instance_id: get(r, 1)?,
        region_id: get(r, 2)?,
        object_key: get(r, 3)?,
    })
}
