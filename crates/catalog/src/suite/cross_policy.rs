//! The policy API's catalog state: log switch, enable times, and the copy queued on enabling.

use xbak_domain::{CopyStatus, CrossBackupPolicy, Policy};

use super::*;
use crate::CatalogError;

fn policy_at(instance: &Instance, enabled: bool, dest: &str, at: Timestamp) -> Policy {
    Policy {
        instance_id: instance.id,
        enabled,
        dest_region_id: dest.into(),
        retention_days: 30,
        updated_at: at,
    }
}

/// Stores `policy` with the log switch `logs`; panics if that fails.
async fn put_cross_policy(cat: &dyn Catalog, policy: &Policy, logs: bool) -> CrossBackupPolicy {
    cat.put_cross_backup_policy(policy, logs)
        .await
        .expect("put cross-backup policy")
}

pub async fn cross_backup_policies_keep_switches_and_enable_times(backend: &dyn Backend) {
    let w = world(backend).await;
    let cat = &*w.cat;
    let inst = w.bare_instance("rm-nopolicy").await;
    assert_eq!(cat.cross_backup_policy(inst.id).await.unwrap(), None);

    let (t1, t2, t3, t4) = (t0(), t0() + secs(60), t0() + secs(120), t0() + secs(180));
    let on = put_cross_policy(cat, &policy_at(&inst, true, SHANGHAI, t1), true).await;
    assert!(on.policy.enabled && on.log_backup_enabled);
    assert_eq!(on.policy.retention_days, 30);
    assert_eq!(
        (on.backup_enabled_at, on.log_backup_enabled_at),
        (Some(t1), Some(t1))
    );
    assert_eq!(
        cat.cross_backup_policy(inst.id).await.unwrap(),
        Some(on.clone())
    );

    // Still on: the times stay.
    let again = put_cross_policy(cat, &policy_at(&inst, true, BEIJING, t2), true).await;
    assert_eq!(again.policy.dest_region_id, BEIJING);
    assert_eq!(
        (again.backup_enabled_at, again.log_backup_enabled_at),
        (Some(t1), Some(t1))
    );

    // Off: the log switch goes off with it; the times of the last enabling are kept.
    let off = put_cross_policy(cat, &policy_at(&inst, false, BEIJING, t3), true).await;
    assert!(!off.policy.enabled && !off.log_backup_enabled);
    assert_eq!(
        (off.backup_enabled_at, off.log_backup_enabled_at),
        (Some(t1), Some(t1))
    );

    // On again without logs: a new data enable time, the log time untouched.
    let back = put_cross_policy(cat, &policy_at(&inst, true, SHANGHAI, t4), false).await;
    assert!(back.policy.enabled && !back.log_backup_enabled);
    assert_eq!(
        (back.backup_enabled_at, back.log_backup_enabled_at),
        (Some(t4), Some(t1))
    );
    // The plain policy view agrees.
    assert_eq!(
        cat.policy(inst.id).await.unwrap(),
        Some(back.policy.clone())
    );

    // A policy set through put_policy alone reports its update time as the enable time.
    let plain = w
        .cat
        .cross_backup_policy(w.instance.id)
        .await
        .unwrap()
        .unwrap();
    assert!(plain.policy.enabled && !plain.log_backup_enabled);
    assert_eq!(plain.backup_enabled_at, Some(plain.policy.updated_at));
    assert_eq!(plain.log_backup_enabled_at, None);

    assert!(matches!(
        cat.put_cross_backup_policy(&policy_at(&inst, true, "xx-nowhere", t4), false)
            .await,
        Err(CatalogError::NotFound(_))
    ));
}

pub async fn enabling_queues_the_newest_recent_set_once(backend: &dyn Backend) {
    let w = world(backend).await;
    let cat = &*w.cat;
    let inst = w.bare_instance("rm-late").await;
    let now = clock();
    let since = now - secs(24 * 3600);
    // Nothing recorded yet: nothing to queue.
    assert_eq!(
        cat.queue_copy_of_latest_set(inst.id, SHANGHAI, since)
            .await
            .unwrap(),
        None
    );
    let mut ids = Vec::new();
    for (n, age_hours) in [(1, 30), (2, 2), (3, 1)] {
        let recorded = cat
            .record_backup_set(&new_set(&inst, now - secs(age_hours * 3600), n))
            .await
            .unwrap();
        assert_eq!(recorded.queued_copy_id, None, "no policy, no copy");
        ids.push(recorded.backup_set.id);
    }
    let queued = cat
        .queue_copy_of_latest_set(inst.id, SHANGHAI, since)
        .await
        .unwrap()
        .expect("the newest recent set is queued");
    let copy = cat.copy(queued).await.unwrap().unwrap();
    assert_eq!(copy.backup_set.id, ids[2]);
    assert_eq!(copy.dest_region_id, SHANGHAI);
    assert_eq!(copy.status, CopyStatus::Pending);
    // Once per destination.
    assert_eq!(
        cat.queue_copy_of_latest_set(inst.id, SHANGHAI, since)
            .await
            .unwrap(),
        None
    );
    let other = cat
        .queue_copy_of_latest_set(inst.id, BEIJING, since)
        .await
        .unwrap()
        .expect("another destination gets its own copy");
    assert!(other > queued);
    // Only sets started since `since` count.
    assert_eq!(
        cat.queue_copy_of_latest_set(inst.id, SHANGHAI, now + secs(60))
            .await
            .unwrap(),
        None
    );
    assert!(matches!(
        cat.queue_copy_of_latest_set(i64::MAX, SHANGHAI, since)
            .await,
        Err(CatalogError::NotFound(_))
    ));
    assert!(matches!(
        cat.queue_copy_of_latest_set(inst.id, "xx-nowhere", since)
            .await,
        Err(CatalogError::NotFound(_))
    ));
    // The other instance (policy on, nothing recorded) is untouched.
    assert_eq!(
        cat.queue_copy_of_latest_set(w.instance.id, SHANGHAI, since)
            .await
            .unwrap(),
        None
    );
}
