//! Retention end to end: copies made by the replicator into a local region, then expired by
//! the sweeper at chosen times.

mod common;
mod local;

use chrono::Duration as Days;
use common::*;
use local::*;
use std::sync::Arc;
use xbak_catalog::ExpiringObject;
use xbak_domain::{CopyQuery, PageSize, Policy};
use xbak_replicator::{Retention, RetentionSummary};
use xbak_storage::conformance::pattern;
use xbak_storage::faults::FaultyStore;
use xbak_storage::{RegionStore, Regions};

/// Start of backup set `n` in [`World::add_set`] (2024-03-01 + n hours).
fn started(n: u32) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone as _;
    chrono::Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap() + Days::hours(i64::from(n))
}

/// What a sweep that deleted one expired copy returns.
const ONE_DELETED: RetentionSummary = RetentionSummary {
    deleted: 1,
    failed: 0,
    log_files_deleted: 0,
    log_files_failed: 0,
};

/// The instance's listed copy ids, newest first.
async fn listed(w: &World) -> Vec<i64> {
    let listing = w
        .catalog
        .list_copies(&CopyQuery::first_page(w.instance.id, PageSize::Thirty))
        .await
        .unwrap();
    assert_eq!(listing.total as usize, listing.items.len());
    listing.items.iter().map(|c| c.cross_backup_id).collect()
}

async fn tombstones(w: &World) -> Vec<i64> {
    let left: Vec<ExpiringObject> = w.catalog.expiring_objects(100).await.unwrap();
    left.iter().map(|t| t.copy_id).collect()
}

/// A world with two sets (started at hours 1 and 2) of `size` bytes, both copied: their copy
/// ids and destination keys.
async fn two_copies(size: usize) -> (World, (i64, String), (i64, String)) {
    let w = World::new().await;
    let first = w.add_set(1, &pattern(size, 1)).await;
    let second = w.add_set(2, &pattern(size, 2)).await;
    w.replicator(config(3)).run_once().await.unwrap();
    (w, first, second)
}

/// Regions for a sweeper whose destination store refuses deletes while the returned switch is on.
fn with_failing_deletes(w: &World) -> (Regions, Arc<FaultyStore>) {
    let path = region_dir(w.dir.path(), DEST);
    let url = format!("file://{}", path.display());
    let fs = object_store::local::LocalFileSystem::new_with_prefix(&path)
        .unwrap()
        .with_automatic_cleanup(true);
    let store = FaultyStore::new(Arc::new(fs));
    store.refuse_deletes(true);
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
    let summary = w.replicator(config(3)).run_once().await.unwrap();
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
    assert_eq!(summary, ONE_DELETED);
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
    assert_eq!(listed(&w).await, vec![copies[4].0, copies[3].0]);
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
    let (w, (id1, key1), (id2, key2)) = two_copies(2000).await;
    // The crashed sweep's first step, for copy 1 only.
    w.dest.delete(&key1).await.unwrap();
    assert!(w.catalog.copy(id1).await.unwrap().is_some());

    let now = started(1) + Days::days(7) + Days::seconds(1);
    // A fresh process (regions opened from the catalog, not handed over).
    let retention = Retention::new(w.catalog.clone(), xbak_storage::Regions::new());
    let summary = retention.sweep(now).await.unwrap();
    assert_eq!(summary, ONE_DELETED);
    assert!(w.catalog.copy(id1).await.unwrap().is_none());
    assert!(w.catalog.copy(id2).await.unwrap().is_some());
    assert!(w.dest.head(&key2).await.unwrap().is_some());
}

/// A sweeper that crashed right after `begin_expiry`: the copy is no longer listed though its
/// object is still there, named by the tombstone; the next sweep (a fresh process) deletes the
/// object and then the tombstone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_begin_expiry_is_finished_by_the_next_sweep() {
    let (w, (id1, key1), (id2, key2)) = two_copies(2000).await;
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
    assert_eq!(summary, ONE_DELETED);
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
    let (w, (id1, key1), (id2, key2)) = two_copies(3000).await;
    let (regions, store) = with_failing_deletes(&w);
    let retention = Retention::new(w.catalog.clone(), regions);
    let now = started(1) + Days::days(7) + Days::seconds(1);
    let stuck = RetentionSummary {
        failed: 1,
        ..RetentionSummary::default()
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

    store.refuse_deletes(false);
    assert_eq!(retention.sweep(now).await.unwrap(), ONE_DELETED);
    assert!(w.dest.head(&key1).await.unwrap().is_none());
    assert!(tombstones(&w).await.is_empty());
    assert_eq!(listed(&w).await, vec![id2]);
    assert!(w.dest.head(&key2).await.unwrap().is_some());
}
