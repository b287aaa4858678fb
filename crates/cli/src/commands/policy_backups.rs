//! The backups `xbak serve` takes when enabling a cross-region policy asks for one (the instance
//! has no backup set from the last 24 hours): [`PolicyBackups`], the CLI's [`OnDemandBackups`].

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use tokio::task::JoinSet;
use tracing::{info, warn};
use xbak_agent::{BackupAgent, BackupRequest};
use xbak_catalog::Catalog;
use xbak_domain::{BackupMethod, BackupRunStatus, BackupType, Instance};
use xbak_server::OnDemandBackups;

/// The backups enabling a cross-region policy asks for ([`OnDemandBackups`]), taken by the
/// [`BackupAgent`] in background tasks of this process.
///
/// A requested backup is skipped (and says so in the log) when the instance has no database
/// server (`xbak instance connect`), or when a run of it is already going (recorded `running`
/// in the catalog by any process, or requested here and not finished). Otherwise it is a full
/// backup with trigger `policy`, of the method of the instance's daily schedule if it has one,
/// else physical when `mariabackup` is installed, else logical. Recording the set queues its
/// cross-region copy under the now-enabled policy, and the copy workers copy it.
pub struct PolicyBackups {
    agent: BackupAgent,
    catalog: Arc<dyn Catalog>,
    /// Instances with a requested backup not finished yet.
    in_flight: Arc<Mutex<HashSet<i64>>>,
    tasks: Mutex<JoinSet<()>>,
}

impl PolicyBackups {
    /// The trigger recorded on the runs (`xbak backup runs`).
    const TRIGGER: &'static str = "policy";

    pub fn new(agent: BackupAgent, catalog: Arc<dyn Catalog>) -> Self {
        PolicyBackups {
            agent,
            catalog,
            in_flight: Arc::default(),
            tasks: Mutex::new(JoinSet::new()),
        }
    }

    /// Waits for the backups in progress.
    pub async fn finish(&self) {
        let mut tasks = std::mem::take(&mut *lock(&self.tasks));
        while tasks.join_next().await.is_some() {}
    }

    /// Takes one backup of `instance` unless it cannot or need not be taken; logs the outcome.
    async fn take(agent: BackupAgent, catalog: Arc<dyn Catalog>, instance: Instance) {
        let catalog = catalog.as_ref();
        let name = instance.db_instance_id.as_str();
        match catalog.instance_connection(instance.id).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                info!(instance = %name, "cross-region policy enabled without a recent backup set, but the instance has no database server (xbak instance connect): no backup can be taken");
                return;
            }
            Err(e) => {
                warn!(instance = %name, error = %e, "policy backup not taken: cannot read the instance's database server");
                return;
            }
        }
        agent.fail_interrupted_runs().await;
        match catalog.backup_runs(instance.id, 1).await {
            Ok(runs)
                if runs
                    .first()
                    .is_some_and(|r| r.status == BackupRunStatus::Running) =>
            {
                info!(instance = %name, run = runs[0].id, "policy backup not taken: a backup of the instance is running");
                return;
            }
            Ok(_) => {}
            Err(e) => {
                warn!(instance = %name, error = %e, "policy backup not taken: cannot read the instance's backup runs");
                return;
            }
        }
        let method = Self::method(&agent, catalog, &instance).await;
        let req = BackupRequest {
            db_instance_id: instance.db_instance_id.clone(),
            method,
            backup_type: BackupType::Full,
            database: None,
            trigger: Self::TRIGGER.into(),
        };
        info!(instance = %name, method = method.as_str(), "policy backup starting (cross-region policy enabled without a backup set from the last 24 hours)");
        match agent.run(&req, &|_| {}).await {
            Ok(o) => info!(
                instance = %name,
                run = o.run_id,
                set = o.backup_set.id,
                bytes = o.backup_set.size_bytes,
                copy = o.queued_copy_id,
                "policy backup completed"
            ),
            Err(e) => warn!(instance = %name, error = %e, "policy backup failed"),
        }
    }

    /// The instance's daily schedule's method, else physical when `mariabackup` is installed,
    /// else logical.
    async fn method(
        agent: &BackupAgent,
        catalog: &dyn Catalog,
        instance: &Instance,
    ) -> BackupMethod {
        match catalog.backup_schedules().await {
            Ok(schedules) => {
                if let Some(s) = schedules.iter().find(|s| s.instance_id == instance.id) {
                    return s.method;
                }
            }
            Err(e) => {
                warn!(instance = %instance.db_instance_id, error = %e, "cannot read backup schedules; choosing the policy backup's method by the tools")
            }
        }
        let tools = &agent.config().tools;
        let mariabackup = tools.mariabackup.display().to_string();
        if tools.missing().contains(&mariabackup) {
            BackupMethod::Logical
        } else {
            BackupMethod::Physical
        }
    }
}

impl OnDemandBackups for PolicyBackups {
    fn request(&self, instance: &Instance) {
        if !lock(&self.in_flight).insert(instance.id) {
            info!(instance = %instance.db_instance_id, "policy backup already requested and not finished");
            return;
        }
        let (agent, catalog) = (self.agent.clone(), self.catalog.clone());
        let (in_flight, instance) = (self.in_flight.clone(), instance.clone());
        let mut tasks = lock(&self.tasks);
        // Forget the tasks that are done.
        while tasks.try_join_next().is_some() {}
        tasks.spawn(async move {
            let id = instance.id;
            Self::take(agent, catalog, instance).await;
            lock(&in_flight).remove(&id);
        });
    }
}

/// A mutex's contents, even when a panicking holder poisoned it.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
