//! The listing of instances whose cross-region backup is on (`DescribeCrossRegionBackupDBInstance`).

use super::*;

fn ids(page: &crate::CrossBackupInstances) -> Vec<&str> {
    page.items
        .iter()
        .map(|(i, _)| i.db_instance_id.as_str())
        .collect()
}

pub async fn cross_backup_instances_are_the_accounts_enabled_ones_in_the_region(
    backend: &dyn Backend,
) {
    let w = world(backend).await;
    let cat = &*w.cat;
    let (other, _) = cat.create_account("other").await.unwrap();
    for id in ["rm-c", "rm-b"] {
        instance_with_policy(cat, w.account.id, id).await;
    }
    instance_with_policy(cat, other.id, "rm-others").await;
    // No policy, and a policy turned off: not listed.
    cat.create_instance(&new_instance(w.account.id, "rm-none"))
        .await
        .unwrap();
    let off = instance_with_policy(cat, w.account.id, "rm-off").await;
    let mut policy = cat.policy(off.id).await.unwrap().unwrap();
    policy.enabled = false;
    cat.put_policy(&policy).await.unwrap();
    // Another region.
    let mut elsewhere = new_instance(w.account.id, "rm-bj");
    elsewhere.region_id = BEIJING.into();
    let elsewhere = cat.create_instance(&elsewhere).await.unwrap();
    cat.put_policy(&Policy {
        instance_id: elsewhere.id,
        enabled: true,
        dest_region_id: SHANGHAI.into(),
        retention_days: 7,
        updated_at: t0(),
    })
    .await
    .unwrap();

    let page = |account: i64, region: &'static str, named: Vec<String>, size: u32, number: u32| async move {
        cat.cross_backup_instances(account, region, &named, size, number)
            .await
            .unwrap()
    };
    let all = page(w.account.id, HANGZHOU, vec![], 30, 1).await;
    assert_eq!(all.total, 3);
    assert_eq!(ids(&all), ["rm-a", "rm-b", "rm-c"]);
    let (inst, policy) = &all.items[1];
    assert_eq!(policy.policy.instance_id, inst.id);
    assert!(policy.policy.enabled && policy.backup_enabled_at.is_some());
    assert_eq!(policy.policy.dest_region_id, SHANGHAI);

    let page2 = page(w.account.id, HANGZHOU, vec![], 2, 2).await;
    assert_eq!((page2.total, ids(&page2)), (3, vec!["rm-c"]));
    let past = page(w.account.id, HANGZHOU, vec![], 2, 3).await;
    assert_eq!((past.total, past.items.len()), (3, 0));

    let named = ["rm-c", "rm-others", "rm-off", "rm-bj", "rm-nope"].map(String::from);
    let some = page(w.account.id, HANGZHOU, named.to_vec(), 30, 1).await;
    assert_eq!((some.total, ids(&some)), (1, vec!["rm-c"]));
    let bj = page(w.account.id, BEIJING, vec![], 30, 1).await;
    assert_eq!(ids(&bj), ["rm-bj"]);
    let theirs = page(other.id, HANGZHOU, vec![], 30, 1).await;
    assert_eq!(ids(&theirs), ["rm-others"]);
    let nobody = page(other.id + 100, HANGZHOU, vec![], 30, 1).await;
    assert_eq!(nobody, crate::CrossBackupInstances::default());
}
