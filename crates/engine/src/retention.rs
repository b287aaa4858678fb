//! [`Retention`]: deletes cross-region copies older than their instance policy's
//! `retention_days`, counted from the backup set's start time (Alibaba counts retention from the
//! backup time). Policies that are turned off keep their old copies until those expire, so
//! retention applies to every policy, enabled or not.
//!
//! Order and crash safety: the destination object is deleted first, then the catalog row. A
//! crash in between leaves a row whose object is gone; the row is still expired, so the next
//! sweep deletes the object again (a no-op) and then the row. The other order could leave an
//! object that no row points at, which nothing would ever delete. Listings can show the row of
//! a deleted object only between the two steps (and after a crash, until the next sweep).
//! Pending copies are never touched; failed copies expire like completed ones (their object,
//! never published, is simply absent).

use crate::EngineError;
use chrono::Utc;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use xbak_catalog::Catalog;
use xbak_domain::time::Timestamp;
use xbak_storage::{RegionStore, Regions, StorageError};

/// Rows read per catalog call.
const BATCH: u32 = 500;

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionSummary {
    /// Copies whose object and row were deleted.
    pub deleted: u64,
    /// Expired copies left for the next sweep (their object or row could not be deleted).
    pub failed: u64,
}

/// The retention sweeper. Cheap to clone.
#[derive(Clone)]
pub struct Retention {
    catalog: Arc<dyn Catalog>,
    regions: Regions,
}

impl Retention {
    /// A sweeper over `catalog`; regions missing from `regions` are opened from the catalog.
    pub fn new(catalog: Arc<dyn Catalog>, regions: Regions) -> Self {
        Retention { catalog, regions }
    }

    /// Deletes every copy expired at `now`: its destination object, then its row. Fails only if
    /// the catalog cannot list expired copies; a copy that cannot be deleted is logged, counted
    /// in `failed` and retried by the next sweep.
    pub async fn sweep(&self, now: Timestamp) -> Result<RetentionSummary, EngineError> {
        let mut summary = RetentionSummary::default();
        loop {
            let expired = self.catalog.expired_copies(now, BATCH).await?;
            let full = expired.len() == BATCH as usize;
            let mut progressed = false;
            for copy in expired {
                match self.delete(&copy.dest_region_id, &copy.object_key).await {
                    Ok(()) => {}
                    Err(e) => {
                        tracing::warn!(copy_id = copy.copy_id, region = %copy.dest_region_id,
                            key = %copy.object_key, error = %e, "cannot delete expired copy; next sweep retries");
                        summary.failed += 1;
                        continue;
                    }
                }
                match self.catalog.delete_copy(copy.copy_id).await {
                    Ok(_) => {
                        tracing::info!(copy_id = copy.copy_id, region = %copy.dest_region_id,
                            backup_started_at = %copy.backup_started_at, "expired copy deleted");
                        summary.deleted += 1;
                        progressed = true;
                    }
                    Err(e) => {
                        tracing::warn!(copy_id = copy.copy_id, error = %e,
                            "expired copy's object deleted but not its row; next sweep retries");
                        summary.failed += 1;
                    }
                }
            }
            // A full batch with progress may have more behind it; one without would repeat itself.
            if !(full && progressed) {
                return Ok(summary);
            }
        }
    }

    /// Sweeps now and then every `every` until `shutdown` resolves.
    pub async fn run(&self, every: Duration, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut tick = tokio::time::interval(every.max(Duration::from_secs(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut shutdown => return,
                _ = tick.tick() => {}
            }
            match self.sweep(Utc::now()).await {
                Ok(s) if s.deleted > 0 || s.failed > 0 => {
                    tracing::info!(deleted = s.deleted, failed = s.failed, "retention sweep")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "retention sweep failed"),
            }
        }
    }

    async fn delete(&self, region_id: &str, key: &str) -> Result<(), String> {
        let store = match self.regions.get(region_id) {
            Some(store) => store,
            None => {
                let region = self
                    .catalog
                    .region(region_id)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("unknown region {region_id:?}"))?;
                let store = RegionStore::open(&region.region_id, &region.store_url)
                    .map_err(|e| e.to_string())?;
                self.regions.insert(store);
                self.regions
                    .get(region_id)
                    .ok_or_else(|| format!("region {region_id:?} vanished"))?
            }
        };
        match store.delete(key).await {
            // A key the store refuses was never published there.
            Ok(()) | Err(StorageError::NotFound(_)) | Err(StorageError::InvalidKey(_)) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }
}
