//! A world for replicator tests: a SQLite catalog in a temporary directory, an account with a
//! MySQL 5.7 instance in Hangzhou whose policy copies to Shanghai, and both regions as local
//! directories; backup sets are stored in Hangzhou and recorded, which queues their copies.

#![allow(dead_code)]

use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;
use xbak_catalog::sqlite::SqliteCatalog;
use xbak_catalog::Catalog;
use xbak_domain::naming::{backup_set_file_name, backup_set_key, copy_key};
use xbak_domain::{
    BackupMethod, BackupSetScale, BackupType, Category, Instance, NewBackupSet, NewInstance,
    Policy, Region, StorageType,
};
use xbak_engine::{CopyEvent, ReplicatorConfig, RetryPolicy};
use xbak_storage::faults::FaultyStore;
use xbak_storage::{RegionStore, Regions};

pub const SOURCE: &str = "cn-hangzhou";
pub const DEST: &str = "cn-shanghai";

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

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("xbak_engine=debug,xbak_storage=debug")
        .try_init();
}

pub fn region_dir(dir: &std::path::Path, region: &str) -> PathBuf {
    dir.join(region)
}

fn faulty_region(dir: &std::path::Path, region: &str) -> (Arc<FaultyStore>, Arc<RegionStore>) {
    let path = region_dir(dir, region);
    let url = format!("file://{}", path.display());
    RegionStore::open(region, &url).expect("creates the directory");
    let fs = object_store::local::LocalFileSystem::new_with_prefix(&path)
        .unwrap()
        .with_automatic_cleanup(true);
    let faults = FaultyStore::new(Arc::new(fs));
    let store = RegionStore::from_object_store(region, &url, faults.clone()).unwrap();
    (faults, Arc::new(store))
}

/// A SQLite catalog in `dir` with regions `SOURCE` and `DEST` at these URLs, account `acme` and
/// its MySQL 5.7 instance `rm-bp1` in `SOURCE`, whose policy copies to `DEST` (7 days).
pub async fn seeded_catalog(
    dir: &std::path::Path,
    source_url: &str,
    dest_url: &str,
) -> (Arc<dyn Catalog>, Instance) {
    let catalog: Arc<dyn Catalog> =
        Arc::new(SqliteCatalog::open(&dir.join("catalog.db")).await.unwrap());
    for (region, url) in [(SOURCE, source_url), (DEST, dest_url)] {
        catalog
            .put_region(&Region {
                region_id: region.into(),
                store_url: url.into(),
            })
            .await
            .unwrap();
    }
    let (account, _) = catalog.create_account("acme").await.unwrap();
    let instance = catalog
        .create_instance(&NewInstance {
            db_instance_id: "rm-bp1".into(),
            region_id: SOURCE.into(),
            account_id: account.id,
            engine: "MySQL".into(),
            engine_version: "5.7".into(),
            category: Category::HighAvailability,
            storage_type: StorageType::LocalSsd,
            instance_number: 7986073,
        })
        .await
        .unwrap();
    catalog
        .put_policy(&Policy {
            instance_id: instance.id,
            enabled: true,
            dest_region_id: DEST.into(),
            retention_days: 7,
            updated_at: chrono::Utc::now(),
        })
        .await
        .unwrap();
    (catalog, instance)
}

impl World {
    pub async fn new() -> World {
        init_tracing();
        let dir = tempfile::tempdir().unwrap();
        let url = |region| format!("file://{}", region_dir(dir.path(), region).display());
        let (catalog, instance) = seeded_catalog(dir.path(), &url(SOURCE), &url(DEST)).await;
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
        let regions = Regions::new();
        regions.insert((*self.source).clone());
        regions.insert((*self.dest).clone());
        regions
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
            let staged = self
                .source
                .upload_staged(&slot.source_key, data, &|_| {})
                .await
                .unwrap();
            self.source
                .publish(&staged, &slot.source_key)
                .await
                .unwrap();
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

/// Where backup set `n` of an instance goes: started 2024-03-01 + `n` hours, stored in `SOURCE`.
pub struct SetSlot {
    pub started: chrono::DateTime<chrono::Utc>,
    pub source_key: String,
    pub dest_key: String,
}

impl SetSlot {
    pub fn new(instance: &Instance, n: u32) -> SetSlot {
        use chrono::TimeZone as _;
        let started = chrono::Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap()
            + chrono::Duration::hours(i64::from(n));
        let file = backup_set_file_name(
            SOURCE,
            &instance.db_instance_id,
            instance.instance_number,
            started,
            BackupMethod::Physical,
        );
        SetSlot {
            started,
            source_key: backup_set_key(&instance.db_instance_id, &file),
            dest_key: copy_key(&instance.db_instance_id, &file),
        }
    }

    /// Records the set (physical, full) with this size and checksum; returns the queued copy's id.
    pub async fn record(
        &self,
        catalog: &dyn Catalog,
        instance: &Instance,
        size: u64,
        sha256: String,
    ) -> i64 {
        let recorded = catalog
            .record_backup_set(&NewBackupSet {
                instance_id: instance.id,
                method: BackupMethod::Physical,
                backup_type: BackupType::Full,
                scale: BackupSetScale::Instance,
                started_at: self.started,
                finished_at: self.started + chrono::Duration::minutes(10),
                consistent_at: self.started + chrono::Duration::minutes(9),
                instance_number: instance.instance_number,
                object_key: self.source_key.clone(),
                size_bytes: size as i64,
                sha256,
            })
            .await
            .unwrap();
        recorded.queued_copy_id.expect("policy is enabled")
    }
}

pub fn files_under(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Fast retries (no backoff) and short leases.
pub fn config(max_attempts: u32) -> ReplicatorConfig {
    ReplicatorConfig {
        lease: Duration::from_secs(1),
        retry: RetryPolicy {
            base: Duration::ZERO,
            max: Duration::ZERO,
            max_attempts,
        },
        concurrency: 2,
        poll_interval: Duration::from_millis(200),
        staging_max_age: Duration::from_secs(3600),
        ..ReplicatorConfig::default()
    }
}

/// Every event received so far.
pub fn drain(rx: &mut broadcast::Receiver<CopyEvent>) -> Vec<CopyEvent> {
    let mut events = Vec::new();
    while let Ok(e) = rx.try_recv() {
        events.push(e);
    }
    events
}

/// Waits until the leases of abandoned jobs have run out (the catalog counts whole seconds).
pub async fn wait_for_leases_to_expire() {
    tokio::time::sleep(Duration::from_millis(2100)).await;
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
    async fn claim_requested_backup(
        &self,
        now: xbak_domain::time::Timestamp,
        lease: Duration,
    ) -> xbak_catalog::Result<Option<xbak_domain::RequestedBackup>> {
        self.inner.claim_requested_backup(now, lease).await
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
    async fn claim_copy_job(
        &self,
        now: xbak_domain::time::Timestamp,
        lease: Duration,
    ) -> xbak_catalog::Result<Option<xbak_domain::CopyJob>> {
        self.inner.claim_copy_job(now, lease).await
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
