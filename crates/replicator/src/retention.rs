//! [`Retention`]: deletes cross-region copies older than their instance policy's
//! `retention_days`, counted from the backup set's start time (Alibaba counts retention from the
//! backup time). Policies that are turned off keep their old copies until those expire, so
//! retention applies to every policy, enabled or not.
//!
//! Order and crash safety, with tombstones: for each expired copy, [`Catalog::begin_expiry`]
//! deletes its row and records a tombstone naming its destination object, in one catalog
//! transaction; then the object is deleted; then [`Catalog::finish_expiry`] removes the
//! tombstone. Each sweep first finishes the tombstones left by earlier sweeps (a crash, or an
//! object delete that failed), a missing object counting as deleted.
//!
//! - Listings never show a copy whose object retention deleted: the row is gone before the
//!   object is touched.
//! - No object is ever orphaned: from the moment the row is gone until the object is deleted,
//!   the tombstone names it, and every sweep retries it.
//!
//! A copy whose object cannot be deleted is no longer listed but keeps its tombstone (counted in
//! `failed`) until a later sweep deletes the object. Pending copies are never touched; failed
//! copies expire like completed ones (their object, never published, is simply absent).
//! Sweepers in several processes may run at once: `begin_expiry` hands a copy to one of them,
//! and finishing a tombstone twice is harmless.

use crate::error::ReplicatorError;
use chrono::Utc;
use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use xbak_catalog::leases::once_per_period;
use xbak_catalog::{Catalog, ExpiringObject};
use xbak_domain::naming::manifest_key;
use xbak_domain::time::Timestamp;
use xbak_storage::{RegionStore, Regions, StorageError};

/// Rows read per catalog call.
const BATCH: u32 = 500;

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionSummary {
    /// Expired copies finished by this sweep: object deleted and tombstone removed, whether the
    /// sweep began their expiry or an earlier one did.
    pub deleted: u64,
    /// Expired copies left for the next sweep: their expiry could not begin, or their object (or
    /// tombstone) could not be deleted. A copy whose expiry began is no longer listed.
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

    /// Finishes the tombstones left by earlier sweeps, then expires every copy expired at
    /// `now`: tombstone (the row leaves listings), destination object, tombstone removed. Fails
    /// only if the catalog cannot list tombstones or expired copies; a copy that cannot be
    /// expired is logged, counted in `failed` and retried by the next sweep.
    pub async fn sweep(&self, now: Timestamp) -> Result<RetentionSummary, ReplicatorError> {
        let mut summary = RetentionSummary::default();
        self.finish_leftovers(&mut summary).await?;
        // Copies that failed in this sweep: retried by the next one, not again here.
        let mut skipped = HashSet::new();
        loop {
            let expired = self.catalog.expired_copies(now, BATCH).await?;
            let full = expired.len() == BATCH as usize;
            let mut progressed = false;
            for copy in expired {
                if skipped.contains(&copy.copy_id) {
                    continue;
                }
                let object = match self.catalog.begin_expiry(copy.copy_id, now).await {
                    Ok(Some(object)) => object,
                    // Expired by another sweeper since it was listed.
                    Ok(None) => continue,
                    Err(e) => {
                        tracing::warn!(copy_id = copy.copy_id, error = %e,
                            "cannot begin expiring copy; next sweep retries");
                        summary.failed += 1;
                        skipped.insert(copy.copy_id);
                        continue;
                    }
                };
                progressed = true;
                if self.finish(&object).await {
                    tracing::info!(copy_id = copy.copy_id, region = %copy.dest_region_id,
                        backup_started_at = %copy.backup_started_at, "expired copy deleted");
                    summary.deleted += 1;
                } else {
                    summary.failed += 1;
                }
            }
            // A full batch with progress may have more behind it; one without would repeat itself.
            if !(full && progressed) {
                return Ok(summary);
            }
        }
    }

    /// Finishes the tombstones already in the catalog (crashed or failed earlier sweeps).
    async fn finish_leftovers(
        &self,
        summary: &mut RetentionSummary,
    ) -> Result<(), ReplicatorError> {
        let mut skipped = HashSet::new();
        loop {
            let left = self.catalog.expiring_objects(BATCH).await?;
            let full = left.len() == BATCH as usize;
            let mut progressed = false;
            for object in left {
                if skipped.contains(&object.copy_id) {
                    continue;
                }
                if self.finish(&object).await {
                    tracing::info!(copy_id = object.copy_id, region = %object.dest_region_id,
                        "expired copy deleted (left by an earlier sweep)");
                    summary.deleted += 1;
                    progressed = true;
                } else {
                    summary.failed += 1;
                    skipped.insert(object.copy_id);
                }
            }
            if !(full && progressed) {
                return Ok(());
            }
        }
    }

    /// Deletes a tombstone's object and the manifest beside it, then the tombstone; false
    /// (logged) if either fails, which leaves the tombstone for the next sweep.
    async fn finish(&self, object: &ExpiringObject) -> bool {
        let region = &object.dest_region_id;
        let manifest = manifest_key(&object.object_key);
        let deleted = match self.delete(region, &manifest).await {
            Ok(()) => self.delete(region, &object.object_key).await,
            Err(e) => Err(e),
        };
        if let Err(e) = deleted {
            tracing::warn!(copy_id = object.copy_id, region = %object.dest_region_id,
                key = %object.object_key, error = %e,
                "cannot delete expired copy's object; it is no longer listed, next sweep retries");
            return false;
        }
        match self.catalog.finish_expiry(object.copy_id).await {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(copy_id = object.copy_id, error = %e,
                    "expired copy's object deleted but not its tombstone; next sweep retries");
                false
            }
        }
    }

    /// Sweeps once per period of `every` (aligned on the Unix epoch) until `shutdown` resolves:
    /// of several sweepers on one catalog, one sweeps each period (a periodic run claimed in the
    /// catalog; one whose sweeper died is taken up again).
    pub async fn run(&self, every: Duration, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let every = every.max(Duration::from_secs(1));
        let mut tick = tokio::time::interval(every.min(Self::LOOK_EVERY));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut shutdown => return,
                _ = tick.tick() => {}
            }
            let now = Utc::now();
            let period = sweep_period(now, every);
            let swept = once_per_period(
                self.catalog.as_ref(),
                "retention",
                &period,
                Self::LEASE,
                self.sweep(now),
            )
            .await;
            match swept {
                Ok(Some(Ok(s))) => {
                    tracing::info!(period = %period, deleted = s.deleted, failed = s.failed, "retention sweep")
                }
                Ok(Some(Err(e))) => tracing::warn!(error = %e, "retention sweep failed"),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "cannot claim the retention sweep"),
            }
        }
    }

    /// Longest wait before looking whether this period's sweep is still to run.
    const LOOK_EVERY: Duration = Duration::from_secs(60);
    /// How long a claimed sweep stays this sweeper's without renewal (renewed while it runs).
    const LEASE: Duration = Duration::from_secs(60);

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

/// The name of the sweep period `now` falls in: `every` in seconds and the period's number since
/// the Unix epoch (`3600s/491234`).
pub fn sweep_period(now: Timestamp, every: Duration) -> String {
    let secs = every.as_secs().max(1);
    format!("{secs}s/{}", now.timestamp().max(0) as u64 / secs)
}
