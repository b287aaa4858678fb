//! Accounts, AccessKeys, regions, instances, policies and recording backup sets.

use xbak_domain::naming::{copy_key, file_name_of};
use xbak_domain::{Category, CopyStatus, Policy, Region, StorageType};

use super::*;
use crate::CatalogError;

fn assert_alphanumeric(s: &str, len: usize) {
    assert_eq!(s.len(), len, "{s:?} has length {}", s.len());
    assert!(
        s.chars().all(|c| c.is_ascii_alphanumeric()),
        "{s:?} is not alphanumeric"
    );
}

pub async fn accounts_create_lookup_and_conflict(backend: &dyn Backend) {
    let cat = backend.open().await;
    let (acme, key) = cat.create_account("acme").await.unwrap();
    assert_eq!(acme.name, "acme");
    assert_eq!(key.account_id, acme.id);
    assert!(key.enabled);
    assert!(
        key.access_key_id.starts_with("LTAI"),
        "{}",
        key.access_key_id
    );
    assert_alphanumeric(&key.access_key_id[4..], 20);
    assert_alphanumeric(&key.secret, 30);

    assert_eq!(
        cat.account_by_name("acme").await.unwrap(),
        Some(acme.clone())
    );
    assert_eq!(cat.account_by_name("ACME").await.unwrap(), None);
    assert_eq!(cat.account_by_name("nobody").await.unwrap(), None);

    let err = cat.create_account("acme").await.unwrap_err();
    assert!(matches!(err, CatalogError::Conflict(_)), "{err:?}");
    assert!(!err.is_retryable());

    let (beta, beta_key) = cat.create_account("beta").await.unwrap();
    assert_ne!(beta.id, acme.id);
    assert_ne!(beta_key.access_key_id, key.access_key_id);
    assert_ne!(beta_key.secret, key.secret);
    assert_eq!(cat.account_by_name("beta").await.unwrap(), Some(beta));
}

pub async fn access_keys_are_found_by_id(backend: &dyn Backend) {
    let cat = backend.open().await;
    let (acme, acme_key) = cat.create_account("acme").await.unwrap();
    let (beta, beta_key) = cat.create_account("beta").await.unwrap();
    let found = cat
        .access_key(&acme_key.access_key_id)
        .await
        .unwrap()
        .expect("acme's key");
    assert_eq!(found, acme_key);
    assert_eq!(found.account_id, acme.id);
    let found = cat
        .access_key(&beta_key.access_key_id)
        .await
        .unwrap()
        .expect("beta's key");
    assert_eq!(found.secret, beta_key.secret);
    assert_eq!(found.account_id, beta.id);
    assert_eq!(
        cat.access_key("LTAI00000000000000000000").await.unwrap(),
        None
    );
    assert_eq!(
        cat.access_key(&acme_key.access_key_id.to_lowercase())
            .await
            .unwrap(),
        None
    );
}

pub async fn regions_put_update_and_list(backend: &dyn Backend) {
    let cat = backend.open().await;
    assert!(cat.regions().await.unwrap().is_empty());
    let sh = Region {
        region_id: SHANGHAI.into(),
        store_url: "file:///a".into(),
    };
    let hz = Region {
        region_id: HANGZHOU.into(),
        store_url: "s3://bucket/hz?endpoint=http://127.0.0.1:9000".into(),
    };
    cat.put_region(&sh).await.unwrap();
    cat.put_region(&hz).await.unwrap();
    assert_eq!(cat.region(SHANGHAI).await.unwrap(), Some(sh.clone()));
    assert_eq!(cat.region("us-west-1").await.unwrap(), None);

    let moved = Region {
        region_id: SHANGHAI.into(),
        store_url: "file:///b".into(),
    };
    cat.put_region(&moved).await.unwrap();
    assert_eq!(cat.region(SHANGHAI).await.unwrap(), Some(moved.clone()));
    assert_eq!(
        cat.regions().await.unwrap(),
        vec![hz, moved],
        "sorted by id, updated in place"
    );
}

pub async fn instances_create_lookup_and_refusals(backend: &dyn Backend) {
    let w = world(backend).await;
    let before = clock();
    let new = NewInstance {
        db_instance_id: "rm-finance".into(),
        region_id: BEIJING.into(),
        account_id: w.account.id,
        engine: "MariaDB".into(),
        engine_version: "10.6".into(),
        category: Category::Finance,
        storage_type: StorageType::CloudEssd,
        instance_number: 42,
    };
    let created = w.cat.create_instance(&new).await.unwrap();
    assert_ne!(created.id, w.instance.id);
    assert_eq!(
        (
            &created.db_instance_id,
            &created.region_id,
            created.account_id,
            &created.engine,
            &created.engine_version
        ),
        (
            &new.db_instance_id,
            &new.region_id,
            new.account_id,
            &new.engine,
            &new.engine_version
        )
    );
    assert_eq!(
        (
            created.category,
            created.storage_type,
            created.instance_number
        ),
        (Category::Finance, StorageType::CloudEssd, 42)
    );
    assert!(
        created.created_at >= before - secs(1) && created.created_at <= clock() + secs(1),
        "{}",
        created.created_at
    );
    assert_eq!(
        w.cat
            .instance_by_db_instance_id("rm-finance")
            .await
            .unwrap(),
        Some(created.clone())
    );
    assert_eq!(
        w.cat.instance_by_db_instance_id("rm-a").await.unwrap(),
        Some(w.instance.clone())
    );
    assert_eq!(
        w.cat.instance_by_db_instance_id("rm-none").await.unwrap(),
        None
    );

    let err = w.cat.create_instance(&new).await.unwrap_err();
    assert!(matches!(err, CatalogError::Conflict(_)), "{err:?}");
    let err = w
        .cat
        .create_instance(&NewInstance {
            region_id: "mars-1".into(),
            ..new_instance(w.account.id, "rm-b")
        })
        .await;
    assert!(matches!(err, Err(CatalogError::NotFound(_))), "{err:?}");
    let err = w
        .cat
        .create_instance(&new_instance(w.account.id + 1000, "rm-c"))
        .await;
    assert!(matches!(err, Err(CatalogError::NotFound(_))), "{err:?}");
    assert_eq!(
        w.cat.instance_by_db_instance_id("rm-b").await.unwrap(),
        None,
        "refused instances leave nothing"
    );
    assert_eq!(
        w.cat.instance_by_db_instance_id("rm-c").await.unwrap(),
        None
    );
}

pub async fn policies_put_update_and_refusals(backend: &dyn Backend) {
    let w = world(backend).await;
    let other = w.bare_instance("rm-b").await;
    assert_eq!(w.cat.policy(other.id).await.unwrap(), None);

    let first = Policy {
        instance_id: other.id,
        enabled: true,
        dest_region_id: SHANGHAI.into(),
        retention_days: 30,
        updated_at: t0(),
    };
    assert_eq!(w.cat.put_policy(&first).await.unwrap(), first);
    assert_eq!(w.cat.policy(other.id).await.unwrap(), Some(first.clone()));

    let second = Policy {
        enabled: false,
        dest_region_id: BEIJING.into(),
        retention_days: 1825,
        updated_at: t0() + secs(60),
        ..first.clone()
    };
    assert_eq!(w.cat.put_policy(&second).await.unwrap(), second);
    assert_eq!(w.cat.policy(other.id).await.unwrap(), Some(second.clone()));

    let err = w
        .cat
        .put_policy(&Policy {
            dest_region_id: "mars-1".into(),
            ..first.clone()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, CatalogError::NotFound(_)), "{err:?}");
    assert_eq!(
        w.cat.policy(other.id).await.unwrap(),
        Some(second),
        "a refused policy changes nothing"
    );
    let err = w
        .cat
        .put_policy(&Policy {
            instance_id: other.id + 1000,
            ..first
        })
        .await
        .unwrap_err();
    assert!(matches!(err, CatalogError::NotFound(_)), "{err:?}");
    // The world's own policy is untouched by all this.
    let own = w.cat.policy(w.instance.id).await.unwrap();
    assert_eq!(own.map(|p| p.dest_region_id), Some(SHANGHAI.to_string()));
}

pub async fn record_backup_set_queues_only_under_an_enabled_policy(backend: &dyn Backend) {
    let w = world(backend).await;
    let cat = &*w.cat;
    let bare = w.bare_instance("rm-nopolicy").await;

    let new = new_set(&bare, t0(), 1);
    let recorded = cat.record_backup_set(&new).await.unwrap();
    assert_eq!(recorded.queued_copy_id, None, "no policy, no copy");
    let set = &recorded.backup_set;
    assert_eq!(set.source_region_id, HANGZHOU);
    assert_eq!(
        (set.instance_id, set.method, set.backup_type, set.scale),
        (new.instance_id, new.method, new.backup_type, new.scale)
    );
    assert_eq!(
        (set.started_at, set.finished_at, set.consistent_at),
        (new.started_at, new.finished_at, new.consistent_at)
    );
    assert_eq!(
        (
            set.instance_number,
            &set.object_key,
            set.size_bytes,
            &set.sha256
        ),
        (
            new.instance_number,
            &new.object_key,
            new.size_bytes,
            &new.sha256
        )
    );
    assert_eq!(cat.backup_set(set.id).await.unwrap().as_ref(), Some(set));
    assert_eq!(cat.backup_set(set.id + 1000).await.unwrap(), None);

    set_policy(cat, &bare, false, SHANGHAI).await;
    assert_eq!(
        cat.record_backup_set(&new_set(&bare, t0(), 2))
            .await
            .unwrap()
            .queued_copy_id,
        None,
        "disabled policy"
    );
    assert_eq!(cat.copy_counts().await.unwrap(), Default::default());

    let new = new_set(&w.instance, t0(), 3);
    let recorded = cat.record_backup_set(&new).await.unwrap();
    let copy_id = recorded
        .queued_copy_id
        .expect("enabled policy queues a copy");
    let copy = cat.copy(copy_id).await.unwrap().expect("the queued copy");
    assert_eq!(copy.cross_backup_id, copy_id);
    assert_eq!(copy.status, CopyStatus::Pending);
    assert_eq!(copy.dest_region_id, SHANGHAI);
    assert_eq!(
        copy.object_key,
        copy_key("rm-a", file_name_of(&new.object_key))
    );
    assert_eq!(copy.completed_at, None);
    assert_eq!(copy.backup_set, recorded.backup_set);
    assert_eq!(*copy.instance, w.instance);
    assert_eq!(cat.copy_counts().await.unwrap().pending, 1);
    assert_eq!(
        cat.list_copies(&query(w.instance.id)).await.unwrap().total,
        0,
        "pending copies are not listed"
    );
    assert_eq!(cat.copy(copy_id + 1000).await.unwrap(), None);
}

pub async fn a_backup_set_is_recorded_and_queued_once(backend: &dyn Backend) {
    let w = world(backend).await;
    let cat = &*w.cat;
    let new = new_set(&w.instance, t0(), 1);
    let first = cat.record_backup_set(&new).await.unwrap();
    let err = cat.record_backup_set(&new).await.unwrap_err();
    assert!(matches!(err, CatalogError::Conflict(_)), "{err:?}");
    // Same key, different details: still the same object.
    let err = cat
        .record_backup_set(&NewBackupSet {
            size_bytes: 1,
            ..new.clone()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, CatalogError::Conflict(_)), "{err:?}");

    assert_eq!(cat.copy_counts().await.unwrap().pending, 1);
    let jobs = claim_all(cat, due()).await;
    assert_eq!(
        jobs.iter().map(|j| j.copy_id).collect::<Vec<_>>(),
        vec![first.queued_copy_id.unwrap()]
    );

    let err = cat
        .record_backup_set(&NewBackupSet {
            instance_id: w.instance.id + 1000,
            ..new_set(&w.instance, t0(), 2)
        })
        .await;
    assert!(matches!(err, Err(CatalogError::NotFound(_))), "{err:?}");
}

pub async fn newest_backup_set_is_the_latest_started(backend: &dyn Backend) {
    let w = world(backend).await;
    let cat = &*w.cat;
    let other = w.bare_instance("rm-newest").await;
    assert_eq!(cat.newest_backup_set(w.instance.id).await.unwrap(), None);
    // Recorded out of order: the latest start wins, not the latest recorded.
    let mut recorded = Vec::new();
    for (n, hours) in [(1, 5), (2, 9), (3, 2)] {
        let r = cat
            .record_backup_set(&new_set(&w.instance, t0() + secs(hours * 3600), n))
            .await
            .unwrap();
        recorded.push(r.backup_set);
    }
    // Another instance's later set is not this instance's.
    cat.record_backup_set(&new_set(&other, t0() + secs(20 * 3600), 4))
        .await
        .unwrap();
    let newest = cat.newest_backup_set(w.instance.id).await.unwrap();
    assert_eq!(newest.as_ref(), Some(&recorded[1]));
    // Same start: the higher id.
    let tie = cat
        .record_backup_set(&new_set(&w.instance, t0() + secs(9 * 3600), 5))
        .await
        .unwrap()
        .backup_set;
    assert!(tie.id > recorded[1].id);
    assert_eq!(
        cat.newest_backup_set(w.instance.id).await.unwrap(),
        Some(tie)
    );
    assert_eq!(
        cat.newest_backup_set(other.id)
            .await
            .unwrap()
            .map(|s| s.started_at),
        Some(t0() + secs(20 * 3600))
    );
    assert_eq!(cat.newest_backup_set(i64::MAX).await.unwrap(), None);
}
