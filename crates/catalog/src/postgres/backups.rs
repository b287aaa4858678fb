//! Backup sets, and queueing their cross-region copy when they are recorded.

use deadpool_postgres::{GenericClient, Transaction};
use xbak_domain::naming::{copy_key, file_name_of};
use xbak_domain::{BackupSet, NewBackupSet};

use super::errors::PgResultExt;
use super::instances::{instance_by_id, policy};
use super::rows::{
    backup_set_at, get, optional_row, query_opt, secs, wall_clock, BACKUP_SET_COLUMNS,
};
use crate::{CatalogError, RecordedBackupSet, Result};

pub(super) async fn record_backup_set(
    tx: &Transaction<'_>,
    new: &NewBackupSet,
) -> Result<RecordedBackupSet> {
    let instance = instance_by_id(tx, new.instance_id)
        .await?
        .ok_or_else(|| CatalogError::NotFound(format!("instance {}", new.instance_id)))?;
    let now = wall_clock();
    let sql = format!(
        "INSERT INTO backup_sets AS b (instance_id, source_region_id, method, backup_type, scale, started_at,
                                       finished_at, consistent_at, instance_number, object_key, size_bytes, sha256,
                                       recorded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (source_region_id, object_key) DO NOTHING
         RETURNING {BACKUP_SET_COLUMNS}"
    );
    let stmt = tx.prepare_cached(&sql).await.db()?;
    let row = tx
        .query_opt(
            &stmt,
            &[
                &new.instance_id,
                &instance.region_id,
                &new.method.as_str(),
                &new.backup_type.as_str(),
                &new.scale.as_i64(),
                &secs(new.started_at),
                &secs(new.finished_at),
                &secs(new.consistent_at),
                &new.instance_number,
                &new.object_key,
                &new.size_bytes,
                &new.sha256,
                &now,
            ],
        )
        .await
        .db()?
        .ok_or_else(|| {
            CatalogError::Conflict(format!(
                "backup set {:?} in {}",
                new.object_key, instance.region_id
            ))
        })?;
    let backup_set = backup_set_at(&row, 0)?;

    let queued_copy_id = match policy(tx, instance.id).await? {
        Some(policy) if policy.enabled => {
            let dest_key = copy_key(&instance.db_instance_id, file_name_of(&new.object_key));
            let row = query_opt(
                tx,
                "INSERT INTO copies (backup_set_id, instance_id, dest_region_id, object_key, status,
                                     backup_started_at, queued_at, next_attempt_at)
                 VALUES ($1, $2, $3, $4, 'pending', $5, $6, $6)
                 RETURNING id",
                &[
                    &backup_set.id,
                    &instance.id,
                    &policy.dest_region_id,
                    &dest_key,
                    &secs(new.started_at),
                    &now,
                ],
            )
            .await?
            .ok_or_else(|| CatalogError::Internal("queued copy vanished".into()))?;
            Some(get(&row, 0)?)
        }
        _ => None,
    };
    Ok(RecordedBackupSet {
        backup_set,
        queued_copy_id,
    })
}

pub(super) async fn backup_set(c: &impl GenericClient, id: i64) -> Result<Option<BackupSet>> {
    let sql = format!("SELECT {BACKUP_SET_COLUMNS} FROM backup_sets b WHERE b.id = $1");
    optional_row(c, &sql, &[&id], |row| backup_set_at(row, 0)).await
}

pub(super) async fn newest_backup_set(
    c: &impl GenericClient,
    instance_id: i64,
) -> Result<Option<BackupSet>> {
    let sql = format!(
        "SELECT {BACKUP_SET_COLUMNS} FROM backup_sets b WHERE b.instance_id = $1
         ORDER BY b.started_at DESC, b.id DESC LIMIT 1"
    );
    optional_row(c, &sql, &[&instance_id], |row| backup_set_at(row, 0)).await
}
