//! The backups enabling a cross-region policy requests (the instance had no backup set from the
//! last 24 hours): [`RequestedBackups`], the loop `xbak serve` runs beside its copy workers.
//!
//! A request is a catalog row (inserted by the policy service, by any process, `serve
//! --no-workers` included), claimed here with a lease like a copy job; the lease is renewed while
//! the backup runs, so a request whose worker died is claimed again once its lease expires.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tracing::{info, warn};
use xbak_agent::{BackupAgent, BackupRequest};
use xbak_catalog::leases::claim_or_take_over;
use xbak_catalog::{Catalog, CatalogError, LeasedQueue};
use xbak_domain::policy::copy_window_start;
use xbak_domain::{BackupMethod, BackupRunStatus, BackupType, Instance, RequestedBackup};

/// Takes the requested backups with the [`BackupAgent`], one at a time.
///
/// A request ends `failed` (with the reason) when the instance has no database server (`xbak
/// instance connect`) or the backup fails; `done` when the backup was taken, or when a set that
/// started in the last 24 hours exists by the time it is claimed (its copy was queued when it
/// was recorded). While a run of the instance is going, the request is left to its lease and
/// claimed again later. The backup is full, with the request's trigger (`policy`), of the method
/// of the instance's daily schedule if it has one, else physical when `mariabackup` is installed,
/// else logical. Recording the set queues its cross-region copy under the enabled policy.
pub struct RequestedBackups {
    agent: BackupAgent,
    catalog: Arc<dyn Catalog>,
}

/// How a claimed request ends.
enum Outcome {
    /// Taken (the run), or no longer needed.
    Done(Option<i64>),
    /// Could not be taken, and why.
    Failed(String),
    /// Not now: left to its lease, claimed again when it expires.
    Later,
}

impl RequestedBackups {
    /// How long a claim holds a request without renewal.
    const LEASE: Duration = Duration::from_secs(60);
    /// How often the holder renews its lease while the backup runs.
    const RENEW_EVERY: Duration = Duration::from_secs(20);
    /// How long an idle loop waits before looking for requests again.
    const POLL: Duration = Duration::from_secs(1);

    pub fn new(agent: BackupAgent, catalog: Arc<dyn Catalog>) -> Self {
        RequestedBackups { agent, catalog }
    }

    /// Claims and takes requested backups until `stop` resolves; a backup in progress is finished
    /// rather than left `running`.
    pub async fn run(self, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            let idle = match self.claim().await {
                Ok(Some(request)) => {
                    self.take(request).await;
                    Duration::ZERO
                }
                Ok(None) => Self::POLL,
                Err(e) => {
                    warn!(error = %e, "cannot claim requested backups; will retry");
                    Self::POLL
                }
            };
            tokio::select! {
                biased;
                _ = &mut stop => return,
                _ = tokio::time::sleep(idle) => {}
            }
        }
    }

    /// Claims a request: a waiting one, one whose lease ran out, or one whose holder on this host
    /// is no longer running (taken over at once).
    async fn claim(&self) -> Result<Option<RequestedBackup>, CatalogError> {
        let catalog = self.catalog.as_ref();
        let claim = || catalog.claim_requested_backup(Utc::now(), Self::LEASE);
        claim_or_take_over(catalog, LeasedQueue::BackupRequests, claim).await
    }

    /// Takes one claimed request, renewing its lease meanwhile, and records how it ended.
    async fn take(&self, request: RequestedBackup) {
        let token = request.lease_token.clone().unwrap_or_default();
        let renewing = tokio::spawn(renew(self.catalog.clone(), request.id, token.clone()));
        let outcome = self.outcome(&request).await;
        renewing.abort();
        let now = Utc::now();
        let recorded = match &outcome {
            Outcome::Done(run) => {
                self.catalog
                    .complete_requested_backup(request.id, &token, *run, now)
                    .await
            }
            Outcome::Failed(error) => {
                self.catalog
                    .fail_requested_backup(request.id, &token, None, error, now)
                    .await
            }
            Outcome::Later => Ok(()),
        };
        if let Err(e) = recorded {
            warn!(request = request.id, error = %e, "cannot record how the requested backup ended");
        }
    }

    /// Takes the backup of a claimed request unless it cannot or need not be taken; logs why.
    async fn outcome(&self, request: &RequestedBackup) -> Outcome {
        let catalog = self.catalog.as_ref();
        let instance = match catalog.instance(request.instance_id).await {
            Ok(Some(instance)) => instance,
            Ok(None) => return Outcome::Failed("the instance no longer exists".into()),
            Err(e) => return retry_later(request, "cannot read the instance", &e),
        };
        let name = instance.db_instance_id.as_str();
        match catalog.instance_connection(instance.id).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                info!(instance = %name, request = request.id, "cross-region policy enabled without a recent backup set, but the instance has no database server (xbak instance connect): no backup can be taken");
                return Outcome::Failed(
                    "the instance has no database server (xbak instance connect)".into(),
                );
            }
            Err(e) => return retry_later(request, "cannot read the database server", &e),
        }
        match catalog.newest_backup_set(instance.id).await {
            Ok(Some(set)) if set.started_at >= copy_window_start(Utc::now()) => {
                info!(instance = %name, request = request.id, set = set.id, "requested backup not needed: the instance has a backup set from the last 24 hours");
                return Outcome::Done(None);
            }
            Ok(_) => {}
            Err(e) => return retry_later(request, "cannot read the backup sets", &e),
        }
        self.agent.fail_interrupted_runs().await;
        match catalog.backup_runs(instance.id, 1).await {
            Ok(runs)
                if runs
                    .first()
                    .is_some_and(|r| r.status == BackupRunStatus::Running) =>
            {
                info!(instance = %name, run = runs[0].id, request = request.id, "requested backup waits: a backup of the instance is running");
                return Outcome::Later;
            }
            Ok(_) => {}
            Err(e) => return retry_later(request, "cannot read the backup runs", &e),
        }
        let method = self.method(&instance).await;
        let req = BackupRequest {
            db_instance_id: instance.db_instance_id.clone(),
            method,
            backup_type: BackupType::Full,
            database: None,
            trigger: request.trigger.clone(),
        };
        info!(instance = %name, request = request.id, method = method.as_str(), "requested backup starting (cross-region policy enabled without a backup set from the last 24 hours)");
        match self.agent.run(&req, &|_| {}).await {
            Ok(o) => {
                info!(
                    instance = %name,
                    run = o.run_id,
                    set = o.backup_set.id,
                    bytes = o.backup_set.size_bytes,
                    copy = o.queued_copy_id,
                    "requested backup completed"
                );
                Outcome::Done(Some(o.run_id))
            }
            Err(e) => {
                warn!(instance = %name, request = request.id, error = %e, "requested backup failed");
                Outcome::Failed(format!("backup failed: {e}"))
            }
        }
    }

    /// The instance's daily schedule's method, else physical when `mariabackup` is installed,
    /// else logical.
    async fn method(&self, instance: &Instance) -> BackupMethod {
        match self.catalog.backup_schedules().await {
            Ok(schedules) => {
                if let Some(s) = schedules.iter().find(|s| s.instance_id == instance.id) {
                    return s.method;
                }
            }
            Err(e) => {
                warn!(instance = %instance.db_instance_id, error = %e, "cannot read backup schedules; choosing the requested backup's method by the tools")
            }
        }
        let tools = &self.agent.config().tools;
        let mariabackup = tools.mariabackup.display().to_string();
        if tools.missing().contains(&mariabackup) {
            BackupMethod::Logical
        } else {
            BackupMethod::Physical
        }
    }
}

/// A catalog read failed: logs it and leaves the request to its lease.
fn retry_later(request: &RequestedBackup, what: &str, e: &CatalogError) -> Outcome {
    warn!(request = request.id, error = %e, "{what}; the requested backup is retried later");
    Outcome::Later
}

/// Renews the lease on request `id` every [`RequestedBackups::RENEW_EVERY`] until aborted or lost.
async fn renew(catalog: Arc<dyn Catalog>, id: i64, token: String) {
    loop {
        tokio::time::sleep(RequestedBackups::RENEW_EVERY).await;
        let until =
            Utc::now() + chrono::Duration::from_std(RequestedBackups::LEASE).unwrap_or_default();
        match catalog.renew_requested_backup(id, &token, until).await {
            Ok(()) => {}
            Err(CatalogError::LeaseLost(_)) => {
                warn!(request = id, "lease on the requested backup lost");
                return;
            }
            Err(e) => warn!(request = id, error = %e, "cannot renew the requested backup's lease"),
        }
    }
}
