//! The statement helpers the areas call, and the row mappers of every area (over the column
//! lists of `crate::columns`, or the columns each mapper names).

use deadpool_postgres::GenericClient;
use std::sync::Arc;
use tokio_postgres::types::{FromSql, ToSql};
use tokio_postgres::Row;
use xbak_domain::time::Timestamp;
use xbak_domain::{
    AccessKey, Account, BackupSchedule, BackupSet, BackupSetScale, CopyJob, CopyStatus,
    CrossRegionCopy, Instance, ListedCopy, Policy, Region,
};

use super::errors::PgResultExt;
use crate::{CatalogError, ExpiredCopy, ExpiringObject, Result};

pub(crate) use crate::columns::{copy_columns, BACKUP_SET_COLUMNS, INSTANCE_COLUMNS};
use crate::columns::{BACKUP_SET_WIDTH, COPY_WIDTH};

pub(crate) use crate::rules::{secs, wall_clock};

/// A read-only REPEATABLE READ transaction: one snapshot for the several statements of a
/// `snapshot` method, so they agree under concurrent writes.
pub(crate) async fn read_snapshot(
    client: &mut deadpool_postgres::ClientWrapper,
) -> Result<deadpool_postgres::Transaction<'_>> {
    client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .db()
}

/// Bound parameters of one statement.
pub(crate) type Params<'a> = [&'a (dyn ToSql + Sync)];

/// Runs a cached statement; returns its rows.
pub(crate) async fn query(
    c: &impl GenericClient,
    sql: &str,
    params: &Params<'_>,
) -> Result<Vec<Row>> {
    let stmt = c.prepare_cached(sql).await.db()?;
    c.query(&stmt, params).await.db()
}

/// Runs a cached statement; returns its one row or none.
pub(crate) async fn query_opt(
    c: &impl GenericClient,
    sql: &str,
    params: &Params<'_>,
) -> Result<Option<Row>> {
    let stmt = c.prepare_cached(sql).await.db()?;
    c.query_opt(&stmt, params).await.db()
}

/// Runs a cached statement; returns its one row mapped by `map`, or none.
pub(crate) async fn optional_row<T>(
    c: &impl GenericClient,
    sql: &str,
    params: &Params<'_>,
    map: impl FnOnce(&Row) -> Result<T>,
) -> Result<Option<T>> {
    query_opt(c, sql, params)
        .await?
        .as_ref()
        .map(map)
        .transpose()
}

/// Runs a cached statement; returns its rows mapped by `map`.
pub(crate) async fn rows<T>(
    c: &impl GenericClient,
    sql: &str,
    params: &Params<'_>,
    map: impl FnMut(&Row) -> Result<T>,
) -> Result<Vec<T>> {
    query(c, sql, params).await?.iter().map(map).collect()
}

/// Runs a cached statement that returns exactly one row.
pub(crate) async fn query_one(
    c: &impl GenericClient,
    sql: &str,
    params: &Params<'_>,
) -> Result<Row> {
    let stmt = c.prepare_cached(sql).await.db()?;
    c.query_one(&stmt, params).await.db()
}

/// Runs a cached statement; returns the rows it changed. `subject` names the row for
/// `Conflict`/`NotFound`.
pub(crate) async fn execute(
    c: &impl GenericClient,
    sql: &str,
    params: &Params<'_>,
    subject: impl FnOnce() -> String,
) -> Result<u64> {
    let stmt = c.prepare_cached(sql).await.db()?;
    c.execute(&stmt, params).await.db_as(subject)
}

/// Column `idx` of `row`.
pub(crate) fn get<'a, T: FromSql<'a>>(row: &'a Row, idx: usize) -> Result<T> {
    row.try_get(idx).db()
}

fn bad(what: &str, value: impl std::fmt::Display) -> CatalogError {
    tracing::error!(%value, "invalid {what} in catalog");
    CatalogError::Internal(format!("invalid {what} in catalog"))
}

/// Unix seconds to a timestamp.
pub(crate) fn to_time(s: i64) -> Result<Timestamp> {
    chrono::DateTime::from_timestamp(s, 0).ok_or_else(|| bad("timestamp", s))
}

pub(crate) fn time_at(row: &Row, idx: usize) -> Result<Timestamp> {
    to_time(get(row, idx)?)
}

pub(crate) fn opt_time_at(row: &Row, idx: usize) -> Result<Option<Timestamp>> {
    get::<Option<i64>>(row, idx)?.map(to_time).transpose()
}

/// Column `idx` parsed by the domain, in place: the text is borrowed from the row, not copied
/// into a `String` first (three per listed copy, 90 on a page of 30, as the SQLite adapter does).
pub(crate) fn parsed_at<T>(row: &Row, idx: usize) -> Result<T>
where
    T: std::str::FromStr,
{
    let s: &str = get(row, idx)?;
    s.parse().map_err(|_| bad("value", s))
}

pub(crate) fn status_at(row: &Row, idx: usize) -> Result<CopyStatus> {
    let s: &str = get(row, idx)?;
    CopyStatus::parse(s).ok_or_else(|| bad("copy status", s))
}

pub(crate) fn instance_at(row: &Row, base: usize) -> Result<Instance> {
    Ok(Instance {
        id: get(row, base)?,
        db_instance_id: get(row, base + 1)?,
        region_id: get(row, base + 2)?,
        account_id: get(row, base + 3)?,
        engine: get(row, base + 4)?,
        engine_version: get(row, base + 5)?,
        category: parsed_at(row, base + 6)?,
        storage_type: parsed_at(row, base + 7)?,
        instance_number: get(row, base + 8)?,
        created_at: time_at(row, base + 9)?,
    })
}

pub(crate) fn backup_set_at(row: &Row, base: usize) -> Result<BackupSet> {
    let scale: i64 = get(row, base + 5)?;
    Ok(BackupSet {
        id: get(row, base)?,
        instance_id: get(row, base + 1)?,
        source_region_id: get(row, base + 2)?,
        method: parsed_at(row, base + 3)?,
        backup_type: parsed_at(row, base + 4)?,
        scale: BackupSetScale::from_i64(scale).map_err(|_| bad("scale", scale))?,
        started_at: time_at(row, base + 6)?,
        finished_at: time_at(row, base + 7)?,
        consistent_at: time_at(row, base + 8)?,
        instance_number: get(row, base + 9)?,
        object_key: get(row, base + 10)?,
        size_bytes: get(row, base + 11)?,
        sha256: get(row, base + 12)?,
    })
}

/// A listed copy: the columns of [`LISTING_COLUMNS`](crate::columns::LISTING_COLUMNS).
pub(crate) fn listed_copy_at(row: &Row) -> Result<ListedCopy> {
    let scale: i64 = get(row, 8)?;
    Ok(ListedCopy {
        cross_backup_id: get(row, 0)?,
        dest_region_id: get(row, 1)?,
        object_key: get(row, 2)?,
        status: status_at(row, 3)?,
        backup_set_id: get(row, 4)?,
        source_region_id: get(row, 5)?,
        method: parsed_at(row, 6)?,
        backup_type: parsed_at(row, 7)?,
        scale: BackupSetScale::from_i64(scale).map_err(|_| bad("scale", scale))?,
        started_at: time_at(row, 9)?,
        finished_at: time_at(row, 10)?,
        consistent_at: time_at(row, 11)?,
        instance_number: get(row, 12)?,
        size_bytes: get(row, 13)?,
    })
}

/// A copy (the columns of `copy_columns`) of `instance`, read on the same row or before it.
pub(crate) fn copy_at(row: &Row, instance: Arc<Instance>) -> Result<CrossRegionCopy> {
    Ok(CrossRegionCopy {
        cross_backup_id: get(row, 0)?,
        dest_region_id: get(row, 1)?,
        object_key: get(row, 2)?,
        status: status_at(row, 3)?,
        completed_at: opt_time_at(row, 4)?,
        backup_set: backup_set_at(row, COPY_WIDTH)?,
        instance,
    })
}

/// A copy followed by its instance's columns.
pub(crate) fn copy_and_instance_at(row: &Row) -> Result<CrossRegionCopy> {
    let instance = instance_at(row, COPY_WIDTH + BACKUP_SET_WIDTH)?;
    copy_at(row, Arc::new(instance))
}

/// An account: `id, name`.
pub(crate) fn account_at(row: &Row) -> Result<Account> {
    Ok(Account {
        id: get(row, 0)?,
        name: get(row, 1)?,
    })
}

/// An AccessKey: `access_key_id, secret, account_id, enabled`.
pub(crate) fn access_key_at(row: &Row) -> Result<AccessKey> {
    Ok(AccessKey {
        access_key_id: get(row, 0)?,
        secret: get(row, 1)?,
        account_id: get(row, 2)?,
        enabled: get(row, 3)?,
    })
}

/// A policy: `instance_id, enabled, dest_region_id, retention_days, updated_at`.
pub(crate) fn policy_at(row: &Row) -> Result<Policy> {
    Ok(Policy {
        instance_id: get(row, 0)?,
        enabled: get(row, 1)?,
        dest_region_id: get(row, 2)?,
        retention_days: get(row, 3)?,
        updated_at: time_at(row, 4)?,
    })
}

/// An expired copy: `id, instance_id, dest_region_id, object_key, status, backup_started_at`.
pub(crate) fn expired_copy_at(row: &Row) -> Result<ExpiredCopy> {
    Ok(ExpiredCopy {
        copy_id: get(row, 0)?,
        instance_id: get(row, 1)?,
        dest_region_id: get(row, 2)?,
        object_key: get(row, 3)?,
        status: status_at(row, 4)?,
        backup_started_at: time_at(row, 5)?,
    })
}

/// A claimed job: the copy's `id`, its set's `source_region_id, object_key`, the copy's
/// `dest_region_id, object_key`, the set's `size_bytes, sha256`, then the copy's `attempts,
/// lease_token, lease_until, resume_state`.
pub(crate) fn copy_job_at(row: &Row) -> Result<CopyJob> {
    Ok(CopyJob {
        copy_id: get(row, 0)?,
        source_region_id: get(row, 1)?,
        source_key: get(row, 2)?,
        dest_region_id: get(row, 3)?,
        dest_key: get(row, 4)?,
        size_bytes: get(row, 5)?,
        sha256: get(row, 6)?,
        attempts: get(row, 7)?,
        lease_token: get(row, 8)?,
        lease_until: time_at(row, 9)?,
        resume_state: get(row, 10)?,
    })
}

/// A region: `region_id, store_url`.
pub(crate) fn region_at(row: &Row) -> Result<Region> {
    Ok(Region {
        region_id: get(row, 0)?,
        store_url: get(row, 1)?,
    })
}

/// A tombstone: `copy_id, instance_id, dest_region_id, object_key`.
pub(crate) fn expiring_object_at(row: &Row) -> Result<ExpiringObject> {
    Ok(ExpiringObject {
        copy_id: get(row, 0)?,
        instance_id: get(row, 1)?,
        dest_region_id: get(row, 2)?,
        object_key: get(row, 3)?,
    })
}

/// A schedule: `instance_id, at_minute, window_minutes, method, backup_type, database_name,
/// enabled, last_run_day`.
pub(crate) fn schedule_at(row: &Row) -> Result<BackupSchedule> {
    let minutes = |row: &Row, idx| -> Result<u32> {
        u32::try_from(get::<i64>(row, idx)?)
            .map_err(|_| CatalogError::Internal("invalid schedule minute in catalog".into()))
    };
    Ok(BackupSchedule {
        instance_id: get(row, 0)?,
        at_minute: minutes(row, 1)?,
        window_minutes: minutes(row, 2)?,
        method: parsed_at(row, 3)?,
        backup_type: parsed_at(row, 4)?,
        database: get(row, 5)?,
        enabled: get(row, 6)?,
        last_run_day: get(row, 7)?,
    })
}
