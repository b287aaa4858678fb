//! Backup sets, and queueing their cross-region copy when they are recorded.

use rusqlite::{Connection, Transaction};
use xbak_domain::naming::{copy_key, file_name_of};
use xbak_domain::{BackupSet, NewBackupSet};

use super::errors::SqlResultExt;
use super::instances::{instance_by_id, policy};
use super::rows::{backup_set_at, optional_row, secs, wall_clock, BACKUP_SET_COLUMNS};
use crate::{CatalogError, RecordedBackupSet, Result};

pub(super) fn record_backup_set(
    tx: &Transaction<'_>,
    new: &NewBackupSet,
) -> Result<RecordedBackupSet> {
    let instance = instance_by_id(tx, new.instance_id)?
        .ok_or_else(|| CatalogError::NotFound(format!("instance {}", new.instance_id)))?;
    let now = wall_clock();
    tx.prepare_cached(
        "INSERT INTO backup_sets (instance_id, source_region_id, method, backup_type, scale, started_at,
                                  finished_at, consistent_at, instance_number, object_key, size_bytes, sha256,
                                  recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )
    .db()?
    .execute((
        new.instance_id,
        &instance.region_id,
        new.method.as_str(),
        new.backup_type.as_str(),
        new.scale.as_i64(),
        secs(new.started_at),
        secs(new.finished_at),
        secs(new.consistent_at),
        new.instance_number,
        &new.object_key,
        new.size_bytes,
        &new.sha256,
        now,
    ))
    .db_as(|| format!("backup set {:?} in {}", new.object_key, instance.region_id))?;
    let set_id = tx.last_insert_rowid();

    let queued_copy_id = match policy(tx, instance.id)? {
        Some(policy) if policy.enabled => {
            let dest_key = copy_key(&instance.db_instance_id, file_name_of(&new.object_key));
            tx.prepare_cached(
                "INSERT INTO copies (backup_set_id, instance_id, dest_region_id, object_key, status,
                                     backup_started_at, queued_at, next_attempt_at)
                 VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6, ?6)",
            )
            .db()?
            .execute((set_id, instance.id, &policy.dest_region_id, &dest_key, secs(new.started_at), now))
            .db_as(|| format!("copy of backup set {set_id} to {}", policy.dest_region_id))?;
            Some(tx.last_insert_rowid())
        }
        _ => None,
    };

    let backup_set = backup_set(tx, set_id)?
        .ok_or_else(|| CatalogError::Internal("recorded backup set vanished".into()))?;
    Ok(RecordedBackupSet {
        backup_set,
        queued_copy_id,
    })
}

pub(super) fn backup_set(conn: &Connection, id: i64) -> Result<Option<BackupSet>> {
    let sql = format!("SELECT {BACKUP_SET_COLUMNS} FROM backup_sets b WHERE b.id = ?1");
    optional_row(conn, &sql, [id], |row| backup_set_at(row, 0))
}

pub(super) fn newest_backup_set(conn: &Connection, instance_id: i64) -> Result<Option<BackupSet>> {
    let sql = format!(
        "SELECT {BACKUP_SET_COLUMNS} FROM backup_sets b WHERE b.instance_id = ?1
         ORDER BY b.started_at DESC, b.id DESC LIMIT 1"
    );
    optional_row(conn, &sql, [instance_id], |row| backup_set_at(row, 0))
}
