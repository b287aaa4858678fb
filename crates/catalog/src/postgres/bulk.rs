//! Seeding many listed copies at once, for benchmarks and load tests: the same rows as
//! [`crate::sqlite::SqliteCatalog::bulk_insert_copies`] writes, one statement per instance.

use deadpool_postgres::Transaction;
use xbak_domain::naming::{backup_set_key, copy_key};

use super::instances::{instance_by_id, require_region};
use super::rows::{execute, secs, wall_clock};
use super::PostgresCatalog;
use crate::sqlite::BulkCopies;
use crate::{CatalogError, Result};

impl PostgresCatalog {
    /// Writes a backup set and a listed copy for each of `spec.per_instance` backups of each
    /// instance, in one transaction. Returns the number of copies written.
    pub async fn bulk_insert_copies(&self, spec: &BulkCopies) -> Result<u64> {
        let mut client = self.client().await?;
        let tx = super::begin(&mut client).await?;
        let written = insert(&tx, spec).await?;
        super::commit(tx, true).await?;
        Ok(written)
    }
}

async fn insert(tx: &Transaction<'_>, spec: &BulkCopies) -> Result<u64> {
    require_region(tx, &spec.dest_region_id).await?;
    let now = wall_clock();
    let sha256 = "0".repeat(64);
    let mut written = 0u64;
    for &instance_id in &spec.instance_ids {
        let instance = instance_by_id(tx, instance_id)
            .await?
            .ok_or_else(|| CatalogError::NotFound(format!("instance {instance_id}")))?;
        let mut started = Vec::new();
        let mut set_keys = Vec::new();
        let mut copy_keys = Vec::new();
        let mut statuses = Vec::new();
        let mut completed = Vec::new();
        for n in 0..spec.per_instance {
            let at = secs(spec.first_started_at) + spec.step_secs * n as i64;
            let file = format!("bulk_{}_{n:08}_qp.xb", instance.db_instance_id);
            let failed = matches!(spec.failed_every, Some(k) if k > 0 && written % k == k - 1);
            started.push(at);
            set_keys.push(backup_set_key(&instance.db_instance_id, &file));
            copy_keys.push(copy_key(&instance.db_instance_id, &file));
            statuses.push(if failed { "failed" } else { "completed" });
            completed.push((!failed).then_some(at + 1200));
            written += 1;
        }
        execute(
            tx,
            "WITH input AS (
                 SELECT * FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::BIGINT[])
                     WITH ORDINALITY AS t(started, set_key, copy_key, status, completed, n)),
             sets AS (
                 INSERT INTO backup_sets (instance_id, source_region_id, method, backup_type, scale, started_at,
                                          finished_at, consistent_at, instance_number, object_key, size_bytes,
                                          sha256, recorded_at)
                 SELECT $6, $7, 'P', 'F', 0, started, started + 600, started + 600, $8, set_key, 1048576, $9, $10
                 FROM input ORDER BY n
                 RETURNING id, object_key)
             INSERT INTO copies (backup_set_id, instance_id, dest_region_id, object_key, status,
                                 backup_started_at, queued_at, completed_at, attempts)
             SELECT s.id, $6, $11, i.copy_key, i.status, i.started, $10, i.completed, 1
             FROM input i JOIN sets s ON s.object_key = i.set_key ORDER BY i.n",
            &[
                &started,
                &set_keys,
                &copy_keys,
                &statuses,
                &completed,
                &instance_id,
                &instance.region_id,
                &instance.instance_number,
                &sha256,
                &now,
                &spec.dest_region_id,
            ],
            || format!("bulk copies of instance {instance_id}"),
        )
        .await?;
    }
    Ok(written)
}
