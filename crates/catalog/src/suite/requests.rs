//! The policy service's transaction and the requested-backup queue it feeds.

use xbak_domain::{CopyStatus, PolicyChange, PolicyRefusal, RequestState};

use super::*;
use crate::{CatalogError, PolicyChangeError, PolicyChanged};

fn enable(dest: &str) -> PolicyChange {
    PolicyChange {
        enabled: Some(true),
        dest_region_id: Some(dest.into()),
        ..PolicyChange::default()
    }
}

/// Applies `change` at `now`; panics if it is refused or fails.
async fn change_policy(
    cat: &dyn Catalog,
    instance_id: i64,
    change: &PolicyChange,
    now: Timestamp,
) -> PolicyChanged {
    cat.change_cross_backup_policy(instance_id, change, now)
        .await
        .expect("policy change")
}

fn off() -> PolicyChange {
    PolicyChange {
        enabled: Some(false),
        ..PolicyChange::default()
    }
}

pub async fn policy_changes_merge_with_the_stored_policy(backend: &dyn Backend) {
    let w = world(backend).await;
    let cat = &*w.cat;
    let inst = w.bare_instance("rm-merge").await;
    let now = clock();

    // Refused changes store nothing.
    let refused = [
        (enable(HANGZHOU), PolicyRefusal::SameRegion(HANGZHOU.into())),
        (
            enable("xx-nowhere"),
            PolicyRefusal::UnknownRegion("xx-nowhere".into()),
        ),
        (
            PolicyChange {
                enabled: Some(true),
                ..PolicyChange::default()
            },
            PolicyRefusal::MissingDestination,
        ),
        (
            PolicyChange {
                retention_days: Some(1826),
                ..enable(SHANGHAI)
            },
            PolicyRefusal::RetentionOutOfRange(1826),
        ),
        (
            PolicyChange {
                log_backup_enabled: Some(true),
                ..off()
            },
            PolicyRefusal::LogBackupWhileOff,
        ),
    ];
    for (change, refusal) in refused {
        match cat.change_cross_backup_policy(inst.id, &change, now).await {
            Err(PolicyChangeError::Refused(r)) => assert_eq!(r, refusal, "{change:?}"),
            other => panic!("{change:?}: {other:?}"),
        }
    }
    assert_eq!(cat.cross_backup_policy(inst.id).await.unwrap(), None);
    // Turning off a policy that never existed stores nothing either.
    let nothing = change_policy(cat, inst.id, &off(), now).await;
    assert_eq!(nothing, PolicyChanged::default());

    // Defaults apply to a new policy only.
    let first = change_policy(
        cat,
        inst.id,
        &PolicyChange {
            log_backup_enabled: Some(true),
            ..enable(SHANGHAI)
        },
        now,
    )
    .await
    .stored
    .unwrap();
    assert_eq!(first.policy.retention_days, 7);
    assert!(first.policy.enabled && first.log_backup_enabled);
    let kept = change_policy(
        cat,
        inst.id,
        &PolicyChange {
            retention_days: Some(90),
            ..PolicyChange::default()
        },
        now + secs(1),
    )
    .await
    .stored
    .unwrap();
    assert_eq!(
        (
            kept.policy.enabled,
            kept.policy.dest_region_id.as_str(),
            kept.policy.retention_days,
            kept.log_backup_enabled
        ),
        (true, SHANGHAI, 90, true),
        "values not given keep the stored ones"
    );
    let moved = change_policy(cat, inst.id, &enable(BEIJING), now + secs(2))
        .await
        .stored
        .unwrap();
    assert_eq!(moved.policy.retention_days, 90);
    assert!(moved.log_backup_enabled);
    assert_eq!(cat.cross_backup_policy(inst.id).await.unwrap(), Some(moved));

    assert!(matches!(
        cat.change_cross_backup_policy(i64::MAX, &enable(SHANGHAI), now)
            .await,
        Err(PolicyChangeError::Catalog(CatalogError::NotFound(_)))
    ));
}

pub async fn enabling_queues_the_recent_set_or_requests_a_backup(backend: &dyn Backend) {
    let w = world(backend).await;
    let cat = &*w.cat;
    let now = clock();

    // A recent set: its copy is queued with the policy, no backup is requested.
    let recent = w.bare_instance("rm-recent").await;
    let set = cat
        .record_backup_set(&new_set(&recent, now - secs(3600), 1))
        .await
        .unwrap();
    let changed = change_policy(cat, recent.id, &enable(SHANGHAI), now).await;
    let copy_id = changed.queued_copy_id.expect("the recent set's copy");
    assert_eq!(changed.requested_backup_id, None);
    let copy = cat.copy(copy_id).await.unwrap().unwrap();
    assert_eq!(
        (copy.backup_set.id, copy.status),
        (set.backup_set.id, CopyStatus::Pending)
    );
    assert_eq!(cat.open_requested_backups(recent.id).await.unwrap(), vec![]);

    // Only an old set: a backup is requested, in the same step, once while it is open.
    let stale = w.bare_instance("rm-stale").await;
    cat.record_backup_set(&new_set(&stale, now - secs(25 * 3600), 2))
        .await
        .unwrap();
    let changed = change_policy(cat, stale.id, &enable(SHANGHAI), now).await;
    assert_eq!(changed.queued_copy_id, None);
    let id = changed.requested_backup_id.expect("a backup is requested");
    let request = cat.requested_backup(id).await.unwrap().unwrap();
    assert_eq!(
        (
            request.instance_id,
            request.trigger.as_str(),
            request.state,
            request.attempts,
            request.created_at
        ),
        (stale.id, "policy", RequestState::Waiting, 0, now)
    );
    assert_eq!(
        (
            request.lease_token,
            request.backup_run_id,
            request.last_error
        ),
        (None, None, None)
    );
    // Staying on requests nothing; off and on again while it is open reuses it.
    let stay = change_policy(cat, stale.id, &enable(SHANGHAI), now).await;
    assert_eq!(stay.requested_backup_id, None);
    change_policy(cat, stale.id, &off(), now).await;
    let again = change_policy(cat, stale.id, &enable(SHANGHAI), now).await;
    assert_eq!(again.requested_backup_id, Some(id));
    let open = cat.open_requested_backups(stale.id).await.unwrap();
    assert_eq!(open.iter().map(|r| r.id).collect::<Vec<_>>(), vec![id]);
    // A policy created off requests nothing.
    let created_off = w.bare_instance("rm-off").await;
    let changed = change_policy(
        cat,
        created_off.id,
        &PolicyChange {
            dest_region_id: Some(SHANGHAI.into()),
            ..off()
        },
        now,
    )
    .await;
    assert!(changed.stored.is_some_and(|s| !s.policy.enabled));
    assert_eq!(changed.requested_backup_id, None);
    assert_eq!(
        cat.open_requested_backups(created_off.id).await.unwrap(),
        vec![]
    );
}

/// An instance with a waiting request; returns its id.
pub(super) async fn requested(
    cat: &dyn Catalog,
    account_id: i64,
    name: &str,
    now: Timestamp,
) -> i64 {
    let inst = cat
        .create_instance(&new_instance(account_id, name))
        .await
        .unwrap();
    change_policy(cat, inst.id, &enable(SHANGHAI), now)
        .await
        .requested_backup_id
        .expect("a backup is requested")
}

pub async fn requested_backups_are_claimed_with_leases(backend: &dyn Backend) {
    let w = world(backend).await;
    let cat = &*w.cat;
    let now = clock();
    assert_eq!(cat.claim_requested_backup(now, LEASE).await.unwrap(), None);
    let first = requested(cat, w.account.id, "rm-req1", now).await;
    let second = requested(cat, w.account.id, "rm-req2", now).await;

    // Oldest first, each to one claimer.
    let a = claim_request(cat, now, "claimed").await;
    let b = claim_request(cat, now, "claimed").await;
    assert_eq!((a.id, b.id), (first, second));
    assert_eq!(cat.claim_requested_backup(now, LEASE).await.unwrap(), None);
    assert_eq!(
        (a.state, a.attempts, a.claimed_at, a.lease_until),
        (RequestState::Claimed, 1, Some(now), Some(now + secs(600)))
    );
    let token_a = a.lease_token.clone().unwrap();
    assert_ne!(Some(&token_a), b.lease_token.as_ref());
    // Claimed requests are still open (`backup runs` shows them).
    let inst = cat
        .instance_by_db_instance_id("rm-req1")
        .await
        .unwrap()
        .unwrap();
    let open = cat.open_requested_backups(inst.id).await.unwrap();
    assert_eq!(open, vec![a.clone()]);

    // A renewed lease holds past the first one's end; an expired one is claimed again.
    cat.renew_requested_backup(first, &token_a, now + secs(1200))
        .await
        .unwrap();
    let later = now + secs(601);
    let taken_over = claim_request(cat, later, "claimed").await;
    assert_eq!(taken_over.id, second, "the worker of the second died");
    assert_eq!(taken_over.attempts, 2);
    assert_ne!(taken_over.lease_token, b.lease_token);
    assert_eq!(
        cat.claim_requested_backup(later, LEASE).await.unwrap(),
        None
    );

    // The dead worker's token is refused; the new holder's is not.
    let old = b.lease_token.as_deref().unwrap();
    assert!(matches!(
        cat.complete_requested_backup(second, old, None, later)
            .await,
        Err(CatalogError::LeaseLost(_))
    ));
    assert!(matches!(
        cat.renew_requested_backup(second, old, later).await,
        Err(CatalogError::LeaseLost(_))
    ));
    assert!(matches!(
        cat.complete_requested_backup(i64::MAX, old, None, later)
            .await,
        Err(CatalogError::NotFound(_))
    ));

    // Completion records the run and ends the request; it is neither open nor claimable again.
    let inst2 = cat
        .instance_by_db_instance_id("rm-req2")
        .await
        .unwrap()
        .unwrap();
    let run = cat
        .start_backup_run(&xbak_domain::NewBackupRun {
            instance_id: inst2.id,
            method: BackupMethod::Physical,
            backup_type: BackupType::Full,
            scale: xbak_domain::BackupSetScale::Instance,
            database: None,
            instance_number: inst2.instance_number,
            started_at: later,
            trigger: "policy".into(),
        })
        .await
        .unwrap();
    let token = taken_over.lease_token.as_deref().unwrap();
    cat.complete_requested_backup(second, token, Some(run.id), later)
        .await
        .unwrap();
    let done = cat.requested_backup(second).await.unwrap().unwrap();
    assert_eq!(
        (
            done.state,
            done.backup_run_id,
            done.lease_token,
            done.lease_until
        ),
        (RequestState::Done, Some(run.id), None, None)
    );
    assert_eq!(cat.open_requested_backups(inst2.id).await.unwrap(), vec![]);
    assert!(matches!(
        cat.complete_requested_backup(second, token, None, later)
            .await,
        Err(CatalogError::LeaseLost(_))
    ));
    let far = now + secs(100_000);
    let last = claim_request(cat, far, "claimed").await;
    assert_eq!(
        last.id, first,
        "only the first, whose lease ran out at last"
    );
    assert_eq!(cat.claim_requested_backup(far, LEASE).await.unwrap(), None);
}

pub async fn failed_requests_keep_their_error(backend: &dyn Backend) {
    let w = world(backend).await;
    let cat = &*w.cat;
    let now = clock();
    let id = requested(cat, w.account.id, "rm-nodsn", now).await;
    let claimed = claim_request(cat, now, "claimed").await;
    let token = claimed.lease_token.as_deref().unwrap();
    let long = "x".repeat(10_000);
    cat.fail_requested_backup(id, token, None, &long, now)
        .await
        .unwrap();
    let failed = cat.requested_backup(id).await.unwrap().unwrap();
    assert_eq!(failed.state, RequestState::Failed);
    let error = failed.last_error.unwrap();
    assert!(
        error.len() <= 2000 && error.starts_with("xxx"),
        "kept short"
    );
    assert_eq!(failed.lease_token, None);
    let far = now + secs(100_000);
    assert_eq!(cat.claim_requested_backup(far, LEASE).await.unwrap(), None);
    assert_eq!(
        cat.open_requested_backups(claimed.instance_id)
            .await
            .unwrap(),
        vec![]
    );
    // Failed for good: turning the policy off and on again requests a new one.
    change_policy(cat, claimed.instance_id, &off(), now).await;
    let again = change_policy(cat, claimed.instance_id, &enable(SHANGHAI), now)
        .await
        .requested_backup_id
        .unwrap();
    assert!(again > id);
}

/// Handles racing to turn on one instance's policy (with no recent set) insert one request: the
/// changes run one after another, and only the first turns the policy on.
pub async fn concurrent_enables_request_one_backup(backend: &dyn Backend) {
    const CHANGERS: usize = 6;
    let w = world(backend).await;
    let inst = w.bare_instance("rm-race").await;
    let mut handles = vec![Arc::clone(&w.cat)];
    for _ in 1..3 {
        handles.push(backend.open().await);
    }
    let now = clock();
    let tasks: Vec<_> = (0..CHANGERS)
        .map(|i| {
            let cat = Arc::clone(&handles[i % handles.len()]);
            tokio::spawn(async move {
                cat.change_cross_backup_policy(inst.id, &enable(SHANGHAI), now)
                    .await
                    .expect("policy change")
            })
        })
        .collect();
    let mut requested = Vec::new();
    for task in tasks {
        let changed = task.await.expect("changer task");
        assert!(changed.stored.is_some_and(|p| p.policy.enabled));
        requested.extend(changed.requested_backup_id);
    }
    let open = w.cat.open_requested_backups(inst.id).await.unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    assert!(!requested.is_empty());
    assert!(
        requested.iter().all(|id| *id == open[0].id),
        "{requested:?}"
    );
}

/// Workers racing on the request queue (as many processes would) never take the same request.
pub async fn concurrent_request_claimers_never_share_a_request(backend: &dyn Backend) {
    const REQUESTS: usize = 12;
    const CLAIMERS: usize = 6;
    let w = world(backend).await;
    let now = clock();
    for n in 0..REQUESTS {
        let inst = w.bare_instance(&format!("rm-q{n}")).await;
        let changed = change_policy(&*w.cat, inst.id, &enable(SHANGHAI), now).await;
        assert!(changed.requested_backup_id.is_some());
    }
    let mut handles = vec![Arc::clone(&w.cat)];
    for _ in 1..3 {
        handles.push(backend.open().await);
    }
    let tasks: Vec<_> = (0..CLAIMERS)
        .map(|i| {
            let cat = Arc::clone(&handles[i % handles.len()]);
            tokio::spawn(async move {
                let mut mine = Vec::new();
                while let Some(r) = cat.claim_requested_backup(now, LEASE).await.expect("claim") {
                    let token = r.lease_token.as_deref().expect("claimed with a token");
                    cat.complete_requested_backup(r.id, token, None, now)
                        .await
                        .expect("complete own request");
                    mine.push(r.id);
                    tokio::task::yield_now().await;
                }
                mine
            })
        })
        .collect();
    let mut claimed = Vec::new();
    for task in tasks {
        claimed.extend(task.await.expect("claimer task"));
    }
    let distinct: std::collections::HashSet<_> = claimed.iter().collect();
    assert_eq!(distinct.len(), claimed.len(), "claimed twice: {claimed:?}");
    assert_eq!(claimed.len(), REQUESTS);
    for id in claimed {
        let r = w.cat.requested_backup(id).await.unwrap().expect("request");
        assert_eq!((r.state, r.attempts), (RequestState::Done, 1), "{r:?}");
    }
}

/// Racing changes of different values of one policy all stick: each change merges with what the
/// one before it stored, never with a policy read before that one committed.
pub async fn concurrent_partial_changes_all_stick(backend: &dyn Backend) {
    const INSTANCES: usize = 4;
    let w = world(backend).await;
    let now = clock();
    let mut instances = Vec::new();
    for n in 0..INSTANCES {
        let inst = w.bare_instance(&format!("rm-part{n}")).await;
        change_policy(&*w.cat, inst.id, &enable(SHANGHAI), now).await;
        instances.push(inst.id);
    }
    let changes = [
        PolicyChange {
            retention_days: Some(30),
            ..PolicyChange::default()
        },
        PolicyChange {
            log_backup_enabled: Some(true),
            ..PolicyChange::default()
        },
        PolicyChange {
            dest_region_id: Some(BEIJING.into()),
            ..PolicyChange::default()
        },
    ];
    let mut handles = vec![Arc::clone(&w.cat)];
    for _ in 1..changes.len() {
        handles.push(backend.open().await);
    }
    let mut tasks = Vec::new();
    for &id in &instances {
        for (i, change) in changes.iter().enumerate() {
            let (cat, change) = (Arc::clone(&handles[i]), change.clone());
            tasks.push(tokio::spawn(async move {
                cat.change_cross_backup_policy(id, &change, now)
                    .await
                    .expect("policy change")
            }));
        }
    }
    for task in tasks {
        task.await.expect("changer task");
    }
    for id in instances {
        let stored = w
            .cat
            .cross_backup_policy(id)
            .await
            .unwrap()
            .expect("policy");
        assert_eq!(
            (
                stored.policy.enabled,
                stored.policy.retention_days,
                stored.log_backup_enabled,
                stored.policy.dest_region_id.as_str(),
            ),
            (true, 30, true, BEIJING),
            "{stored:?}"
        );
    }
}
