//! Backup runs whose agent died (killed mid-backup) are failed as interrupted by the next agent
//! or scheduler that looks, instead of showing as running forever and blocking backups.

use chrono::{Duration as Span, Utc};
use std::sync::Arc;
use xbak_agent::{AgentConfig, BackupAgent, BackupScheduler};
use xbak_catalog::Catalog;
use xbak_domain::{
    BackupMethod, BackupRunStatus, BackupSetScale, BackupType, Instance, NewBackupRun,
};
use xbak_testkit::world::{self, InstanceSpec};

/// A SQLite catalog with one region and one account's instance (these runs store nothing).
struct World {
    _dir: tempfile::TempDir,
    catalog: Arc<dyn Catalog>,
    instance: Instance,
}

impl World {
    async fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let catalog = world::sqlite_catalog(dir.path()).await;
        let url = world::local_url(dir.path(), "cn-hangzhou");
        world::put_regions(&*catalog, &[("cn-hangzhou", &url)]).await;
        let instance = InstanceSpec::mysql57("acme", "rm-bp1", "cn-hangzhou")
            .mariadb()
            .seed(&*catalog)
            .await;
        World {
            _dir: dir,
            catalog,
            instance,
        }
    }
}

fn run_started(w: &World, ago: Span) -> NewBackupRun {
    NewBackupRun {
        instance_id: w.instance.id,
        method: BackupMethod::Physical,
        backup_type: BackupType::Full,
        scale: BackupSetScale::Instance,
        database: None,
        instance_number: w.instance.instance_number,
        started_at: Utc::now() - ago,
        trigger: "scheduled".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_of_dead_agents_are_failed_and_live_ones_kept() {
    let w = World::new().await;
    let dead = w
        .catalog
        .start_backup_run(&run_started(&w, Span::minutes(10)))
        .await
        .unwrap();
    let alive = w
        .catalog
        .start_backup_run(&run_started(&w, Span::minutes(10)))
        .await
        .unwrap();
    // The live run's agent refreshed its heartbeat a moment ago.
    assert!(w
        .catalog
        .touch_backup_run(alive.id, Utc::now())
        .await
        .unwrap());
    let fresh = w
        .catalog
        .start_backup_run(&run_started(&w, Span::seconds(5)))
        .await
        .unwrap();

    let agent = BackupAgent::new(w.catalog.clone(), AgentConfig::default());
    assert_eq!(agent.fail_interrupted_runs().await, 1);
    let status = |id| {
        let cat = w.catalog.clone();
        async move { cat.backup_run(id).await.unwrap().unwrap() }
    };
    let failed = status(dead.id).await;
    assert_eq!(failed.status, BackupRunStatus::Failed);
    assert!(
        failed
            .error
            .as_deref()
            .unwrap_or("")
            .starts_with("interrupted"),
        "{failed:?}"
    );
    assert_eq!(status(alive.id).await.status, BackupRunStatus::Running);
    assert_eq!(status(fresh.id).await.status, BackupRunStatus::Running);

    // A scheduler tick does the same (nothing is scheduled here, so nothing runs).
    w.catalog
        .start_backup_run(&run_started(&w, Span::hours(3)))
        .await
        .unwrap();
    let scheduler = BackupScheduler::new(agent);
    assert_eq!(scheduler.run_due().await, (0, 0));
    let runs = w.catalog.backup_runs(w.instance.id, 10).await.unwrap();
    let running: Vec<i64> = runs
        .iter()
        .filter(|r| r.status == BackupRunStatus::Running)
        .map(|r| r.id)
        .collect();
    assert_eq!(running.len(), 2, "{runs:?}");
    assert!(running.contains(&alive.id) && running.contains(&fresh.id));
}
