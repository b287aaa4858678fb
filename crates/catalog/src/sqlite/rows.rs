//! Row mappers (over the column lists of `crate::columns`, or the columns each mapper names),
//! the statement helpers the areas call, plus time and randomness helpers.

use rusqlite::Row;
use std::sync::Arc;
use xbak_domain::time::Timestamp;
use xbak_domain::{
    AccessKey, Account, BackupSet, BackupSetScale, CopyStatus, CrossRegionCopy, Instance,
    ListedCopy, Policy, Region,
};

use crate::ExpiredCopy;

use super::errors::bad_value;

pub(crate) use crate::columns::{copy_columns, BACKUP_SET_COLUMNS, INSTANCE_COLUMNS};
use crate::columns::{BACKUP_SET_WIDTH, COPY_WIDTH};
pub(crate) use crate::rules::{secs, wall_clock};

#[derive(Debug, thiserror::Error)]
#[error("invalid {0} in catalog: {1}")]
struct BadValue(&'static str, String);

pub(crate) fn time_at(row: &Row<'_>, idx: usize) -> rusqlite::Result<Timestamp> {
    let s: i64 = row.get(idx)?;
    chrono::DateTime::from_timestamp(s, 0)
        .ok_or_else(|| bad_value(idx, BadValue("timestamp", s.to_string())))
}

pub(crate) fn opt_time_at(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<Timestamp>> {
    match row.get::<_, Option<i64>>(idx)? {
        None => Ok(None),
        Some(_) => time_at(row, idx).map(Some),
    }
}

fn parsed_at<T>(row: &Row<'_>, idx: usize) -> rusqlite::Result<T>
where
    T: std::str::FromStr<Err = xbak_domain::DomainError>,
{
    text_at(row, idx)?.parse().map_err(|e| bad_value(idx, e))
}

/// A text column borrowed from the row: the enum columns a listing decodes 90 times per page
/// are parsed in place rather than copied into a `String` first.
fn text_at<'r>(row: &'r Row<'_>, idx: usize) -> rusqlite::Result<&'r str> {
    row.get_ref(idx)?.as_str().map_err(|e| bad_value(idx, e))
}

pub(crate) fn status_at(row: &Row<'_>, idx: usize) -> rusqlite::Result<CopyStatus> {
    let s = text_at(row, idx)?;
    CopyStatus::parse(s).ok_or_else(|| bad_value(idx, BadValue("copy status", s.to_owned())))
}

pub(crate) fn instance_at(row: &Row<'_>, base: usize) -> rusqlite::Result<Instance> {
    Ok(Instance {
        id: row.get(base)?,
        db_instance_id: row.get(base + 1)?,
        region_id: row.get(base + 2)?,
        account_id: row.get(base + 3)?,
        engine: row.get(base + 4)?,
        engine_version: row.get(base + 5)?,
        category: parsed_at(row, base + 6)?,
        storage_type: parsed_at(row, base + 7)?,
        instance_number: row.get(base + 8)?,
        created_at: time_at(row, base + 9)?,
    })
}

pub(crate) fn backup_set_at(row: &Row<'_>, base: usize) -> rusqlite::Result<BackupSet> {
    let scale: i64 = row.get(base + 5)?;
    Ok(BackupSet {
        id: row.get(base)?,
        instance_id: row.get(base + 1)?,
        source_region_id: row.get(base + 2)?,
        method: parsed_at(row, base + 3)?,
        backup_type: parsed_at(row, base + 4)?,
        scale: BackupSetScale::from_i64(scale).map_err(|e| bad_value(base + 5, e))?,
        started_at: time_at(row, base + 6)?,
        finished_at: time_at(row, base + 7)?,
        consistent_at: time_at(row, base + 8)?,
        instance_number: row.get(base + 9)?,
        object_key: row.get(base + 10)?,
        size_bytes: row.get(base + 11)?,
        sha256: row.get(base + 12)?,
    })
}

/// A listed copy: the columns of [`LISTING_COLUMNS`](crate::columns::LISTING_COLUMNS).
pub(crate) fn listed_copy_at(row: &Row<'_>) -> rusqlite::Result<ListedCopy> {
    let scale: i64 = row.get(8)?;
    Ok(ListedCopy {
        cross_backup_id: row.get(0)?,
        dest_region_id: row.get(1)?,
        object_key: row.get(2)?,
        status: status_at(row, 3)?,
        backup_set_id: row.get(4)?,
        source_region_id: row.get(5)?,
        method: parsed_at(row, 6)?,
        backup_type: parsed_at(row, 7)?,
        scale: BackupSetScale::from_i64(scale).map_err(|e| bad_value(8, e))?,
        started_at: time_at(row, 9)?,
        finished_at: time_at(row, 10)?,
        consistent_at: time_at(row, 11)?,
        instance_number: row.get(12)?,
        size_bytes: row.get(13)?,
    })
}

/// A copy (the columns of `copy_columns`) of `instance`, read on the same row or before it.
pub(crate) fn copy_at(row: &Row<'_>, instance: Arc<Instance>) -> rusqlite::Result<CrossRegionCopy> {
    Ok(CrossRegionCopy {
        cross_backup_id: row.get(0)?,
        dest_region_id: row.get(1)?,
        object_key: row.get(2)?,
        status: status_at(row, 3)?,
        completed_at: opt_time_at(row, 4)?,
        backup_set: backup_set_at(row, COPY_WIDTH)?,
        instance,
    })
}

/// A copy followed by its instance's columns.
pub(crate) fn copy_and_instance_at(row: &Row<'_>) -> rusqlite::Result<CrossRegionCopy> {
    let instance = instance_at(row, COPY_WIDTH + BACKUP_SET_WIDTH)?;
    copy_at(row, Arc::new(instance))
}

/// The row `sql` selects with `params`, mapped by `map`; `None` when there is none.
pub(crate) fn optional_row<T, P: rusqlite::Params>(
    conn: &rusqlite::Connection,
    sql: &str,
    params: P,
    map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Option<T>, crate::CatalogError> {
    use super::errors::SqlResultExt;
    use rusqlite::OptionalExtension;
    conn.prepare_cached(sql)
        .db()?
        .query_row(params, map)
        .optional()
        .db()
}

/// The rows `sql` selects with `params`, each mapped by `map`.
pub(crate) fn all_rows<T, P: rusqlite::Params>(
    conn: &rusqlite::Connection,
    sql: &str,
    params: P,
    map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>, crate::CatalogError> {
    use super::errors::SqlResultExt;
    let mut stmt = conn.prepare_cached(sql).db()?;
    let rows = stmt.query_map(params, map).db()?;
    rows.collect::<rusqlite::Result<Vec<_>>>().db()
}

/// An account: `id, name`.
pub(crate) fn account_at(row: &Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        id: row.get(0)?,
        name: row.get(1)?,
    })
}

/// An AccessKey: `access_key_id, secret, account_id, enabled`.
pub(crate) fn access_key_at(row: &Row<'_>) -> rusqlite::Result<AccessKey> {
    Ok(AccessKey {
        access_key_id: row.get(0)?,
        secret: row.get(1)?,
        account_id: row.get(2)?,
        enabled: row.get(3)?,
    })
}

/// A policy: `instance_id, enabled, dest_region_id, retention_days, updated_at`.
pub(crate) fn policy_at(row: &Row<'_>) -> rusqlite::Result<Policy> {
    Ok(Policy {
        instance_id: row.get(0)?,
        enabled: row.get(1)?,
        dest_region_id: row.get(2)?,
        retention_days: row.get(3)?,
        updated_at: time_at(row, 4)?,
    })
}

/// A region: `region_id, store_url`.
pub(crate) fn region_at(row: &Row<'_>) -> rusqlite::Result<Region> {
    Ok(Region {
        region_id: row.get(0)?,
        store_url: row.get(1)?,
    })
}

/// An expired copy: `id, instance_id, dest_region_id, object_key, status, backup_started_at`.
pub(crate) fn expired_copy_at(row: &Row<'_>) -> rusqlite::Result<ExpiredCopy> {
    Ok(ExpiredCopy {
        copy_id: row.get(0)?,
        instance_id: row.get(1)?,
        dest_region_id: row.get(2)?,
        object_key: row.get(3)?,
        status: status_at(row, 4)?,
        backup_started_at: time_at(row, 5)?,
    })
}

/// Every row `sql` selects, mapped by `map`; panics on any error (for tests).
#[cfg(test)]
pub(crate) fn select_all<T>(
    conn: &rusqlite::Connection,
    sql: &str,
    map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Vec<T> {
    let mut stmt = conn.prepare(sql).unwrap();
    let rows = stmt.query_map([], map).unwrap();
    rows.map(Result::unwrap).collect()
}

/// The plan SQLite picks for `sql` with `params` (its detail lines), for tests that require an
/// index to be used.
#[cfg(test)]
pub(super) fn query_plan(
    conn: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> String {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    let rows = stmt.query_map(params, |r| r.get::<_, String>(3)).unwrap();
    rows.map(Result::unwrap).collect::<Vec<_>>().join("\n")
}

/// `n` parameters, each 1 (for [`query_plan`]).
#[cfg(test)]
pub(super) fn ones(n: usize) -> rusqlite::ParamsFromIter<std::iter::RepeatN<i64>> {
    rusqlite::params_from_iter(std::iter::repeat_n(1i64, n))
}
