//! Retention (`expired_copies`, `begin_expiry`, `expiring_objects`, `finish_expiry`) and
//! freshness (`copy_freshness`).

use super::*;
use crate::{CopyFreshness, ExpiredCopy, ExpiringObject};
use xbak_domain::CopyStatus;

fn days(n: i64) -> chrono::Duration {
    chrono::Duration::days(n)
}

fn expired_ids(expired: &[ExpiredCopy]) -> Vec<i64> {
    expired.iter().map(|e| e.copy_id).collect()
}

/// Exactly the listed copies older than their policy's retention (7 days in the suite) expire,
/// oldest first, whether the policy is enabled or not; pending copies never do; expiring a copy
/// takes it out of listings and is idempotent.
pub async fn expired_copies_follow_the_policy_retention(backend: &dyn Backend) {
    let w = world(backend).await;
    let cat = &*w.cat;
    let other = instance_with_policy(cat, w.account.id, "rm-b").await;
    // rm-a: sets on days 0..5; rm-b: sets on days 0 and 1, then its policy is turned off.
    let mut a = Vec::new();
    for n in 0..5u32 {
        a.push(record(cat, &w.instance, t0() + days(i64::from(n)), n).await);
    }
    let b0 = record(cat, &other, t0(), 100).await;
    let b1 = record(cat, &other, t0() + days(1), 101).await;
    // a[1] fails for good; a later-recorded copy of a set from just before day 1 stays pending.
    let failed = a[1];
    settle_all(cat, |id| id == failed).await;
    let a_pending = record(cat, &w.instance, t0() + days(1) - secs(1), 5).await;
    set_policy(cat, &other, false, SHANGHAI).await;

    // Nothing is older than 7 days at day 7 exactly (strictly older expires).
    assert!(cat
        .expired_copies(t0() + days(7), 100)
        .await
        .unwrap()
        .is_empty());
    // At day 8 + 1s: every listed copy of a set started before day 1 + 1s.
    let expired = cat
        .expired_copies(t0() + days(8) + secs(1), 100)
        .await
        .unwrap();
    let mut want = vec![a[0], b0, a[1], b1];
    want[..2].sort();
    want[2..].sort();
    assert_eq!(expired_ids(&expired), want);
    let e = expired.iter().find(|e| e.copy_id == failed).unwrap();
    assert_eq!(e.status, CopyStatus::Failed);
    assert_eq!(e.instance_id, w.instance.id);
    assert_eq!(e.dest_region_id, SHANGHAI);
    assert_eq!(e.backup_started_at, t0() + days(1));
    let e = expired.iter().find(|e| e.copy_id == a[0]).unwrap();
    assert_eq!(e.status, CopyStatus::Completed);
    let listed = cat.copy(a[0]).await.unwrap().unwrap();
    assert_eq!(e.object_key, listed.object_key);
    // The limit keeps the oldest.
    let first = cat
        .expired_copies(t0() + days(8) + secs(1), 2)
        .await
        .unwrap();
    assert_eq!(expired_ids(&first), want[..2].to_vec());

    let now = t0() + days(8) + secs(1);
    for id in &want {
        assert!(cat.begin_expiry(*id, now).await.unwrap().is_some());
        assert!(
            cat.begin_expiry(*id, now).await.unwrap().is_none(),
            "expiring twice"
        );
        assert!(cat.copy(*id).await.unwrap().is_none());
        assert!(cat.finish_expiry(*id).await.unwrap());
    }
    assert!(
        cat.begin_expiry(a_pending, now).await.unwrap().is_none(),
        "pending copies are kept"
    );
    assert!(cat.copy(a_pending).await.unwrap().is_some());
    assert!(cat
        .expired_copies(t0() + days(8) + secs(1), 100)
        .await
        .unwrap()
        .is_empty());
    let listing = cat.list_copies(&query(w.instance.id)).await.unwrap();
    assert_eq!(ids(&listing), vec![a[4], a[3], a[2]]);
    assert_eq!(listing.total, 3);
    let listing = cat.list_copies(&query(other.id)).await.unwrap();
    assert_eq!((listing.total, listing.items.len()), (0, 0));
}

/// Beginning a copy's expiry takes it out of listings (items and totals, filtered or not), out
/// of `copy()`, `expired_copies` and the counts at once, and leaves a tombstone naming its object,
/// oldest first, until `finish_expiry`; a second begin finds nothing, pending copies are refused,
/// tombstones survive reopening, and beginning moves the change token.
pub async fn begun_expiry_hides_the_copy_until_finished(backend: &dyn Backend) {
    let w = world(backend).await;
    let cat = &*w.cat;
    let mut c = Vec::new();
    for n in 0..4u32 {
        c.push(record(cat, &w.instance, t0() + days(i64::from(n)), n).await);
    }
    let failed = c[1];
    settle_all(cat, |id| id == failed).await;
    let pending = record(cat, &w.instance, t0() + days(4), 4).await;
    let before = cat.copy_counts().await.unwrap();
    assert_eq!((before.completed, before.failed, before.pending), (3, 1, 1));
    let key = |id: i64| async move { cat.copy(id).await.unwrap().unwrap().object_key };
    let tombstone = |copy_id: i64, object_key: String| ExpiringObject {
        copy_id,
        instance_id: w.instance.id,
        dest_region_id: SHANGHAI.into(),
        object_key,
    };
    let (key0, key1, key2) = (key(c[0]).await, key(c[1]).await, key(c[2]).await);
    let by_id = |id: i64| CopyQuery {
        cross_backup_id: Some(id),
        ..query(w.instance.id)
    };
    let in_shanghai = CopyQuery {
        dest_region_id: Some(SHANGHAI.into()),
        ..query(w.instance.id)
    };
    let now = t0() + days(30);

    let token = cat.change_token().await.unwrap();
    let begun = cat.begin_expiry(c[0], now).await.unwrap();
    assert_eq!(begun, Some(tombstone(c[0], key0.clone())));
    assert_ne!(
        cat.change_token().await.unwrap(),
        token,
        "begin_expiry is a counted write"
    );
    assert!(cat.copy(c[0]).await.unwrap().is_none());
    let listing = cat.list_copies(&query(w.instance.id)).await.unwrap();
    assert_eq!(ids(&listing), vec![c[3], c[2], c[1]]);
    assert_eq!(listing.total, 3);
    let listing = cat.list_copies(&in_shanghai).await.unwrap();
    assert_eq!((ids(&listing), listing.total), (vec![c[3], c[2], c[1]], 3));
    let listing = cat.list_copies(&by_id(c[0])).await.unwrap();
    assert_eq!((listing.items.len(), listing.total), (0, 0));
    assert!(!expired_ids(&cat.expired_copies(now, 100).await.unwrap()).contains(&c[0]));
    let counts = cat.copy_counts().await.unwrap();
    assert_eq!((counts.completed, counts.failed, counts.pending), (2, 1, 1));
    assert_eq!(
        cat.expiring_objects(100).await.unwrap(),
        vec![tombstone(c[0], key0.clone())]
    );

    // Idempotent; pending copies are refused and stay as they were.
    assert_eq!(cat.begin_expiry(c[0], now).await.unwrap(), None);
    assert_eq!(cat.begin_expiry(pending, now).await.unwrap(), None);
    assert!(cat.copy(pending).await.unwrap().is_some());
    assert_eq!(cat.begin_expiry(i64::MAX, now).await.unwrap(), None);

    // A failed copy expires too. Oldest first means earliest expiry, then id.
    let failed_tomb = cat.begin_expiry(failed, now + secs(60)).await.unwrap();
    assert_eq!(failed_tomb, Some(tombstone(failed, key1.clone())));
    assert!(cat
        .begin_expiry(c[2], now - secs(60))
        .await
        .unwrap()
        .is_some());
    let left = cat.expiring_objects(100).await.unwrap();
    assert_eq!(
        left,
        vec![
            tombstone(c[2], key2.clone()),
            tombstone(c[0], key0.clone()),
            tombstone(failed, key1.clone()),
        ]
    );
    assert_eq!(cat.expiring_objects(2).await.unwrap(), left[..2].to_vec());
    let listing = cat.list_copies(&query(w.instance.id)).await.unwrap();
    assert_eq!((ids(&listing), listing.total), (vec![c[3]], 1));

    // Another handle (another process, or after a restart) sees the same.
    let reopened = backend.open().await;
    assert_eq!(reopened.expiring_objects(100).await.unwrap(), left);
    assert!(reopened.copy(c[0]).await.unwrap().is_none());
    let listing = reopened.list_copies(&query(w.instance.id)).await.unwrap();
    assert_eq!((ids(&listing), listing.total), (vec![c[3]], 1));

    // Finishing removes the tombstone, once.
    assert!(reopened.finish_expiry(c[0]).await.unwrap());
    assert!(
        !reopened.finish_expiry(c[0]).await.unwrap(),
        "finishing twice"
    );
    assert_eq!(
        cat.expiring_objects(100).await.unwrap(),
        vec![tombstone(c[2], key2), tombstone(failed, key1)]
    );
    assert!(cat.finish_expiry(c[2]).await.unwrap());
    assert!(cat.finish_expiry(failed).await.unwrap());
    assert!(cat.expiring_objects(100).await.unwrap().is_empty());
    assert!(
        cat.copy(c[0]).await.unwrap().is_none(),
        "a finished copy stays gone"
    );
    let listing = cat.list_copies(&query(w.instance.id)).await.unwrap();
    assert_eq!((ids(&listing), listing.total), (vec![c[3]], 1));
    assert!(cat.copy(pending).await.unwrap().is_some());
}

/// The recovery point is the newest copied set; the lag starts at the oldest newer set whose
/// copy is pending or failed.
pub async fn copy_freshness_tracks_recovery_point_and_lag(backend: &dyn Backend) {
    let w = world(backend).await;
    let cat = &*w.cat;
    let fresh = |instance: &Instance, rp, oldest| CopyFreshness {
        instance_id: instance.id,
        db_instance_id: instance.db_instance_id.clone(),
        recovery_point: rp,
        oldest_uncopied: oldest,
    };
    assert_eq!(
        cat.copy_freshness().await.unwrap(),
        vec![fresh(&w.instance, None, None)]
    );
    let c0 = record(cat, &w.instance, t0(), 0).await;
    let c1 = record(cat, &w.instance, t0() + secs(10), 1).await;
    assert_eq!(
        cat.copy_freshness().await.unwrap(),
        vec![fresh(&w.instance, None, Some(t0()))]
    );
    // c0 fails for good, c1 completes: c0 is older than the recovery point and no longer counts.
    settle_all(cat, |id| id == c0).await;
    assert_eq!(
        cat.copy_freshness().await.unwrap(),
        vec![fresh(&w.instance, Some(t0() + secs(10)), None)]
    );
    // Two newer sets: the older one fails for good, the newer one waits.
    let c2 = record(cat, &w.instance, t0() + secs(20), 2).await;
    settle_all(cat, |id| id == c2).await;
    record(cat, &w.instance, t0() + secs(30), 3).await;
    let other = instance_with_policy(cat, w.account.id, "rm-0").await;
    assert_eq!(
        cat.copy_freshness().await.unwrap(),
        vec![
            fresh(&other, None, None),
            fresh(&w.instance, Some(t0() + secs(10)), Some(t0() + secs(20))),
        ]
    );
    assert!(cat.copy(c1).await.unwrap().is_some());
}
