//! The backup agent's rows: instance connections, backup runs, daily schedules.

use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::Row;
use xbak_domain::time::Timestamp;
use xbak_domain::{
    BackupMethod, BackupRun, BackupRunStatus, BackupSchedule, BackupSetDetails, BackupSetScale,
    Dsn, InstanceConnection, NewBackupRun, NewBackupSet,
};

use super::backups;
use super::instances::instance_by_id;
use super::rows::{
    execute, get, opt_time_at, optional_row, parsed_at, query_opt, rows, schedule_at, secs,
    time_at, wall_clock,
};
use crate::rules::{check_run_instance, running_run};
use crate::{CatalogError, RecordedBackupSet, Result};

fn invalid(what: &str) -> CatalogError {
    CatalogError::Internal(format!("invalid {what} in catalog"))
}

async fn require_instance(c: &impl GenericClient, instance_id: i64) -> Result<()> {
    instance_by_id(c, instance_id)
        .await?
        .map(|_| ())
        .ok_or_else(|| CatalogError::NotFound(format!("instance {instance_id}")))
}

pub(super) async fn put_instance_connection(
    tx: &Transaction<'_>,
    c: &InstanceConnection,
) -> Result<()> {
    require_instance(tx, c.instance_id).await?;
    let (standby, standby_number) = match &c.standby {
        Some((dsn, n)) => (Some(dsn.expose()), Some(*n)),
        None => (None, None),
    };
    execute(
        tx,
        "INSERT INTO instance_connections (instance_id, dsn, standby_dsn, standby_instance_number, updated_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (instance_id) DO UPDATE SET dsn = excluded.dsn, standby_dsn = excluded.standby_dsn,
             standby_instance_number = excluded.standby_instance_number, updated_at = excluded.updated_at",
        &[&c.instance_id, &c.dsn.expose(), &standby, &standby_number, &wall_clock()],
        || format!("connection of instance {}", c.instance_id),
    )
    .await?;
    Ok(())
}

fn dsn_at(row: &Row, idx: usize) -> Result<Dsn> {
    let s: String = get(row, idx)?;
    // The error must not quote the DSN: it holds a password.
    Dsn::parse(&s).map_err(|_| invalid("DSN"))
}

pub(super) async fn instance_connection(
    c: &impl GenericClient,
    instance_id: i64,
) -> Result<Option<InstanceConnection>> {
    optional_row(
        c,
        "SELECT dsn, standby_dsn, standby_instance_number FROM instance_connections WHERE instance_id = $1",
        &[&instance_id], |row| {
        let standby = match get::<Option<String>>(row, 1)? {
            Some(_) => Some((dsn_at(row, 1)?, get::<i64>(row, 2)?)),
            None => None,
        };
        Ok(InstanceConnection {
            instance_id,
            dsn: dsn_at(row, 0)?,
            standby,
        })
    }).await
}

const RUN_COLUMNS: &str = "id, instance_id, method, backup_type, scale, database_name, instance_number, \
     run_trigger, status, started_at, finished_at, error, backup_set_id, manifest_key, base_set_id, from_lsn, to_lsn";

fn run_at(row: &Row) -> Result<BackupRun> {
    let status: String = get(row, 8)?;
    let status = BackupRunStatus::parse(&status).ok_or_else(|| invalid("run status"))?;
    let scale: i64 = get(row, 4)?;
    let manifest_key: Option<String> = get(row, 13)?;
    let lsn =
        |idx: usize| -> Result<Option<u64>> { Ok(get::<Option<i64>>(row, idx)?.map(|v| v as u64)) };
    Ok(BackupRun {
        id: get(row, 0)?,
        instance_id: get(row, 1)?,
        method: parsed_at(row, 2)?,
        backup_type: parsed_at(row, 3)?,
        scale: BackupSetScale::from_i64(scale).map_err(|_| invalid("scale"))?,
        database: get(row, 5)?,
        instance_number: get(row, 6)?,
        trigger: get(row, 7)?,
        status,
        started_at: time_at(row, 9)?,
        finished_at: opt_time_at(row, 10)?,
        error: get(row, 11)?,
        backup_set_id: get(row, 12)?,
        details: match manifest_key {
            Some(manifest_key) => Some(BackupSetDetails {
                manifest_key,
                base_set_id: get(row, 14)?,
                from_lsn: lsn(15)?,
                to_lsn: lsn(16)?,
            }),
            None => None,
        },
    })
}

pub(super) async fn start_backup_run(
    tx: &Transaction<'_>,
    new: &NewBackupRun,
) -> Result<BackupRun> {
    require_instance(tx, new.instance_id).await?;
    let sql = format!(
        "INSERT INTO backup_runs (instance_id, method, backup_type, scale, database_name, instance_number,
                                  run_trigger, status, started_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'running', $8)
         RETURNING {RUN_COLUMNS}"
    );
    let row = query_opt(
        tx,
        &sql,
        &[
            &new.instance_id,
            &new.method.as_str(),
            &new.backup_type.as_str(),
            &new.scale.as_i64(),
            &new.database,
            &new.instance_number,
            &new.trigger,
            &secs(new.started_at),
        ],
    )
    .await?
    .ok_or_else(|| CatalogError::Internal("recorded backup run vanished".into()))?;
    run_at(&row)
}

/// The run, which must exist and be running; its row stays locked until the transaction ends,
/// so two finishers of one run cannot both see it running.
async fn running(tx: &Transaction<'_>, run_id: i64) -> Result<BackupRun> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM backup_runs WHERE id = $1 FOR UPDATE");
    let run = optional_row(tx, &sql, &[&run_id], run_at).await?;
    running_run(run_id, run)
}

pub(super) async fn complete_backup_run(
    tx: &Transaction<'_>,
    run_id: i64,
    set: &NewBackupSet,
    details: &BackupSetDetails,
) -> Result<RecordedBackupSet> {
    let run = running(tx, run_id).await?;
    check_run_instance(&run, set.instance_id)?;
    let recorded = backups::record_backup_set(tx, set).await?;
    execute(
        tx,
        "UPDATE backup_runs SET status = 'completed', finished_at = $2, backup_set_id = $3, manifest_key = $4,
                                base_set_id = $5, from_lsn = $6, to_lsn = $7
         WHERE id = $1",
        &[
            &run_id,
            &secs(set.finished_at),
            &recorded.backup_set.id,
            &details.manifest_key,
            &details.base_set_id,
            &details.from_lsn.map(|v| v as i64),
            &details.to_lsn.map(|v| v as i64),
        ],
        || format!("backup run {run_id}"),
    )
    .await?;
    Ok(recorded)
}

pub(super) async fn fail_backup_run(
    tx: &Transaction<'_>,
    run_id: i64,
    finished_at: Timestamp,
    error: &str,
) -> Result<()> {
    running(tx, run_id).await?;
    execute(
        tx,
        "UPDATE backup_runs SET status = 'failed', finished_at = $2, error = $3 WHERE id = $1",
        &[&run_id, &secs(finished_at), &error],
        || format!("backup run {run_id}"),
    )
    .await?;
    Ok(())
}

pub(super) async fn touch_backup_run(
    tx: &Transaction<'_>,
    run_id: i64,
    now: Timestamp,
) -> Result<bool> {
    let updated = execute(
        tx,
        "UPDATE backup_runs SET heartbeat_at = $2 WHERE id = $1 AND status = 'running'",
        &[&run_id, &secs(now)],
        || format!("backup run {run_id}"),
    )
    .await?;
    Ok(updated == 1)
}

pub(super) async fn fail_stale_backup_runs(
    tx: &Transaction<'_>,
    now: Timestamp,
    silent_since: Timestamp,
) -> Result<Vec<i64>> {
    rows(
        tx,
        "UPDATE backup_runs
            SET status = 'failed', finished_at = $1,
                error = 'interrupted: its agent stopped (no heartbeat since ' ||
                        to_char(to_timestamp(COALESCE(heartbeat_at, started_at)) AT TIME ZONE 'UTC',
                                'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') || ')'
          WHERE status = 'running' AND COALESCE(heartbeat_at, started_at) < $2
      RETURNING id",
        &[&secs(now), &secs(silent_since)],
        |row| get(row, 0),
    )
    .await
}

pub(super) async fn backup_run(c: &impl GenericClient, run_id: i64) -> Result<Option<BackupRun>> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM backup_runs WHERE id = $1");
    optional_row(c, &sql, &[&run_id], run_at).await
}

pub(super) async fn backup_run_of_set(
    c: &impl GenericClient,
    set_id: i64,
) -> Result<Option<BackupRun>> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM backup_runs WHERE backup_set_id = $1");
    optional_row(c, &sql, &[&set_id], run_at).await
}

pub(super) async fn backup_runs(
    c: &impl GenericClient,
    instance_id: i64,
    limit: u32,
) -> Result<Vec<BackupRun>> {
    let sql = format!(
        "SELECT {RUN_COLUMNS} FROM backup_runs WHERE instance_id = $1 ORDER BY id DESC LIMIT $2"
    );
    rows(c, &sql, &[&instance_id, &i64::from(limit)], run_at).await
}

pub(super) async fn latest_completed_backup_run(
    c: &impl GenericClient,
    instance_id: i64,
    method: BackupMethod,
    instance_number: i64,
) -> Result<Option<BackupRun>> {
    let sql = format!(
        "SELECT {RUN_COLUMNS} FROM backup_runs
         WHERE instance_id = $1 AND method = $2 AND instance_number = $3 AND status = 'completed'
           AND scale = 0
         ORDER BY id DESC LIMIT 1"
    );
    optional_row(
        c,
        &sql,
        &[&instance_id, &method.as_str(), &instance_number],
        run_at,
    )
    .await
}

pub(super) async fn put_backup_schedule(tx: &Transaction<'_>, s: &BackupSchedule) -> Result<()> {
    require_instance(tx, s.instance_id).await?;
    execute(
        tx,
        "INSERT INTO backup_schedules (instance_id, at_minute, window_minutes, method, backup_type, database_name,
                                       enabled, last_run_day, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (instance_id) DO UPDATE SET at_minute = excluded.at_minute,
             window_minutes = excluded.window_minutes, method = excluded.method,
             backup_type = excluded.backup_type, database_name = excluded.database_name,
             enabled = excluded.enabled, updated_at = excluded.updated_at",
        &[
            &s.instance_id,
            &i64::from(s.at_minute),
            &i64::from(s.window_minutes),
            &s.method.as_str(),
            &s.backup_type.as_str(),
            &s.database,
            &s.enabled,
            &s.last_run_day,
            &wall_clock(),
        ],
        || format!("schedule of instance {}", s.instance_id),
    )
    .await?;
    Ok(())
}

pub(super) async fn delete_backup_schedule(tx: &Transaction<'_>, instance_id: i64) -> Result<bool> {
    let n = execute(
        tx,
        "DELETE FROM backup_schedules WHERE instance_id = $1",
        &[&instance_id],
        || format!("schedule of instance {instance_id}"),
    )
    .await?;
    Ok(n > 0)
}

pub(super) async fn backup_schedules(c: &impl GenericClient) -> Result<Vec<BackupSchedule>> {
    rows(
        c,
        "SELECT instance_id, at_minute, window_minutes, method, backup_type, database_name, enabled,
                last_run_day
         FROM backup_schedules ORDER BY instance_id",
        &[], schedule_at).await
}

pub(super) async fn claim_scheduled_backup(
    tx: &Transaction<'_>,
    instance_id: i64,
    day: &str,
) -> Result<bool> {
    // A concurrent claimer of the same row waits for this one, then re-checks the condition
    // against the committed `last_run_day` and updates nothing.
    let n = execute(
        tx,
        "UPDATE backup_schedules SET last_run_day = $2
         WHERE instance_id = $1 AND enabled AND (last_run_day IS NULL OR last_run_day <> $2)",
        &[&instance_id, &day],
        || format!("schedule of instance {instance_id}"),
    )
    .await?;
    Ok(n == 1)
}
