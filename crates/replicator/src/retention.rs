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
//!
//! Log files follow, the same way with their own tombstones ([`Retention::expire_log_files`]):
//! a closed log file expires, in the instance's region and in the destination alike, when its
//! last event is older than the policy's `retention_days`. A set still kept started after that
//! cutoff, so the log file its restore starts from has events after it and is kept too; recovery
//! windows never reach back past the files still listed. Open files never expire.

use crate::error::ReplicatorError;
use chrono::Utc;
use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use xbak_catalog::leases::once_per_period;
use xbak_catalog::{Catalog, ExpiredCopy, ExpiredLogFile, ExpiringLogObject, ExpiringObject};
use xbak_domain::naming::{log_segments_prefix, manifest_key};
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
    /// Expired log files (one region's file each) finished by this sweep: object and leftover
    /// segments deleted, tombstone removed.
    pub log_files_deleted: u64,
    /// Expired log files left for the next sweep, as `failed` for copies.
    pub log_files_failed: u64,
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
    /// `now`: tombstone (the row leaves listings), destination object, tombstone removed; then
    /// the same for log files ([`Retention::expire_log_files`]). Fails only if the catalog
    /// cannot list tombstones, expired copies or expired log files; a copy or log file that
    /// cannot be expired is logged, counted in `failed` (`log_files_failed`) and retried by the
    /// next sweep.
    pub async fn sweep(&self, now: Timestamp) -> Result<RetentionSummary, ReplicatorError> {
        let leftovers = drain(
            || self.catalog.expiring_objects(BATCH),
            |o| o.copy_id,
            |o| self.finish_leftover(o),
        )
        .await?;
        let expired = drain(
            || self.catalog.expired_copies(now, BATCH),
            |c| c.copy_id,
            |c| self.expire_copy(c, now),
        )
        .await?;
        let mut summary = RetentionSummary {
            deleted: leftovers.deleted + expired.deleted,
            failed: leftovers.failed + expired.failed,
            ..RetentionSummary::default()
        };
        self.expire_log_files(now, &mut summary).await?;
        Ok(summary)
    }

    /// Finishes a tombstone an earlier sweep left (it crashed, or a delete failed).
    async fn finish_leftover(&self, object: ExpiringObject) -> Step {
        if !self.finish(&object).await {
            return Step::Failed;
        }
        tracing::info!(copy_id = object.copy_id, region = %object.dest_region_id,
            "expired copy deleted (left by an earlier sweep)");
        Step::Deleted
    }

    /// Expires one copy: tombstone, objects, tombstone removed.
    async fn expire_copy(&self, copy: ExpiredCopy, now: Timestamp) -> Step {
        let object = match self.catalog.begin_expiry(copy.copy_id, now).await {
            Ok(Some(object)) => object,
            // Expired by another sweeper since it was listed.
            Ok(None) => return Step::Gone,
            Err(e) => {
                tracing::warn!(copy_id = copy.copy_id, error = %e,
                    "cannot begin expiring copy; next sweep retries");
                return Step::Failed;
            }
        };
        if !self.finish(&object).await {
            return Step::Tombstoned;
        }
        tracing::info!(copy_id = copy.copy_id, region = %copy.dest_region_id,
            backup_started_at = %copy.backup_started_at, "expired copy deleted");
        Step::Deleted
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
                    tracing::info!(period = %period, deleted = s.deleted, failed = s.failed,
                        log_files_deleted = s.log_files_deleted, log_files_failed = s.log_files_failed,
                        "retention sweep")
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
        let store = self.store(region_id).await?;
        match store.delete(key).await {
            // A key the store refuses was never published there.
            Ok(()) | Err(StorageError::NotFound(_)) | Err(StorageError::InvalidKey(_)) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// Retention of log files, after copies and in the same way: a closed log file (in the
/// instance's region or in the destination) whose last event is older than its instance
/// policy's `retention_days` is tombstoned (its row leaves listings and recovery windows), then
/// its object and any segments left of it are deleted, then the tombstone is removed.
impl Retention {
    /// Finishes the log file tombstones left by earlier sweeps, then expires every log file
    /// expired at `now`, counting into `summary`'s log file fields. Fails only if the catalog
    /// cannot list tombstones or expired files.
    pub async fn expire_log_files(
        &self,
        now: Timestamp,
        summary: &mut RetentionSummary,
    ) -> Result<(), ReplicatorError> {
        let leftovers = drain(
            || self.catalog.expiring_log_objects(BATCH),
            |o| o.log_file_id,
            |o| self.finish_log_leftover(o),
        )
        .await?;
        let expired = drain(
            || self.catalog.expired_log_files(now, BATCH),
            |f| f.log_file_id,
            |f| self.expire_log_file(f, now),
        )
        .await?;
        summary.log_files_deleted += leftovers.deleted + expired.deleted;
        summary.log_files_failed += leftovers.failed + expired.failed;
        Ok(())
    }

    /// Finishes a log file tombstone an earlier sweep left.
    async fn finish_log_leftover(&self, object: ExpiringLogObject) -> Step {
        if !self.finish_log_file(&object).await {
            return Step::Failed;
        }
        tracing::info!(log_file_id = object.log_file_id, region = %object.region_id,
            "expired log file deleted (left by an earlier sweep)");
        Step::Deleted
    }

    /// Expires one log file: tombstone, objects, tombstone removed.
    async fn expire_log_file(&self, file: ExpiredLogFile, now: Timestamp) -> Step {
        let object = match self.catalog.begin_log_expiry(file.log_file_id, now).await {
            Ok(Some(object)) => object,
            Ok(None) => return Step::Gone,
            Err(e) => {
                tracing::warn!(log_file_id = file.log_file_id, region = %file.region_id,
                    error = %e, "cannot begin expiring log file; next sweep retries");
                return Step::Failed;
            }
        };
        if !self.finish_log_file(&object).await {
            return Step::Tombstoned;
        }
        tracing::info!(instance_id = file.instance_id, region = %file.region_id,
            file = %file.file_name, last_event_at = %file.last_event_at,
            "expired log file deleted");
        Step::Deleted
    }

    /// Deletes a log file tombstone's object and the segments left of it (a streamer or
    /// shipper killed before dropping them; nothing would find them once the row is gone), then
    /// the tombstone; false (logged) if any of it fails, which leaves the tombstone for the
    /// next sweep.
    async fn finish_log_file(&self, object: &ExpiringLogObject) -> bool {
        let deleted = match self.delete(&object.region_id, &object.object_key).await {
            Ok(()) => self.delete_segments(object).await,
            Err(e) => Err(e),
        };
        if let Err(e) = deleted {
            tracing::warn!(log_file_id = object.log_file_id, region = %object.region_id,
                key = %object.object_key, error = %e,
                "cannot delete expired log file's objects; it is no longer listed, next sweep retries");
            return false;
        }
        match self.catalog.finish_log_expiry(object.log_file_id).await {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(log_file_id = object.log_file_id, error = %e,
                    "expired log file's object deleted but not its tombstone; next sweep retries");
                false
            }
        }
    }

    /// Deletes the segment objects left under an expired log file's key.
    async fn delete_segments(&self, object: &ExpiringLogObject) -> Result<(), String> {
        let store = self.store(&object.region_id).await?;
        let prefix = log_segments_prefix(&object.object_key);
        let keys = store.list(&prefix).await.map_err(|e| e.to_string())?;
        for key in keys {
            self.delete(&object.region_id, &key).await?;
        }
        Ok(())
    }

    /// The store of region `region_id`, opened from the catalog the first time it is needed.
    async fn store(&self, region_id: &str) -> Result<Arc<RegionStore>, String> {
        if let Some(store) = self.regions.get(region_id) {
            return Ok(store);
        }
        let region = self
            .catalog
            .region(region_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("unknown region {region_id:?}"))?;
        let store =
            RegionStore::open(&region.region_id, &region.store_url).map_err(|e| e.to_string())?;
        self.regions.insert(store);
        self.regions
            .get(region_id)
            .ok_or_else(|| format!("region {region_id:?} vanished"))
    }
}

/// What handling one listed row did, for [`drain`].
enum Step {
    /// Its objects and tombstone are gone.
    Deleted,
    /// Its row is a tombstone now but its objects are left for the next sweep.
    Tombstoned,
    /// Another sweeper had it.
    Gone,
    /// Nothing changed: left for the next sweep, not tried again in this one.
    Failed,
}

/// What a [`drain`] did: rows deleted, and rows left for the next sweep.
#[derive(Default)]
struct Tally {
    deleted: u64,
    failed: u64,
}

/// Lists rows in batches of [`BATCH`] and handles each (but those that failed earlier in this
/// call), listing again while a full batch made progress (one without would repeat itself).
async fn drain<T, L, H>(
    mut list: impl FnMut() -> L,
    id: impl Fn(&T) -> i64,
    mut handle: impl FnMut(T) -> H,
) -> Result<Tally, ReplicatorError>
where
    L: Future<Output = xbak_catalog::Result<Vec<T>>>,
    H: Future<Output = Step>,
{
    let mut tally = Tally::default();
    let mut failed = HashSet::new();
    loop {
        let rows = list().await?;
        let full = rows.len() == BATCH as usize;
        let mut progressed = false;
        for row in rows {
            let key = id(&row);
            if failed.contains(&key) {
                continue;
            }
            match handle(row).await {
                Step::Deleted => {
                    tally.deleted += 1;
                    progressed = true;
                }
                Step::Tombstoned => {
                    tally.failed += 1;
                    progressed = true;
                }
                Step::Gone => {}
                Step::Failed => {
                    tally.failed += 1;
                    failed.insert(key);
                }
            }
        }
        if !(full && progressed) {
            return Ok(tally);
        }
    }
}

/// The name of the sweep period `now` falls in: `every` in seconds and the period's number since
/// the Unix epoch (`3600s/491234`).
pub fn sweep_period(now: Timestamp, every: Duration) -> String {
    let secs = every.as_secs().max(1);
    format!("{secs}s/{}", now.timestamp().max(0) as u64 / secs)
}
