//! Retention and freshness: which listed copies have outlived their instance's policy, turning
//! their rows into tombstones until their objects are deleted, and how far each instance's
//! copies are behind (for metrics).

use deadpool_postgres::{GenericClient, Transaction};
use xbak_domain::time::Timestamp;

use super::rows::{
    execute, expired_copy_at, expiring_object_at, get, optional_row, query, rows, secs, to_time,
};
use crate::{CopyFreshness, ExpiredCopy, ExpiringObject, Result};

pub(super) async fn expired_copies(
    c: &impl GenericClient,
    now: Timestamp,
    limit: u32,
) -> Result<Vec<ExpiredCopy>> {
    rows(
        c,
        "SELECT c.id, c.instance_id, c.dest_region_id, c.object_key, c.status, c.backup_started_at
         FROM policies p JOIN copies c ON c.instance_id = p.instance_id
         WHERE c.status IN ('completed', 'failed')
           AND c.backup_started_at < $1 - p.retention_days * 86400
         ORDER BY c.backup_started_at, c.id
         LIMIT $2",
        &[&secs(now), &i64::from(limit)],
        expired_copy_at,
    )
    .await
}

pub(super) async fn begin_expiry(
    tx: &Transaction<'_>,
    copy_id: i64,
    now: Timestamp,
) -> Result<Option<ExpiringObject>> {
    // Deleting the row and writing its tombstone in one statement: a concurrent expiry of the
    // same copy waits for this one and then deletes nothing.
    optional_row(
        tx,
        "WITH gone AS (
             DELETE FROM copies WHERE id = $1 AND status IN ('completed', 'failed')
             RETURNING id, instance_id, dest_region_id, object_key)
         INSERT INTO expiring_copies (copy_id, instance_id, dest_region_id, object_key, expired_at)
         SELECT id, instance_id, dest_region_id, object_key, $2 FROM gone
         RETURNING copy_id, instance_id, dest_region_id, object_key",
        &[&copy_id, &secs(now)],
        expiring_object_at,
    )
    .await
}

pub(super) async fn expiring_objects(
    c: &impl GenericClient,
    limit: u32,
) -> Result<Vec<ExpiringObject>> {
    rows(
        c,
        "SELECT copy_id, instance_id, dest_region_id, object_key FROM expiring_copies
         ORDER BY expired_at, copy_id
         LIMIT $1",
        &[&i64::from(limit)],
        expiring_object_at,
    )
    .await
}

pub(super) async fn finish_expiry(tx: &Transaction<'_>, copy_id: i64) -> Result<bool> {
    let n = execute(
        tx,
        "DELETE FROM expiring_copies WHERE copy_id = $1",
        &[&copy_id],
        || format!("tombstone of copy {copy_id}"),
    )
    .await?;
    Ok(n > 0)
}

/// Per instance with a policy, its recovery point and oldest uncopied set: one statement,
/// whatever the number of instances (a scrape must not cost a query per instance).
pub(super) async fn copy_freshness(c: &impl GenericClient) -> Result<Vec<CopyFreshness>> {
    let rows = query(
        c,
        "WITH recovery AS (
           SELECT p.instance_id, i.db_instance_id,
                  (SELECT MAX(c.backup_started_at) FROM copies c
                   WHERE c.instance_id = p.instance_id AND c.status = 'completed') AS copied
           FROM policies p JOIN instances i ON i.id = p.instance_id)
         SELECT r.instance_id, r.db_instance_id, r.copied,
                (SELECT MIN(c.backup_started_at) FROM copies c
                 WHERE c.instance_id = r.instance_id AND c.status IN ('failed', 'pending')
                   AND c.backup_started_at > COALESCE(r.copied, -9223372036854775807))
         FROM recovery r ORDER BY r.db_instance_id COLLATE \"C\"",
        &[],
    )
    .await?;
    rows.iter()
        .map(|row| {
            let copied: Option<i64> = get(row, 2)?;
            let oldest: Option<i64> = get(row, 3)?;
            Ok(CopyFreshness {
                instance_id: get(row, 0)?,
                db_instance_id: get(row, 1)?,
                recovery_point: copied.map(to_time).transpose()?,
                oldest_uncopied: oldest.map(to_time).transpose()?,
            })
        })
        .collect()
}
