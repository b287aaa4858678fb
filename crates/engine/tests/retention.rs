//! Retention end to end: copies made by the replicator into a local region, then expired by
//! the sweeper at chosen times.

mod util;

use chrono::Duration as Days;
use util::*;
use xbak_domain::time::parse_utc;
use xbak_domain::Policy;
use xbak_engine::{Replicator, Retention, RetentionSummary};
use xbak_storage::conformance::pattern;

/// Start of backup set `n` in [`World::add_set`] (2024-03-01 + n hours).
fn started(n: u32) -> chrono::DateTime<chrono::Utc> {
    parse_utc("2024-03-01T00:00:00Z").unwrap() + Days::hours(i64::from(n))
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

/// A sweeper that crashed after deleting an object but before deleting its row: the next sweep
/// finds the row, deletes the (missing) object again and then the row.
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
