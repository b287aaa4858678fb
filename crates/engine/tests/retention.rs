//! Retention end to end: copies made by the replicator into a local region, then expired by
//! the sweeper at chosen times.

mod util;

use async_trait::async_trait;
use chrono::Duration as Days;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use util::*;
use xbak_catalog::ExpiringObject;
use xbak_domain::time::parse_utc;
use xbak_domain::{CopyQuery, PageSize, Policy};
use xbak_engine::{Replicator, Retention, RetentionSummary};
use xbak_storage::conformance::pattern;
use xbak_storage::{RegionStore, Regions};

/// Start of backup set `n` in [`World::add_set`] (2024-03-01 + n hours).
fn started(n: u32) -> chrono::DateTime<chrono::Utc> {
    parse_utc("2024-03-01T00:00:00Z").unwrap() + Days::hours(i64::from(n))
}

/// The instance's listed copy ids, newest first.
async fn listed(w: &World) -> Vec<i64> {
    let listing = w
        .catalog
        .list_copies(&CopyQuery {
            instance_id: w.instance.id,
            cross_backup_id: None,
            window: None,
            dest_region_id: None,
            backup_set_id: None,
            page_size: PageSize::Thirty,
            page_number: 1,
        })
        .await
        .unwrap();
    assert_eq!(listing.total as usize, listing.items.len());
    listing.items.iter().map(|c| c.cross_backup_id).collect()
}

async fn tombstones(w: &World) -> Vec<i64> {
    let left: Vec<ExpiringObject> = w.catalog.expiring_objects(100).await.unwrap();
    left.iter().map(|t| t.copy_id).collect()
}

/// A store whose deletes fail while `fail` is set (the fault-injecting store of
/// `xbak_storage::faults` faults reads and uploads only).
#[derive(Debug)]
struct FailingDeletes {
    inner: Arc<dyn ObjectStore>,
    fail: AtomicBool,
}

impl std::fmt::Display for FailingDeletes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FailingDeletes({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for FailingDeletes {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn delete(&self, location: &Path) -> object_store::Result<()> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(object_store::Error::Generic {
                store: "FailingDeletes",
                source: "injected fault: delete refused".into(),
            });
        }
        self.inner.delete(location).await
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy(&self, from: &Path, to: &Path) -> object_store::Result<()> {
        self.inner.copy(from, to).await
    }

    async fn copy_if_not_exists(&self, from: &Path, to: &Path) -> object_store::Result<()> {
        self.inner.copy_if_not_exists(from, to).await
    }

    async fn rename_if_not_exists(&self, from: &Path, to: &Path) -> object_store::Result<()> {
        self.inner.rename_if_not_exists(from, to).await
    }
}

/// Regions for a sweeper whose destination store refuses deletes while the returned switch is on.
fn with_failing_deletes(w: &World) -> (Regions, Arc<FailingDeletes>) {
    let path = region_dir(w.dir.path(), DEST);
    let url = format!("file://{}", path.display());
    let fs = object_store::local::LocalFileSystem::new_with_prefix(&path)
        .unwrap()
        .with_automatic_cleanup(true);
    let store = Arc::new(FailingDeletes {
        inner: Arc::new(fs),
        fail: AtomicBool::new(true),
    });
    let regions = Regions::new();
    regions.insert((*w.source).clone());
    regions.insert(RegionStore::from_object_store(DEST, &url, store.clone()).unwrap());
    (regions, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_the_expired_copies_are_deleted_objects_first() {
    let w = World::new().await;
    let mut copies = Vec::new();
    for n in 1..=5u32 {
        copies.push(
            w.add_set(n, &pattern(1000 + n as usize, u64::from(n)))
                .await,
        );
    }
    let summary = Replicator::new(w.catalog.clone(), w.regions(), config(3))
        .run_once()
        .await
        .unwrap();
    assert_eq!(summary.completed, 5);
    // Turning the policy off stops new copies but retention still applies.
    w.catalog
        .put_policy(&Policy {
            instance_id: w.instance.id,
            enabled: false,
            dest_region_id: DEST.into(),
            retention_days: 7,
            updated_at: chrono::Utc::now(),
        })
        .await
        .unwrap();
    for (_, key) in &copies {
        assert!(w.dest.head(key).await.unwrap().is_some());
    }
    let retention = Retention::new(w.catalog.clone(), w.regions());

    // Exactly seven days after set 2 started: only set 1 is older than that.
    let summary = retention.sweep(started(2) + Days::days(7)).await.unwrap();
    assert_eq!(
        summary,
        RetentionSummary {
            deleted: 1,
            failed: 0
        }
    );
    // Sets 2 and 3 expire a second after set 3 turned 7 days old.
    let summary = retention
        .sweep(started(3) + Days::days(7) + Days::seconds(1))
        .await
        .unwrap();
    assert_eq!(summary.deleted, 2);
    assert!(tombstones(&w).await.is_empty());
    for (i, (id, key)) in copies.iter().enumerate() {
        let gone = i < 3;
        assert_eq!(
            w.catalog.copy(*id).await.unwrap().is_none(),
            gone,
            "row {i}"
        );
        assert_eq!(
            w.dest.head(key).await.unwrap().is_none(),
            gone,
            "object {i}"
        );
    }
    let listing = w
        .catalog
        .list_copies(&xbak_domain::CopyQuery {
            instance_id: w.instance.id,
            cross_backup_id: None,
            window: None,
            dest_region_id: None,
            backup_set_id: None,
            page_size: xbak_domain::PageSize::Thirty,
            page_number: 1,
        })
        .await
        .unwrap();
    assert_eq!(
        listing
            .items
            .iter()
            .map(|c| c.cross_backup_id)
            .collect::<Vec<_>>(),
        vec![copies[4].0, copies[3].0]
    );
    // Sweeping again at the same time finds nothing.
    let summary = retention
        .sweep(started(3) + Days::days(7) + Days::seconds(1))
        .await
        .unwrap();
    assert_eq!(summary, RetentionSummary::default());
}

/// An expired copy whose object is already gone (deleted by hand, or by a sweeper from before
/// tombstones that crashed after the object): the sweep expires it anyway, a missing object
/// counting as deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_object_and_row_is_recovered() {
    let w = World::new().await;
    let (id1, key1) = w.add_set(1, &pattern(2000, 1)).await;
    let (id2, key2) = w.add_set(2, &pattern(2000, 2)).await;
    Replicator::new(w.catalog.clone(), w.regions(), config(3))
        .run_once()
        .await
        .unwrap();
    // The crashed sweep's first step, for copy 1 only.
    w.dest.delete(&key1).await.unwrap();
    assert!(w.catalog.copy(id1).await.unwrap().is_some());

    let now = started(1) + Days::days(7) + Days::seconds(1);
    // A fresh process (regions opened from the catalog, not handed over).
    let retention = Retention::new(w.catalog.clone(), xbak_storage::Regions::new());
    let summary = retention.sweep(now).await.unwrap();
    assert_eq!(
        summary,
        RetentionSummary {
            deleted: 1,
            failed: 0
        }
    );
    assert!(w.catalog.copy(id1).await.unwrap().is_none());
    assert!(w.catalog.copy(id2).await.unwrap().is_some());
    assert!(w.dest.head(&key2).await.unwrap().is_some());
}

/// A sweeper that crashed right after `begin_expiry`: the copy is no longer listed though its
/// object is still there, named by the tombstone; the next sweep (a fresh process) deletes the
/// object and then the tombstone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_begin_expiry_is_finished_by_the_next_sweep() {
    let w = World::new().await;
    let (id1, key1) = w.add_set(1, &pattern(2000, 1)).await;
    let (id2, key2) = w.add_set(2, &pattern(2000, 2)).await;
    Replicator::new(w.catalog.clone(), w.regions(), config(3))
        .run_once()
        .await
        .unwrap();
    let now = started(1) + Days::days(7) + Days::seconds(1);
    // The crashed sweep's first step, for copy 1 only.
    let begun = w.catalog.begin_expiry(id1, now).await.unwrap().unwrap();
    assert_eq!(
        (begun.copy_id, begun.object_key.as_str()),
        (id1, key1.as_str())
    );
    assert!(w.catalog.copy(id1).await.unwrap().is_none());
    assert_eq!(listed(&w).await, vec![id2]);
    assert!(w.dest.head(&key1).await.unwrap().is_some(), "object kept");
    assert_eq!(tombstones(&w).await, vec![id1]);

    let retention = Retention::new(w.catalog.clone(), Regions::new());
    let summary = retention.sweep(now).await.unwrap();
    assert_eq!(
        summary,
        RetentionSummary {
            deleted: 1,
            failed: 0
        }
    );
    assert!(
        w.dest.head(&key1).await.unwrap().is_none(),
        "object deleted"
    );
    assert!(tombstones(&w).await.is_empty());
    assert_eq!(listed(&w).await, vec![id2]);
    assert!(w.dest.head(&key2).await.unwrap().is_some());
    // Nothing is left for the next sweep.
    assert_eq!(
        retention.sweep(now).await.unwrap(),
        RetentionSummary::default()
    );
}

/// A destination that refuses deletes: the expired copy leaves listings at once but its
/// tombstone stays (counted in `failed` by every sweep) until a sweep after the fault clears
/// deletes the object and the tombstone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_object_delete_keeps_the_tombstone_until_a_later_sweep() {
    let w = World::new().await;
    let (id1, key1) = w.add_set(1, &pattern(3000, 1)).await;
    let (id2, key2) = w.add_set(2, &pattern(3000, 2)).await;
    Replicator::new(w.catalog.clone(), w.regions(), config(3))
        .run_once()
        .await
        .unwrap();
    let (regions, store) = with_failing_deletes(&w);
    let retention = Retention::new(w.catalog.clone(), regions);
    let now = started(1) + Days::days(7) + Days::seconds(1);
    let stuck = RetentionSummary {
        deleted: 0,
        failed: 1,
    };

    assert_eq!(retention.sweep(now).await.unwrap(), stuck);
    assert!(w.catalog.copy(id1).await.unwrap().is_none());
    assert_eq!(listed(&w).await, vec![id2]);
    assert_eq!(tombstones(&w).await, vec![id1]);
    assert!(w.dest.head(&key1).await.unwrap().is_some());
    // Still failing: retried from the tombstone, counted once.
    assert_eq!(retention.sweep(now).await.unwrap(), stuck);
    assert_eq!(tombstones(&w).await, vec![id1]);
    assert_eq!(listed(&w).await, vec![id2]);

    store.fail.store(false, Ordering::SeqCst);
    assert_eq!(
        retention.sweep(now).await.unwrap(),
        RetentionSummary {
            deleted: 1,
            failed: 0
        }
    );
    assert!(w.dest.head(&key1).await.unwrap().is_none());
    assert!(tombstones(&w).await.is_empty());
    assert_eq!(listed(&w).await, vec![id2]);
    assert!(w.dest.head(&key2).await.unwrap().is_some());
}
