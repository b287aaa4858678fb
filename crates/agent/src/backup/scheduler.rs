//! Daily scheduled backups, run by `xbak serve` and `xbak worker`: every
//! [`BackupScheduler::TICK`], each enabled schedule whose window is open and whose day has not
//! run yet is claimed in the catalog as a periodic run (exactly one of several schedulers wins;
//! one whose worker died is taken up again) and run. Runs go one at a time, so a
//! scheduler never backs up two instances at once.

use super::{BackupAgent, BackupRequest};
use chrono::Utc;
use std::future::Future;
use std::time::Duration;
use xbak_catalog::leases::once_per_period;

/// Runs the daily schedules with a [`BackupAgent`].
pub struct BackupScheduler {
    agent: BackupAgent,
    tick: Duration,
}

impl BackupScheduler {
    /// How often schedules are looked at.
    pub const TICK: Duration = Duration::from_secs(30);
    /// How long a claimed day's run stays this worker's without renewal (renewed while it runs).
    pub const LEASE: Duration = Duration::from_secs(60);

    pub fn new(agent: BackupAgent) -> Self {
        BackupScheduler {
            agent,
            tick: Self::TICK,
        }
    }

    /// Looks at schedules every `tick` instead (tests).
    pub fn with_tick(mut self, tick: Duration) -> Self {
        self.tick = tick;
        self
    }

    /// Runs due schedules until `shutdown` resolves (a run in progress is finished first).
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            self.run_due().await;
            tokio::select! {
                _ = &mut shutdown => return,
                _ = tokio::time::sleep(self.tick) => {}
            }
        }
    }

    /// Starts every schedule due now (one after the other); returns how many ran, and how many
    /// of those failed.
    pub async fn run_due(&self) -> (usize, usize) {
        let catalog = &self.agent.catalog;
        self.agent.fail_interrupted_runs().await;
        let schedules = match catalog.backup_schedules().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read backup schedules");
                return (0, 0);
            }
        };
        let (mut ran, mut failed) = (0, 0);
        for schedule in schedules {
            let now = Utc::now();
            if !schedule.is_due(now) {
                continue;
            }
            let day = schedule.window_day(now);
            let Some(db_instance_id) = self.db_instance_id(schedule.instance_id).await else {
                continue;
            };
            let req = BackupRequest {
                db_instance_id: db_instance_id.clone(),
                method: schedule.method,
                backup_type: schedule.backup_type,
                database: schedule.database.clone(),
                trigger: "scheduled".into(),
            };
            // One run per schedule and day across every worker on the catalog; a run whose
            // worker died is taken up again (see `xbak_catalog::leases::once_per_period`).
            let task = format!("schedule:{}", schedule.instance_id);
            let run = once_per_period(catalog.as_ref(), &task, &day, Self::LEASE, async {
                tracing::info!(instance = %db_instance_id, day = %day, method = schedule.method.as_str(), "scheduled backup starting");
                self.agent.run(&req, &|_| {}).await
            })
            .await;
            let outcome = match run {
                Ok(Some(outcome)) => outcome,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(instance = schedule.instance_id, error = %e, "cannot claim a scheduled backup");
                    continue;
                }
            };
            ran += 1;
            // Shown by `xbak schedule list`; the periodic run is what keeps the day to one run.
            if let Err(e) = catalog
                .claim_scheduled_backup(schedule.instance_id, &day)
                .await
            {
                tracing::warn!(instance = schedule.instance_id, error = %e, "cannot record the schedule's last run day");
            }
            match outcome {
                Ok(o) => tracing::info!(
                    instance = %db_instance_id,
                    set = o.backup_set.id,
                    bytes = o.backup_set.size_bytes,
                    "scheduled backup completed"
                ),
                Err(e) => {
                    failed += 1;
                    tracing::warn!(instance = %db_instance_id, error = %e, "scheduled backup failed")
                }
            }
        }
        (ran, failed)
    }

    async fn db_instance_id(&self, instance_id: i64) -> Option<String> {
        match self.agent.catalog.instance(instance_id).await {
            Ok(Some(i)) => Some(i.db_instance_id),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(instance = instance_id, error = %e, "cannot read a scheduled instance");
                None
            }
        }
    }
}
