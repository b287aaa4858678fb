//! The backup agent's rows: instance connections, backup runs, daily schedules.

use rusqlite::{Connection, Row, Transaction};
use xbak_domain::time::Timestamp;
use xbak_domain::{
    BackupMethod, BackupRun, BackupRunStatus, BackupSchedule, BackupSetDetails, BackupSetScale,
    Dsn, InstanceConnection, NewBackupRun, NewBackupSet,
};

use super::backups;
use super::errors::{bad_value, SqlResultExt};
use super::instances::instance_by_id;
use super::rows::{all_rows, opt_time_at, optional_row, secs, time_at, wall_clock};
use crate::rules::{check_run_instance, running_run};
use crate::{CatalogError, RecordedBackupSet, Result};

#[derive(Debug, thiserror::Error)]
#[error("invalid {0} in catalog")]
struct BadValue(&'static str);

fn require_instance(conn: &Connection, instance_id: i64) -> Result<()> {
    instance_by_id(conn, instance_id)?
        .map(|_| ())
        .ok_or_else(|| CatalogError::NotFound(format!("instance {instance_id}")))
}

pub(super) fn put_instance_connection(tx: &Transaction<'_>, c: &InstanceConnection) -> Result<()> {
    require_instance(tx, c.instance_id)?;
    let (standby, standby_number) = match &c.standby {
        Some((dsn, n)) => (Some(dsn.expose()), Some(*n)),
        None => (None, None),
    };
    tx.prepare_cached(
        "INSERT INTO instance_connections (instance_id, dsn, standby_dsn, standby_instance_number, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (instance_id) DO UPDATE SET dsn = excluded.dsn, standby_dsn = excluded.standby_dsn,
             standby_instance_number = excluded.standby_instance_number, updated_at = excluded.updated_at",
    )
    .db()?
    .execute((c.instance_id, c.dsn.expose(), standby, standby_number, wall_clock()))
    .db_as(|| format!("connection of instance {}", c.instance_id))?;
    Ok(())
}

fn dsn_at(row: &Row<'_>, idx: usize) -> rusqlite::Result<Dsn> {
    let s: String = row.get(idx)?;
    // The error must not quote the DSN: it holds a password.
    Dsn::parse(&s).map_err(|_| bad_value(idx, BadValue("DSN")))
}

pub(super) fn instance_connection(
    conn: &Connection,
    instance_id: i64,
) -> Result<Option<InstanceConnection>> {
    optional_row(conn, "SELECT dsn, standby_dsn, standby_instance_number FROM instance_connections WHERE instance_id = ?1", [instance_id], |row| {
        let standby = match row.get::<_, Option<String>>(1)? {
            Some(_) => Some((dsn_at(row, 1)?, row.get::<_, i64>(2)?)),
            None => None,
        };
        Ok(InstanceConnection {
            instance_id,
            dsn: dsn_at(row, 0)?,
            standby,
        })
    })
}

const RUN_COLUMNS: &str = "id, instance_id, method, backup_type, scale, database_name, instance_number, \
     run_trigger, status, started_at, finished_at, error, backup_set_id, manifest_key, base_set_id, from_lsn, to_lsn";

fn run_at(row: &Row<'_>) -> rusqlite::Result<BackupRun> {
    fn parsed<T: std::str::FromStr>(row: &Row<'_>, idx: usize) -> rusqlite::Result<T> {
        let s: String = row.get(idx)?;
        s.parse()
            .map_err(|_| bad_value(idx, BadValue("backup run field")))
    }
    let status: String = row.get(8)?;
    let status =
        BackupRunStatus::parse(&status).ok_or_else(|| bad_value(8, BadValue("run status")))?;
    let scale: i64 = row.get(4)?;
    let manifest_key: Option<String> = row.get(13)?;
    let lsn = |idx: usize| -> rusqlite::Result<Option<u64>> {
        Ok(row.get::<_, Option<i64>>(idx)?.map(|v| v as u64))
    };
    Ok(BackupRun {
        id: row.get(0)?,
        instance_id: row.get(1)?,
        method: parsed(row, 2)?,
        backup_type: parsed(row, 3)?,
        scale: BackupSetScale::from_i64(scale).map_err(|e| bad_value(4, e))?,
        database: row.get(5)?,
        instance_number: row.get(6)?,
        trigger: row.get(7)?,
        status,
        started_at: time_at(row, 9)?,
        finished_at: opt_time_at(row, 10)?,
        error: row.get(11)?,
        backup_set_id: row.get(12)?,
        details: match manifest_key {
            Some(manifest_key) => Some(BackupSetDetails {
                manifest_key,
                base_set_id: row.get(14)?,
                from_lsn: lsn(15)?,
                to_lsn: lsn(16)?,
            }),
            None => None,
        },
    })
}

pub(super) fn start_backup_run(tx: &Transaction<'_>, new: &NewBackupRun) -> Result<BackupRun> {
    require_instance(tx, new.instance_id)?;
    tx.prepare_cached(
        "INSERT INTO backup_runs (instance_id, method, backup_type, scale, database_name, instance_number,
                                  run_trigger, status, started_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'running', ?8)",
    )
    .db()?
    .execute((
        new.instance_id,
        new.method.as_str(),
        new.backup_type.as_str(),
        new.scale.as_i64(),
        &new.database,
        new.instance_number,
        &new.trigger,
        secs(new.started_at),
    ))
    .db_as(|| format!("backup run of instance {}", new.instance_id))?;
    let id = tx.last_insert_rowid();
    backup_run(tx, id)?.ok_or_else(|| CatalogError::Internal("recorded backup run vanished".into()))
}

/// The run, which must exist and be running.
fn running(tx: &Transaction<'_>, run_id: i64) -> Result<BackupRun> {
    let run = backup_run(tx, run_id)?;
    running_run(run_id, run)
}

pub(super) fn complete_backup_run(
    tx: &Transaction<'_>,
    run_id: i64,
    set: &NewBackupSet,
    details: &BackupSetDetails,
) -> Result<RecordedBackupSet> {
    let run = running(tx, run_id)?;
    check_run_instance(&run, set.instance_id)?;
    let recorded = backups::record_backup_set(tx, set)?;
    tx.prepare_cached(
        "UPDATE backup_runs SET status = 'completed', finished_at = ?2, backup_set_id = ?3, manifest_key = ?4,
                                base_set_id = ?5, from_lsn = ?6, to_lsn = ?7
         WHERE id = ?1",
    )
    .db()?
    .execute((
        run_id,
        secs(set.finished_at),
        recorded.backup_set.id,
        &details.manifest_key,
        details.base_set_id,
        details.from_lsn.map(|v| v as i64),
        details.to_lsn.map(|v| v as i64),
    ))
    .db_as(|| format!("backup run {run_id}"))?;
    Ok(recorded)
}

pub(super) fn fail_backup_run(
    tx: &Transaction<'_>,
    run_id: i64,
    finished_at: Timestamp,
    error: &str,
) -> Result<()> {
    running(tx, run_id)?;
    tx.prepare_cached(
        "UPDATE backup_runs SET status = 'failed', finished_at = ?2, error = ?3 WHERE id = ?1",
    )
    .db()?
    .execute((run_id, secs(finished_at), error))
    .db()?;
    Ok(())
}

pub(super) fn touch_backup_run(tx: &Transaction<'_>, run_id: i64, now: Timestamp) -> Result<bool> {
    let updated = tx
        .prepare_cached(
            "UPDATE backup_runs SET heartbeat_at = ?2 WHERE id = ?1 AND status = 'running'",
        )
        .db()?
        .execute((run_id, secs(now)))
        .db()?;
    Ok(updated == 1)
}

pub(super) fn fail_stale_backup_runs(
    tx: &Transaction<'_>,
    now: Timestamp,
    silent_since: Timestamp,
) -> Result<Vec<i64>> {
    let mut stmt = tx
        .prepare_cached(
            "UPDATE backup_runs
                SET status = 'failed', finished_at = ?1,
                    error = 'interrupted: its agent stopped (no heartbeat since ' ||
                            strftime('%Y-%m-%dT%H:%M:%SZ', COALESCE(heartbeat_at, started_at), 'unixepoch') || ')'
              WHERE status = 'running' AND COALESCE(heartbeat_at, started_at) < ?2
          RETURNING id",
        )
        .db()?;
    let ids = stmt
        .query_map((secs(now), secs(silent_since)), |row| row.get(0))
        .db()?
        .collect::<rusqlite::Result<Vec<i64>>>()
        .db()?;
    Ok(ids)
}

pub(super) fn backup_run(conn: &Connection, run_id: i64) -> Result<Option<BackupRun>> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM backup_runs WHERE id = ?1");
    optional_row(conn, &sql, [run_id], run_at)
}

pub(super) fn backup_run_of_set(conn: &Connection, set_id: i64) -> Result<Option<BackupRun>> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM backup_runs WHERE backup_set_id = ?1");
    optional_row(conn, &sql, [set_id], run_at)
}

pub(super) fn backup_runs(
    conn: &Connection,
    instance_id: i64,
    limit: u32,
) -> Result<Vec<BackupRun>> {
    let sql = format!(
        "SELECT {RUN_COLUMNS} FROM backup_runs WHERE instance_id = ?1 ORDER BY id DESC LIMIT ?2"
    );
    all_rows(conn, &sql, (instance_id, limit), run_at)
}

pub(super) fn latest_completed_backup_run(
    conn: &Connection,
    instance_id: i64,
    method: BackupMethod,
    instance_number: i64,
) -> Result<Option<BackupRun>> {
    let sql = format!(
        "SELECT {RUN_COLUMNS} FROM backup_runs
         WHERE instance_id = ?1 AND method = ?2 AND instance_number = ?3 AND status = 'completed'
           AND scale = 0
         ORDER BY id DESC LIMIT 1"
    );
    optional_row(
        conn,
        &sql,
        (instance_id, method.as_str(), instance_number),
        run_at,
    )
}

pub(super) fn put_backup_schedule(tx: &Transaction<'_>, s: &BackupSchedule) -> Result<()> {
    require_instance(tx, s.instance_id)?;
    tx.prepare_cached(
        "INSERT INTO backup_schedules (instance_id, at_minute, window_minutes, method, backup_type, database_name,
                                       enabled, last_run_day, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (instance_id) DO UPDATE SET at_minute = excluded.at_minute,
             window_minutes = excluded.window_minutes, method = excluded.method,
             backup_type = excluded.backup_type, database_name = excluded.database_name,
             enabled = excluded.enabled, updated_at = excluded.updated_at",
    )
    .db()?
    .execute((
        s.instance_id,
        s.at_minute,
        s.window_minutes,
        s.method.as_str(),
        s.backup_type.as_str(),
        &s.database,
        s.enabled,
        &s.last_run_day,
        wall_clock(),
    ))
    .db_as(|| format!("schedule of instance {}", s.instance_id))?;
    Ok(())
}

pub(super) fn delete_backup_schedule(tx: &Transaction<'_>, instance_id: i64) -> Result<bool> {
    let n = tx
        .prepare_cached("DELETE FROM backup_schedules WHERE instance_id = ?1")
        .db()?
        .execute([instance_id])
        .db()?;
    Ok(n > 0)
}

pub(super) fn backup_schedules(conn: &Connection) -> Result<Vec<BackupSchedule>> {
    all_rows(conn, "SELECT instance_id, at_minute, window_minutes, method, backup_type, database_name, enabled,
                    last_run_day
             FROM backup_schedules ORDER BY instance_id", [], |row| {
            let method: String = row.get(3)?;
            let backup_type: String = row.get(4)?;
            Ok(BackupSchedule {
                instance_id: row.get(0)?,
                at_minute: row.get(1)?,
                window_minutes: row.get(2)?,
                method: method.parse().map_err(|e| bad_value(3, e))?,
                backup_type: backup_type.parse().map_err(|e| bad_value(4, e))?,
                database: row.get(5)?,
                enabled: row.get(6)?,
                last_run_day: row.get(7)?,
            })
        })
}

pub(super) fn claim_scheduled_backup(
    tx: &Transaction<'_>,
    instance_id: i64,
    day: &str,
) -> Result<bool> {
    let n = tx
        .prepare_cached(
            "UPDATE backup_schedules SET last_run_day = ?2
             WHERE instance_id = ?1 AND enabled = 1 AND (last_run_day IS NULL OR last_run_day <> ?2)",
        )
        .db()?
        .execute((instance_id, day))
        .db()?;
    Ok(n == 1)
}
