//! What the replicator's test worlds share (the local one in `local`, the S3 one in
//! `s3world`): a SQLite catalog in a temporary directory with an account whose MySQL 5.7
//! instance in `SOURCE` (Hangzhou) has a policy that copies to `DEST` (Shanghai); local regions
//! behind fault injectors; where backup set `n` goes and how it is stored and recorded (which
//! queues its copy); a fast replicator configuration and event helpers.

#![allow(dead_code)]

use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;
use xbak_catalog::Catalog;
use xbak_domain::naming::{backup_set_file_name, backup_set_key, copy_key};
use xbak_domain::{BackupMethod, Instance};
use xbak_replicator::{Backoff, CopyEvent, ReplicatorConfig};
use xbak_storage::faults::FaultyStore;
use xbak_storage::{RegionStore, Regions, Staged};
use xbak_testkit::world::{self, FullSet, InstanceSpec};

pub const SOURCE: &str = "cn-hangzhou";
pub const DEST: &str = "cn-shanghai";

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("xbak_replicator=debug,xbak_storage=debug")
        .try_init();
}

pub fn region_dir(dir: &std::path::Path, region: &str) -> PathBuf {
    dir.join(region)
}

pub use xbak_testkit::world::local_url;

pub fn faulty_region(dir: &std::path::Path, region: &str) -> (Arc<FaultyStore>, Arc<RegionStore>) {
    let path = region_dir(dir, region);
    let url = local_url(dir, region);
    RegionStore::open(region, &url).expect("creates the directory");
    let fs = object_store::local::LocalFileSystem::new_with_prefix(&path)
        .unwrap()
        .with_automatic_cleanup(true);
    let faults = FaultyStore::new(Arc::new(fs));
    let store = RegionStore::from_object_store(region, &url, faults.clone()).unwrap();
    (faults, Arc::new(store))
}

/// Regions as a freshly started process would have them.
pub fn regions(stores: &[&RegionStore]) -> Regions {
    let regions = Regions::new();
    for store in stores {
        regions.insert((*store).clone());
    }
    regions
}

/// A SQLite catalog in `dir` with regions `SOURCE` and `DEST` at these URLs, account `acme` and
/// its MySQL 5.7 instance `rm-bp1` in `SOURCE`, whose policy copies to `DEST` (7 days).
pub async fn seeded_catalog(
    dir: &std::path::Path,
    source_url: &str,
    dest_url: &str,
) -> (Arc<dyn Catalog>, Instance) {
    let catalog = world::sqlite_catalog(dir).await;
    world::put_regions(&*catalog, &[(SOURCE, source_url), (DEST, dest_url)]).await;
    let instance = InstanceSpec::mysql57("acme", "rm-bp1", SOURCE)
        .copying_to(DEST)
        .seed(&*catalog)
        .await;
    (catalog, instance)
}

/// Where backup set `n` of an instance goes: started 2024-03-01 + `n` hours, stored in `SOURCE`.
pub struct SetSlot {
    pub started: chrono::DateTime<chrono::Utc>,
    pub source_key: String,
    pub dest_key: String,
}

impl SetSlot {
    pub fn new(instance: &Instance, n: u32) -> SetSlot {
        let started = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2024, 3, 1, 0, 0, 0)
            .unwrap()
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

    /// Stores what `reader` yields as the set's object in `source` (streamed, never held whole).
    pub async fn store(
        &self,
        source: &RegionStore,
        reader: impl tokio::io::AsyncRead + Unpin + Send,
    ) -> Staged {
        let staged = source
            .upload_staged(&self.source_key, reader, &|_| {})
            .await
            .unwrap();
        source.publish(&staged, &self.source_key).await.unwrap();
        staged
    }

    /// Records the set (physical, full) with this size and checksum; returns the queued copy's id.
    pub async fn record(
        &self,
        catalog: &dyn Catalog,
        instance: &Instance,
        size: u64,
        sha256: String,
    ) -> i64 {
        let recorded = FullSet {
            object_key: &self.source_key,
            size,
            sha256,
            started: self.started,
            finished: self.started + chrono::Duration::minutes(10),
            consistent: self.started + chrono::Duration::minutes(9),
        }
        .record(catalog, instance)
        .await;
        recorded.queued_copy_id.expect("policy is enabled")
    }
}

#[allow(unused_imports)] // not every test binary lists files
pub use xbak_testkit::world::files_under;

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Fast retries (no backoff) and short leases.
pub fn config(max_attempts: u32) -> ReplicatorConfig {
    ReplicatorConfig {
        lease: Duration::from_secs(1),
        retry: Backoff {
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
