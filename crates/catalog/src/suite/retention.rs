//! Retention (`expired_copies`, `delete_copy`) and freshness (`copy_freshness`).

use super::*;
use crate::{CopyFreshness, ExpiredCopy};
use xbak_domain::CopyStatus;

fn days(n: i64) -> chrono::Duration {
    chrono::Duration::days(n)
}

fn expired_ids(expired: &[ExpiredCopy]) -> Vec<i64> {
    expired.iter().map(|e| e.copy_id).collect()
}

/// Exactly the listed copies older than their policy's retention (7 days in the suite) expire,
/// oldest first, whether the policy is enabled or not; pending copies never do; deleting a row
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

    for id in &want {
        assert!(cat.delete_copy(*id).await.unwrap());
        assert!(!cat.delete_copy(*id).await.unwrap(), "deleting twice");
        assert!(cat.copy(*id).await.unwrap().is_none());
    }
    assert!(
        !cat.delete_copy(a_pending).await.unwrap(),
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
