//! Seeding many listed copies at once, for benchmarks and load tests (`examples/list_copies_bench.rs`).
//! Not used by xbak itself: the rows bypass the queue and no object exists behind them.

use rusqlite::Transaction;
use xbak_domain::naming::{backup_set_key, copy_key};
use xbak_domain::time::Timestamp;

use super::errors::SqlResultExt;
use super::instances::{instance_by_id, require_region};
use super::rows::{secs, wall_clock};
use super::{Change, SqliteCatalog};
use crate::{CatalogError, Result};

/// Completed (and some Failed) copies to write in one transaction by [`SqliteCatalog::bulk_insert_copies`].
#[derive(Debug, Clone)]
pub struct BulkCopies {
    /// Catalog ids of existing instances; each gets `per_instance` sets and copies.
    pub instance_ids: Vec<i64>,
    pub per_instance: u64,
    pub dest_region_id: String,
    /// Start time of each instance's first set; later sets start `step_secs` apart.
    pub first_started_at: Timestamp,
    pub step_secs: i64,
    /// Every n-th copy is Failed instead of Completed (`None`: all Completed).
    pub failed_every: Option<u64>,
}

impl SqliteCatalog {
    /// Writes a backup set and a listed copy for each of `spec.per_instance` backups of each
    /// instance, in one transaction. Returns the number of copies written.
    pub async fn bulk_insert_copies(&self, spec: &BulkCopies) -> Result<u64> {
        let spec = spec.clone();
        self.write(Change::Counted, move |tx| insert(tx, &spec))
            .await
    }
}

fn insert(tx: &Transaction<'_>, spec: &BulkCopies) -> Result<u64> {
    require_region(tx, &spec.dest_region_id)?;
    let now = wall_clock();
    let mut set_stmt = tx
        .prepare(
            "INSERT INTO backup_sets (instance_id, source_region_id, method, backup_type, scale, started_at,
                                      finished_at, consistent_at, instance_number, object_key, size_bytes, sha256,
                                      recorded_at)
             VALUES (?1, ?2, 'P', 'F', 0, ?3, ?4, ?4, ?5, ?6, 1048576, ?7, ?8)",
        )
        .db()?;
    let mut copy_stmt = tx
        .prepare(
            "INSERT INTO copies (backup_set_id, instance_id, dest_region_id, object_key, status, backup_started_at,
                                 queued_at, completed_at, attempts)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1)",
        )
        .db()?;
    let sha256 = "0".repeat(64);
    let mut written = 0u64;
    for &instance_id in &spec.instance_ids {
        let instance = instance_by_id(tx, instance_id)?
            .ok_or_else(|| CatalogError::NotFound(format!("instance {instance_id}")))?;
        for n in 0..spec.per_instance {
            let started = secs(spec.first_started_at) + spec.step_secs * n as i64;
            let file = format!("bulk_{}_{n:08}_qp.xb", instance.db_instance_id);
            set_stmt
                .execute((
                    instance_id,
                    &instance.region_id,
                    started,
                    started + 600,
                    instance.instance_number,
                    backup_set_key(&instance.db_instance_id, &file),
                    &sha256,
                    now,
                ))
                .db_as(|| format!("bulk backup set {file}"))?;
            let set_id = tx.last_insert_rowid();
            let failed = matches!(spec.failed_every, Some(k) if k > 0 && written % k == k - 1);
            let (status, completed_at) = if failed {
                ("failed", None)
            } else {
                ("completed", Some(started + 1200))
            };
            copy_stmt
                .execute((
                    set_id,
                    instance_id,
                    &spec.dest_region_id,
                    copy_key(&instance.db_instance_id, &file),
                    status,
                    started,
                    now,
                    completed_at,
                ))
                .db()?;
            written += 1;
        }
    }
    Ok(written)
}
