//! Row mappers (over the column lists of `crate::columns`) shared by the areas,
//! plus time and randomness helpers.

use rusqlite::Row;
use xbak_domain::time::Timestamp;
use xbak_domain::{BackupSet, BackupSetScale, CopyStatus, CrossRegionCopy, Instance};

use super::errors::bad_value;

pub(crate) use crate::columns::{copy_columns, BACKUP_SET_COLUMNS, INSTANCE_COLUMNS};
use crate::columns::{BACKUP_SET_WIDTH, COPY_WIDTH};
pub(crate) use crate::rules::{random_alphanumeric, secs, wall_clock};

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
    let s: String = row.get(idx)?;
    s.parse().map_err(|e| bad_value(idx, e))
}

pub(crate) fn status_at(row: &Row<'_>, idx: usize) -> rusqlite::Result<CopyStatus> {
    let s: String = row.get(idx)?;
    CopyStatus::parse(&s).ok_or_else(|| bad_value(idx, BadValue("copy status", s)))
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

/// A copy of `instance`'s (already read: a listing reads it once, not once per row).
pub(crate) fn copy_at(row: &Row<'_>, instance: Instance) -> rusqlite::Result<CrossRegionCopy> {
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
    copy_at(row, instance)
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
