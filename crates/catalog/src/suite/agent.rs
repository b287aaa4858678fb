//! The backup agent's rows: instance connections, runs, schedules.

use super::*;
use xbak_domain::{
    BackupRunStatus, BackupSchedule, BackupSetDetails, Dsn, InstanceConnection, NewBackupRun,
};

fn new_run(instance: &Instance, started: Timestamp) -> NewBackupRun {
    NewBackupRun {
        instance_id: instance.id,
        method: BackupMethod::Physical,
        backup_type: BackupType::Full,
        scale: BackupSetScale::Instance,
        database: None,
        instance_number: instance.instance_number,
        started_at: started,
        trigger: "manual".into(),
    }
}

pub async fn instance_connections_put_replace_and_refusals(backend: &dyn Backend) {
    let w = world(backend).await;
    assert_eq!(
        w.cat.instance(w.instance.id).await.unwrap(),
        Some(w.instance.clone())
    );
    assert_eq!(w.cat.instance(9_999).await.unwrap(), None);
    assert_eq!(
        w.cat.instance_connection(w.instance.id).await.unwrap(),
        None
    );
    let mut c = InstanceConnection {
        instance_id: w.instance.id,
        dsn: Dsn::parse("mysql://bak:p%40ss@127.0.0.1:3306").unwrap(),
        standby: None,
    };
    w.cat.put_instance_connection(&c).await.unwrap();
    assert_eq!(
        w.cat.instance_connection(w.instance.id).await.unwrap(),
        Some(c.clone())
    );
    c.standby = Some((Dsn::parse("mysql://bak:x@127.0.0.1:3307").unwrap(), 42));
    w.cat.put_instance_connection(&c).await.unwrap();
    let again = backend.open().await;
    assert_eq!(
        again.instance_connection(w.instance.id).await.unwrap(),
        Some(c.clone()),
        "replaced, and visible to another handle"
    );
    c.instance_id = 9_999;
    assert!(matches!(
        w.cat.put_instance_connection(&c).await,
        Err(crate::CatalogError::NotFound(_))
    ));
}

pub async fn backup_runs_complete_or_fail_once(backend: &dyn Backend) {
    let w = world(backend).await;
    let run = w
        .cat
        .start_backup_run(&new_run(&w.instance, t0()))
        .await
        .unwrap();
    assert_eq!(run.status, BackupRunStatus::Running);
    assert_eq!((run.backup_set_id, run.details.clone()), (None, None));

    let details = BackupSetDetails {
        manifest_key: "backups/rm-a/x_qp.xb.manifest.json".into(),
        base_set_id: None,
        from_lsn: Some(0),
        to_lsn: Some(123_456_789_012),
    };
    let set = new_set(&w.instance, t0(), 1);
    let recorded = w
        .cat
        .complete_backup_run(run.id, &set, &details)
        .await
        .unwrap();
    assert!(recorded.queued_copy_id.is_some(), "copied like any set");
    let done = w.cat.backup_run(run.id).await.unwrap().unwrap();
    assert_eq!(done.status, BackupRunStatus::Completed);
    assert_eq!(done.backup_set_id, Some(recorded.backup_set.id));
    assert_eq!(done.details, Some(details.clone()));
    assert_eq!(done.finished_at, Some(set.finished_at));
    assert_eq!(
        w.cat
            .backup_run_of_set(recorded.backup_set.id)
            .await
            .unwrap()
            .map(|r| r.id),
        Some(run.id)
    );
    // A finished run cannot finish again.
    assert!(matches!(
        w.cat.fail_backup_run(run.id, t0(), "late").await,
        Err(crate::CatalogError::Conflict(_))
    ));

    let failed = w
        .cat
        .start_backup_run(&new_run(&w.instance, t0() + secs(60)))
        .await
        .unwrap();
    w.cat
        .fail_backup_run(failed.id, t0() + secs(90), "mariabackup exited with 1")
        .await
        .unwrap();
    let failed = w.cat.backup_run(failed.id).await.unwrap().unwrap();
    assert_eq!(failed.status, BackupRunStatus::Failed);
    assert_eq!(failed.error.as_deref(), Some("mariabackup exited with 1"));
    assert_eq!(failed.backup_set_id, None, "a failed run records no set");
    assert!(matches!(
        w.cat
            .complete_backup_run(failed.id, &new_set(&w.instance, t0(), 2), &details)
            .await,
        Err(crate::CatalogError::Conflict(_))
    ));
    assert_eq!(
        w.cat
            .list_copies(&query(w.instance.id))
            .await
            .unwrap()
            .total
            + claim_all(&*w.cat, due()).await.len() as u64,
        1,
        "only the completed run's set is queued"
    );
    let runs = w.cat.backup_runs(w.instance.id, 10).await.unwrap();
    assert_eq!(
        runs.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![failed.id, run.id],
        "newest first"
    );
}

pub async fn silent_running_runs_are_failed_as_interrupted(backend: &dyn Backend) {
    let w = world(backend).await;
    let start = |at| {
        let cat = w.cat.clone();
        let run = new_run(&w.instance, at);
        async move { cat.start_backup_run(&run).await.unwrap().id }
    };
    let never_beat = start(t0()).await;
    let beating = start(t0()).await;
    let young = start(t0() + secs(250)).await;
    let finished = start(t0()).await;
    w.cat
        .fail_backup_run(finished, t0() + secs(10), "its own error")
        .await
        .unwrap();
    assert!(w
        .cat
        .touch_backup_run(beating, t0() + secs(200))
        .await
        .unwrap());
    assert!(
        !w.cat
            .touch_backup_run(finished, t0() + secs(200))
            .await
            .unwrap(),
        "a finished run takes no heartbeat"
    );

    // Silent since before t0 + 180 s: only the run that never beat.
    let now = t0() + secs(300);
    let reaped = w
        .cat
        .fail_stale_backup_runs(now, t0() + secs(180))
        .await
        .unwrap();
    assert_eq!(reaped, vec![never_beat]);
    let run = w.cat.backup_run(never_beat).await.unwrap().unwrap();
    assert_eq!(run.status, BackupRunStatus::Failed);
    assert_eq!(run.finished_at, Some(now));
    assert_eq!(
        run.error.as_deref(),
        Some("interrupted: its agent stopped (no heartbeat since 2024-03-01T00:00:00Z)")
    );
    for id in [beating, young] {
        let run = w.cat.backup_run(id).await.unwrap().unwrap();
        assert_eq!(run.status, BackupRunStatus::Running, "run {id}");
    }
    let kept = w.cat.backup_run(finished).await.unwrap().unwrap();
    assert_eq!(kept.error.as_deref(), Some("its own error"));
    // The agent of a reaped run finds out at its next heartbeat, and cannot complete it.
    assert!(!w.cat.touch_backup_run(never_beat, now).await.unwrap());
    assert!(matches!(
        w.cat
            .complete_backup_run(
                never_beat,
                &new_set(&w.instance, t0(), 9),
                &BackupSetDetails {
                    manifest_key: "m".into(),
                    base_set_id: None,
                    from_lsn: None,
                    to_lsn: None,
                },
            )
            .await,
        Err(crate::CatalogError::Conflict(_))
    ));
    // Later, the heartbeat goes stale too.
    let later = w
        .cat
        .fail_stale_backup_runs(now + secs(600), now + secs(300))
        .await
        .unwrap();
    assert_eq!(later.len(), 2);
    assert!(later.contains(&beating) && later.contains(&young));
}

pub async fn incremental_base_is_the_latest_completed_run(backend: &dyn Backend) {
    let w = world(backend).await;
    let n = w.instance.instance_number;
    assert_eq!(
        w.cat
            .latest_completed_backup_run(w.instance.id, BackupMethod::Physical, n)
            .await
            .unwrap(),
        None
    );
    let mut last = None;
    for i in 0..3u32 {
        let run = w
            .cat
            .start_backup_run(&new_run(&w.instance, t0() + secs(i64::from(i) * 60)))
            .await
            .unwrap();
        let details = BackupSetDetails {
            manifest_key: format!("m{i}"),
            base_set_id: None,
            from_lsn: None,
            to_lsn: Some(u64::from(i) * 1000),
        };
        w.cat
            .complete_backup_run(run.id, &new_set(&w.instance, t0(), i), &details)
            .await
            .unwrap();
        last = Some(run.id);
    }
    // A later failed run and a run on another node do not count.
    let failed = w
        .cat
        .start_backup_run(&new_run(&w.instance, t0()))
        .await
        .unwrap();
    w.cat.fail_backup_run(failed.id, t0(), "x").await.unwrap();
    let base = w
        .cat
        .latest_completed_backup_run(w.instance.id, BackupMethod::Physical, n)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(Some(base.id), last);
    assert_eq!(base.details.unwrap().to_lsn, Some(2000));
    assert!(w
        .cat
        .latest_completed_backup_run(w.instance.id, BackupMethod::Physical, n + 1)
        .await
        .unwrap()
        .is_none());
    assert!(w
        .cat
        .latest_completed_backup_run(w.instance.id, BackupMethod::Logical, n)
        .await
        .unwrap()
        .is_none());
}

pub async fn schedules_are_claimed_once_per_day(backend: &dyn Backend) {
    let w = world(backend).await;
    let (method, kind) = (BackupMethod::Physical, BackupType::Full);
    let mut s = BackupSchedule::daily(w.instance.id, 180, 60, method, kind, None);
    w.cat.put_backup_schedule(&s).await.unwrap();
    assert_eq!(w.cat.backup_schedules().await.unwrap(), vec![s.clone()]);

    let other = backend.open().await;
    let (a, b) = tokio::join!(
        w.cat.claim_scheduled_backup(w.instance.id, "2026-01-01"),
        other.claim_scheduled_backup(w.instance.id, "2026-01-01")
    );
    assert_eq!(
        [a.unwrap(), b.unwrap()].iter().filter(|c| **c).count(),
        1,
        "exactly one claimer per day"
    );
    assert!(w
        .cat
        .claim_scheduled_backup(w.instance.id, "2026-01-02")
        .await
        .unwrap());

    // Replacing the schedule keeps the day already run.
    s.at_minute = 240;
    w.cat.put_backup_schedule(&s).await.unwrap();
    let stored = w.cat.backup_schedules().await.unwrap();
    assert_eq!(stored[0].at_minute, 240);
    assert_eq!(stored[0].last_run_day.as_deref(), Some("2026-01-02"));

    s.enabled = false;
    w.cat.put_backup_schedule(&s).await.unwrap();
    assert!(!w
        .cat
        .claim_scheduled_backup(w.instance.id, "2026-01-03")
        .await
        .unwrap());
    assert!(w.cat.delete_backup_schedule(w.instance.id).await.unwrap());
    assert!(!w.cat.delete_backup_schedule(w.instance.id).await.unwrap());
    assert!(w.cat.backup_schedules().await.unwrap().is_empty());
}
