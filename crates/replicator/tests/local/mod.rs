//! The local test world: the catalog of [`crate::common`] with both regions as local
//! directories behind fault injectors, and a catalog that can be told to steal leases.

#![allow(dead_code)]

use crate::common::*;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use xbak_catalog::Catalog;
use xbak_domain::{Instance, NewBackupSet, NewInstance, Policy, Region};
use xbak_storage::faults::FaultyStore;
use xbak_storage::{RegionStore, Regions};

pub struct World {
    pub dir: tempfile::TempDir,
    pub catalog: Arc<dyn Catalog>,
    pub instance: Instance,
    pub source: Arc<RegionStore>,
    pub dest: Arc<RegionStore>,
    /// Fault injectors in front of each region's directory.
    pub source_faults: Arc<FaultyStore>,
    pub dest_faults: Arc<FaultyStore>,
}

impl World {
    pub async fn new() -> World {
        init_tracing();
        let dir = tempfile::tempdir().unwrap();
        let (catalog, instance) = seeded_catalog(
            dir.path(),
            &local_url(dir.path(), SOURCE),
            &local_url(dir.path(), DEST),
        )
        .await;
        let (source_faults, source) = faulty_region(dir.path(), SOURCE);
        let (dest_faults, dest) = faulty_region(dir.path(), DEST);
        World {
            dir,
            catalog,
            instance,
            source,
            dest,
            source_faults,
            dest_faults,
        }
    }

    /// Regions as a freshly started process would have them, with the fault injectors.
    pub fn regions(&self) -> Regions {
        regions(&[&self.source, &self.dest])
    }

    /// Stores `data` as backup set `n` in the source region and records it with its true
    /// checksum; returns (copy id, destination key).
    pub async fn add_set(&self, n: u32, data: &[u8]) -> (i64, String) {
        self.add_set_as(n, data, Some(data)).await
    }

    /// Like [`World::add_set`], but records the size and checksum of `recorded` and stores
    /// `data` only if `stored` is `Some`.
    pub async fn add_set_as(
        &self,
        n: u32,
        recorded: &[u8],
        stored: Option<&[u8]>,
    ) -> (i64, String) {
        let slot = SetSlot::new(&self.instance, n);
        if let Some(data) = stored {
            slot.store(&self.source, data).await;
        }
        let copy_id = slot
            .record(
                &*self.catalog,
                &self.instance,
                recorded.len() as u64,
                sha256_hex(recorded),
            )
            .await;
        (copy_id, slot.dest_key)
    }

    /// Files under the destination's staging directory (partial uploads included).
    pub fn dest_staging_files(&self) -> Vec<PathBuf> {
        files_under(&region_dir(self.dir.path(), DEST).join(".staging"))
    }
}

/// A catalog that can be told to refuse lease renewals, as if another worker took the job over.
pub struct StealingCatalog {
    pub inner: Arc<dyn Catalog>,
    pub steal: AtomicBool,
}

impl StealingCatalog {
    pub fn stealing(&self, on: bool) {
        self.steal.store(on, Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl Catalog for StealingCatalog {
    async fn create_account(
        &self,
        name: &str,
    ) -> xbak_catalog::Result<(xbak_domain::Account, xbak_domain::AccessKey)> {
        self.inner.create_account(name).await
    }
    async fn account_by_name(
        &self,
        name: &str,
    ) -> xbak_catalog::Result<Option<xbak_domain::Account>> {
        self.inner.account_by_name(name).await
    }
    async fn access_key(&self, id: &str) -> xbak_catalog::Result<Option<xbak_domain::AccessKey>> {
        self.inner.access_key(id).await
    }
    async fn put_region(&self, region: &Region) -> xbak_catalog::Result<()> {
        self.inner.put_region(region).await
    }
    async fn region(&self, id: &str) -> xbak_catalog::Result<Option<Region>> {
        self.inner.region(id).await
    }
    async fn regions(&self) -> xbak_catalog::Result<Vec<Region>> {
        self.inner.regions().await
    }
    async fn create_instance(&self, new: &NewInstance) -> xbak_catalog::Result<Instance> {
        self.inner.create_instance(new).await
    }
    async fn instance_by_db_instance_id(&self, id: &str) -> xbak_catalog::Result<Option<Instance>> {
        self.inner.instance_by_db_instance_id(id).await
    }
    async fn put_policy(&self, policy: &Policy) -> xbak_catalog::Result<Policy> {
        self.inner.put_policy(policy).await
    }
    async fn policy(&self, instance_id: i64) -> xbak_catalog::Result<Option<Policy>> {
        self.inner.policy(instance_id).await
    }
    async fn put_cross_backup_policy(
        &self,
        policy: &Policy,
        log_backup_enabled: bool,
    ) -> xbak_catalog::Result<xbak_domain::CrossBackupPolicy> {
        self.inner
            .put_cross_backup_policy(policy, log_backup_enabled)
            .await
    }
    async fn cross_backup_policy(
        &self,
        instance_id: i64,
    ) -> xbak_catalog::Result<Option<xbak_domain::CrossBackupPolicy>> {
        self.inner.cross_backup_policy(instance_id).await
    }
    async fn queue_copy_of_latest_set(
        &self,
        instance_id: i64,
        dest_region_id: &str,
        since: xbak_domain::time::Timestamp,
    ) -> xbak_catalog::Result<Option<i64>> {
        self.inner
            .queue_copy_of_latest_set(instance_id, dest_region_id, since)
            .await
    }
    async fn change_cross_backup_policy(
        &self,
        instance_id: i64,
        change: &xbak_domain::PolicyChange,
        now: xbak_domain::time::Timestamp,
    ) -> Result<xbak_catalog::PolicyChanged, xbak_catalog::PolicyChangeError> {
        self.inner
            .change_cross_backup_policy(instance_id, change, now)
            .await
    }
    async fn claim_requested_backup_by(
        &self,
        now: xbak_domain::time::Timestamp,
        lease: Duration,
        holder: &xbak_domain::LeaseHolder,
    ) -> xbak_catalog::Result<Option<xbak_domain::RequestedBackup>> {
        self.inner
            .claim_requested_backup_by(now, lease, holder)
            .await
    }
    async fn renew_requested_backup(
        &self,
        id: i64,
        lease_token: &str,
        until: xbak_domain::time::Timestamp,
    ) -> xbak_catalog::Result<()> {
        self.inner
            .renew_requested_backup(id, lease_token, until)
            .await
    }
    async fn complete_requested_backup(
        &self,
        id: i64,
        lease_token: &str,
        backup_run_id: Option<i64>,
        now: xbak_domain::time::Timestamp,
    ) -> xbak_catalog::Result<()> {
        self.inner
            .complete_requested_backup(id, lease_token, backup_run_id, now)
            .await
    }
    async fn fail_requested_backup(
        &self,
        id: i64,
        lease_token: &str,
        backup_run_id: Option<i64>,
        error: &str,
        now: xbak_domain::time::Timestamp,
    ) -> xbak_catalog::Result<()> {
        self.inner
            .fail_requested_backup(id, lease_token, backup_run_id, error, now)
            .await
    }
    async fn requested_backup(
        &self,
        id: i64,
    ) -> xbak_catalog::Result<Option<xbak_domain::RequestedBackup>> {
        self.inner.requested_backup(id).await
    }
    async fn open_requested_backups(
        &self,
        instance_id: i64,
    ) -> xbak_catalog::Result<Vec<xbak_domain::RequestedBackup>> {
        self.inner.open_requested_backups(instance_id).await
    }
    async fn record_backup_set(
        &self,
        new: &NewBackupSet,
    ) -> xbak_catalog::Result<xbak_catalog::RecordedBackupSet> {
        self.inner.record_backup_set(new).await
    }
    async fn backup_set(&self, id: i64) -> xbak_catalog::Result<Option<xbak_domain::BackupSet>> {
        self.inner.backup_set(id).await
    }
    async fn newest_backup_set(
        &self,
        instance_id: i64,
    ) -> xbak_catalog::Result<Option<xbak_domain::BackupSet>> {
        self.inner.newest_backup_set(instance_id).await
    }
    async fn put_instance_connection(
        &self,
        c: &xbak_domain::InstanceConnection,
    ) -> xbak_catalog::Result<()> {
        self.inner.put_instance_connection(c).await
    }
    async fn instance_connection(
        &self,
        instance_id: i64,
    ) -> xbak_catalog::Result<Option<xbak_domain::InstanceConnection>> {
        self.inner.instance_connection(instance_id).await
    }
    async fn instance(&self, id: i64) -> xbak_catalog::Result<Option<Instance>> {
        self.inner.instance(id).await
    }
    async fn start_backup_run(
        &self,
        new: &xbak_domain::NewBackupRun,
    ) -> xbak_catalog::Result<xbak_domain::BackupRun> {
        self.inner.start_backup_run(new).await
    }
    async fn complete_backup_run(
        &self,
        run_id: i64,
        set: &NewBackupSet,
        details: &xbak_domain::BackupSetDetails,
    ) -> xbak_catalog::Result<xbak_catalog::RecordedBackupSet> {
        self.inner.complete_backup_run(run_id, set, details).await
    }
    async fn fail_backup_run(
        &self,
        run_id: i64,
        at: xbak_domain::time::Timestamp,
        error: &str,
    ) -> xbak_catalog::Result<()> {
        self.inner.fail_backup_run(run_id, at, error).await
    }
    async fn touch_backup_run(
        &self,
        run_id: i64,
        now: xbak_domain::time::Timestamp,
    ) -> xbak_catalog::Result<bool> {
        self.inner.touch_backup_run(run_id, now).await
    }
    async fn fail_stale_backup_runs(
        &self,
        now: xbak_domain::time::Timestamp,
        silent_since: xbak_domain::time::Timestamp,
    ) -> xbak_catalog::Result<Vec<i64>> {
        self.inner.fail_stale_backup_runs(now, silent_since).await
    }
    async fn backup_run(&self, id: i64) -> xbak_catalog::Result<Option<xbak_domain::BackupRun>> {
        self.inner.backup_run(id).await
    }
    async fn backup_run_of_set(
        &self,
        set_id: i64,
    ) -> xbak_catalog::Result<Option<xbak_domain::BackupRun>> {
        self.inner.backup_run_of_set(set_id).await
    }
    async fn backup_runs(
        &self,
        instance_id: i64,
        limit: u32,
    ) -> xbak_catalog::Result<Vec<xbak_domain::BackupRun>> {
        self.inner.backup_runs(instance_id, limit).await
    }
    async fn latest_completed_backup_run(
        &self,
        instance_id: i64,
        method: xbak_domain::BackupMethod,
        instance_number: i64,
    ) -> xbak_catalog::Result<Option<xbak_domain::BackupRun>> {
        self.inner
            .latest_completed_backup_run(instance_id, method, instance_number)
            .await
    }
    async fn put_backup_schedule(
        &self,
        s: &xbak_domain::BackupSchedule,
    ) -> xbak_catalog::Result<()> {
        self.inner.put_backup_schedule(s).await
    }
    async fn delete_backup_schedule(&self, instance_id: i64) -> xbak_catalog::Result<bool> {
        self.inner.delete_backup_schedule(instance_id).await
    }
    async fn backup_schedules(&self) -> xbak_catalog::Result<Vec<xbak_domain::BackupSchedule>> {
        self.inner.backup_schedules().await
    }
    async fn claim_scheduled_backup(
        &self,
        instance_id: i64,
        day: &str,
    ) -> xbak_catalog::Result<bool> {
        self.inner.claim_scheduled_backup(instance_id, day).await
    }
    async fn list_copies(
        &self,
        query: &xbak_domain::CopyQuery,
    ) -> xbak_catalog::Result<xbak_domain::CopyListing> {
        self.inner.list_copies(query).await
    }
    async fn copy(&self, id: i64) -> xbak_catalog::Result<Option<xbak_domain::CrossRegionCopy>> {
        self.inner.copy(id).await
    }
    async fn copy_counts(&self) -> xbak_catalog::Result<xbak_catalog::CopyCounts> {
        self.inner.copy_counts().await
    }
    async fn expired_copies(
        &self,
        now: xbak_domain::time::Timestamp,
        limit: u32,
    ) -> xbak_catalog::Result<Vec<xbak_catalog::ExpiredCopy>> {
        self.inner.expired_copies(now, limit).await
    }
    async fn begin_expiry(
        &self,
        copy_id: i64,
        now: xbak_domain::time::Timestamp,
    ) -> xbak_catalog::Result<Option<xbak_catalog::ExpiringObject>> {
        self.inner.begin_expiry(copy_id, now).await
    }
    async fn expiring_objects(
        &self,
        limit: u32,
    ) -> xbak_catalog::Result<Vec<xbak_catalog::ExpiringObject>> {
        self.inner.expiring_objects(limit).await
    }
    async fn finish_expiry(&self, copy_id: i64) -> xbak_catalog::Result<bool> {
        self.inner.finish_expiry(copy_id).await
    }
    async fn copy_freshness(&self) -> xbak_catalog::Result<Vec<xbak_catalog::CopyFreshness>> {
        self.inner.copy_freshness().await
    }
    async fn claim_copy_job_by(
        &self,
        now: xbak_domain::time::Timestamp,
        lease: Duration,
        holder: &xbak_domain::LeaseHolder,
    ) -> xbak_catalog::Result<Option<xbak_domain::CopyJob>> {
        self.inner.claim_copy_job_by(now, lease, holder).await
    }
    async fn held_leases(
        &self,
        queue: xbak_catalog::LeasedQueue,
        now: xbak_domain::time::Timestamp,
    ) -> xbak_catalog::Result<Vec<xbak_catalog::HeldLease>> {
        self.inner.held_leases(queue, now).await
    }
    async fn break_lease(
        &self,
        queue: xbak_catalog::LeasedQueue,
        id: i64,
        token: &str,
        now: xbak_domain::time::Timestamp,
    ) -> xbak_catalog::Result<bool> {
        self.inner.break_lease(queue, id, token, now).await
    }
    async fn claim_periodic_run(
        &self,
        task: &str,
        period: &str,
        now: xbak_domain::time::Timestamp,
        lease: Duration,
        holder: &xbak_domain::LeaseHolder,
    ) -> xbak_catalog::Result<Option<xbak_catalog::PeriodicRun>> {
        self.inner
            .claim_periodic_run(task, period, now, lease, holder)
            .await
    }
    async fn renew_periodic_run(
        &self,
        id: i64,
        token: &str,
        until: xbak_domain::time::Timestamp,
    ) -> xbak_catalog::Result<()> {
        self.inner.renew_periodic_run(id, token, until).await
    }
    async fn finish_periodic_run(
        &self,
        id: i64,
        token: &str,
        now: xbak_domain::time::Timestamp,
    ) -> xbak_catalog::Result<()> {
        self.inner.finish_periodic_run(id, token, now).await
    }
    async fn renew_copy_lease(
        &self,
        copy_id: i64,
        token: &str,
        until: xbak_domain::time::Timestamp,
    ) -> xbak_catalog::Result<()> {
        if self.steal.load(Ordering::SeqCst) {
            return Err(xbak_catalog::CatalogError::LeaseLost(copy_id));
        }
        self.inner.renew_copy_lease(copy_id, token, until).await
    }
    async fn complete_copy(
        &self,
        copy_id: i64,
        token: &str,
        now: xbak_domain::time::Timestamp,
    ) -> xbak_catalog::Result<()> {
        self.inner.complete_copy(copy_id, token, now).await
    }
    async fn fail_copy_attempt(
        &self,
        copy_id: i64,
        token: &str,
        error: &str,
        retry_at: Option<xbak_domain::time::Timestamp>,
    ) -> xbak_catalog::Result<()> {
        self.inner
            .fail_copy_attempt(copy_id, token, error, retry_at)
            .await
    }
    async fn save_copy_resume_state(
        &self,
        copy_id: i64,
        token: &str,
        state: Option<&str>,
    ) -> xbak_catalog::Result<()> {
        self.inner
            .save_copy_resume_state(copy_id, token, state)
            .await
    }
    async fn next_copy_due(&self) -> xbak_catalog::Result<Option<xbak_domain::time::Timestamp>> {
        self.inner.next_copy_due().await
    }
    async fn remember_nonces(
        &self,
        nonces: &[xbak_catalog::SeenNonce],
    ) -> xbak_catalog::Result<()> {
        self.inner.remember_nonces(nonces).await
    }
    async fn live_nonces(
        &self,
        now: xbak_domain::time::Timestamp,
    ) -> xbak_catalog::Result<Vec<xbak_catalog::SeenNonce>> {
        self.inner.live_nonces(now).await
    }
    async fn prune_nonces(&self, now: xbak_domain::time::Timestamp) -> xbak_catalog::Result<u64> {
        self.inner.prune_nonces(now).await
    }
    async fn change_token(&self) -> xbak_catalog::Result<u64> {
        self.inner.change_token().await
    }
    async fn link_signing_key(&self) -> xbak_catalog::Result<(String, String)> {
        self.inner.link_signing_key().await
    }
}
