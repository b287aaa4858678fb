//! The local test world: the catalog of [`crate::common`] with both regions as local
//! directories behind fault injectors, and a catalog that can be told to steal leases.

#![allow(dead_code)]

use crate::common::*;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use xbak_catalog::faulty::FaultyCatalog;
use xbak_catalog::{Catalog, CatalogError};
use xbak_domain::{CopyStatus, Instance};
use xbak_replicator::{Replicator, ReplicatorConfig};
use xbak_storage::conformance::pattern;
use xbak_storage::faults::FaultyStore;
use xbak_storage::{RegionStore, Regions};

pub struct World {
    pub source: Arc<RegionStore>,
    pub dest: Arc<RegionStore>,
    /// Fault injectors in front of each region's directory.
    pub source_faults: Arc<FaultyStore>,
    pub dest_faults: Arc<FaultyStore>,
    pub instance: Instance,
    pub catalog: Arc<dyn Catalog>,
    /// Last, so that it is dropped (removed) after the stores and the catalog in it.
    pub dir: tempfile::TempDir,
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

    /// A replicator on this world's catalog and [`World::regions`].
    pub fn replicator(&self, config: ReplicatorConfig) -> Replicator {
        Replicator::new(self.catalog.clone(), self.regions(), config)
    }

    /// [`World::add_set`] of `len` pattern bytes from `seed`; returns (bytes, copy id,
    /// destination key).
    pub async fn add_pattern_set(&self, n: u32, len: usize, seed: u64) -> (Vec<u8>, i64, String) {
        let data = pattern(len, seed);
        let (id, key) = self.add_set(n, &data).await;
        (data, id, key)
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

    /// Copy `id` is completed: the destination holds `data` at `key`, and nothing in staging.
    pub async fn assert_copied(&self, id: i64, key: &str, data: &[u8]) {
        let copy = self.catalog.copy(id).await.unwrap().expect("copy exists");
        assert_eq!(copy.status, CopyStatus::Completed);
        let sha256 = self.dest.checksum(key).await.unwrap().sha256;
        assert_eq!(sha256, sha256_hex(data), "{key}");
        let staged = self.dest_staging_files();
        assert!(staged.is_empty(), "{staged:?}");
    }
}

/// A catalog that can be told to refuse lease renewals, as if another worker took the job over:
/// `steal` turns it on and off.
pub fn stealing_catalog(
    inner: Arc<dyn Catalog>,
    copy_id: i64,
) -> (Arc<FaultyCatalog>, Arc<AtomicBool>) {
    let steal = Arc::new(AtomicBool::new(true));
    let on = steal.clone();
    let catalog = FaultyCatalog::new(inner, move |method| {
        (method == "renew_copy_lease" && on.load(Ordering::SeqCst))
            .then_some(CatalogError::LeaseLost(copy_id))
    });
    (Arc::new(catalog), steal)
}
