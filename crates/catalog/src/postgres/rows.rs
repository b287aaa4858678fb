//! Row mappers (over the column lists of `crate::columns`) shared by the areas,
//! and the statement helpers they call.

use deadpool_postgres::GenericClient;
use tokio_postgres::types::{FromSql, ToSql};
use tokio_postgres::Row;
use xbak_domain::time::Timestamp;
use xbak_domain::{BackupSet, BackupSetScale, CopyStatus, CrossRegionCopy, Instance};

use super::errors::PgResultExt;
use crate::{CatalogError, Result};

pub(crate) use crate::columns::{copy_columns, BACKUP_SET_COLUMNS, INSTANCE_COLUMNS};
use crate::columns::{BACKUP_SET_WIDTH, COPY_WIDTH};

pub(crate) use crate::rules::{random_alphanumeric, secs, wall_clock};

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

/// Column `idx` parsed by the domain.
pub(crate) fn parsed_at<T>(row: &Row, idx: usize) -> Result<T>
where
    T: std::str::FromStr,
{
    let s: String = get(row, idx)?;
    s.parse().map_err(|_| bad("value", &s))
}

pub(crate) fn status_at(row: &Row, idx: usize) -> Result<CopyStatus> {
    let s: String = get(row, idx)?;
    CopyStatus::parse(&s).ok_or_else(|| bad("copy status", &s))
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

/// A copy of `instance`'s (already read: a listing reads it once, not once per row).
pub(crate) fn copy_at(row: &Row, instance: Instance) -> Result<CrossRegionCopy> {
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
    copy_at(row, instance)
}
