//! The SQLite catalog: one database file shared by the `serve` process and CLI commands.
//!
//! WAL mode lets readers run beside the single writer; `busy_timeout` makes a writer wait for
//! another process's write instead of failing; every write is a `BEGIN IMMEDIATE` transaction, so
//! read-modify-write steps (claiming a job) take the write lock before they read.
//!
//! Each area has its own file of synchronous functions over a connection or transaction; this
//! file only moves them onto the blocking pool.

mod accounts;
mod agent;
mod backups;
mod bulk;
mod copies;
mod cross_policy;
mod errors;
mod instances;
mod leases;
mod migrations;
mod nonces;
mod pool;
mod queue;
mod requests;
mod retention;
mod rows;

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, Transaction, TransactionBehavior};
use xbak_domain::time::Timestamp;
use xbak_domain::{
    AccessKey, Account, BackupMethod, BackupRun, BackupSchedule, BackupSet, BackupSetDetails,
    CopyJob, CopyListing, CopyQuery, CrossRegionCopy, Instance, InstanceConnection, NewBackupRun,
    NewBackupSet, NewInstance, Policy, Region,
};
use xbak_domain::{CrossBackupPolicy, LeaseHolder, PolicyChange, RequestState, RequestedBackup};

use crate::{HeldLease, LeasedQueue, PeriodicRun};

pub use bulk::BulkCopies;
use errors::SqlResultExt;
use pool::{connect, Pool};

use crate::{
    Catalog, CatalogError, CopyCounts, CopyFreshness, ExpiredCopy, ExpiringObject,
    PolicyChangeError, PolicyChanged, RecordedBackupSet, Result, SeenNonce,
};

/// Read connections per process. Reads are short; four keep two cores busy with room for waits.
const READERS: usize = 4;

/// A [`Catalog`] in one SQLite database file.
pub struct SqliteCatalog {
    pool: Pool,
    /// Commits made through this handle's writer (`PRAGMA data_version` on the writer only
    /// sees other connections' commits).
    commits: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl SqliteCatalog {
    /// Opens (creating if needed) the database at `path`, with its parent directory, and brings
    /// its schema up to date. Safe while other processes have it open.
    pub async fn open(path: &Path) -> Result<SqliteCatalog> {
        let path = path.to_path_buf();
        let pool = tokio::task::spawn_blocking(move || -> Result<Pool> {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| {
                    tracing::error!(error = %e, path = %parent.display(), "cannot create catalog directory");
                    CatalogError::Unavailable("cannot create the catalog directory".into())
                })?;
            }
            let mut writer = connect(Some(&path), false)?;
            migrations::migrate(&mut writer)?;
            let readers = (0..READERS).map(|_| connect(Some(&path), true)).collect::<Result<Vec<_>>>()?;
            Ok(Pool::new(writer, readers))
        })
        .await
        .map_err(|_| CatalogError::Internal("opening the catalog did not finish".into()))??;
        Ok(SqliteCatalog {
            pool,
            commits: Default::default(),
        })
    }

    /// A private, empty in-memory catalog on a single connection (tests and tools).
    pub async fn open_in_memory() -> Result<SqliteCatalog> {
        let mut conn = connect(None, false)?;
        migrations::migrate(&mut conn)?;
        Ok(SqliteCatalog {
            pool: Pool::new(conn, Vec::new()),
            commits: Default::default(),
        })
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction on the writer; commits if it returns `Ok`.
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.transact(f, true).await
    }

    /// Like [`write`](Self::write), but not counted by [`Catalog::change_token`]: for
    /// bookkeeping no cached read depends on (replay nonces), so frequent nonce flushes do not
    /// invalidate the server's listing cache.
    async fn write_quiet<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.transact(f, false).await
    }

    async fn transact<T, F>(&self, f: F, counted: bool) -> Result<T>
    where
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let commits = self.commits.clone();
        self.pool
            .write(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .db()?;
                let out = f(&tx)?;
                tx.commit().db()?;
                if counted {
                    commits.fetch_add(1, std::sync::atomic::Ordering::Release);
                }
                Ok(out)
            })
            .await
    }

    /// Runs `f` on a read connection.
    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.pool.read(move |conn| f(conn)).await
    }
}

#[async_trait]
impl Catalog for SqliteCatalog {
    async fn create_account(&self, name: &str) -> Result<(Account, AccessKey)> {
        let name = name.to_string();
        self.write(move |tx| accounts::create_account(tx, &name))
            .await
    }

    async fn account_by_name(&self, name: &str) -> Result<Option<Account>> {
        let name = name.to_string();
        self.read(move |conn| accounts::account_by_name(conn, &name))
            .await
    }

    async fn access_key(&self, access_key_id: &str) -> Result<Option<AccessKey>> {
        let id = access_key_id.to_string();
        self.read(move |conn| accounts::access_key(conn, &id)).await
    }

    async fn put_region(&self, region: &Region) -> Result<()> {
        let region = region.clone();
        self.write(move |tx| instances::put_region(tx, &region))
            .await
    }

    async fn region(&self, region_id: &str) -> Result<Option<Region>> {
        let id = region_id.to_string();
        self.read(move |conn| instances::region(conn, &id)).await
    }

    async fn regions(&self) -> Result<Vec<Region>> {
        self.read(instances::regions).await
    }

    async fn create_instance(&self, new: &NewInstance) -> Result<Instance> {
        let new = new.clone();
        self.write(move |tx| instances::create_instance(tx, &new))
            .await
    }

    async fn instance_by_db_instance_id(&self, db_instance_id: &str) -> Result<Option<Instance>> {
        let id = db_instance_id.to_string();
        self.read(move |conn| instances::instance_by_db_instance_id(conn, &id))
            .await
    }

    async fn put_policy(&self, policy: &Policy) -> Result<Policy> {
        let policy = policy.clone();
        self.write(move |tx| instances::put_policy(tx, &policy))
            .await
    }

    async fn policy(&self, instance_id: i64) -> Result<Option<Policy>> {
        self.read(move |conn| instances::policy(conn, instance_id))
            .await
    }

    async fn put_cross_backup_policy(
        &self,
        policy: &Policy,
        log_backup_enabled: bool,
    ) -> Result<CrossBackupPolicy> {
        let policy = policy.clone();
        self.write(move |tx| cross_policy::put_cross_backup_policy(tx, &policy, log_backup_enabled))
            .await
    }

    async fn cross_backup_policy(&self, instance_id: i64) -> Result<Option<CrossBackupPolicy>> {
        self.read(move |conn| cross_policy::cross_backup_policy(conn, instance_id))
            .await
    }

    async fn queue_copy_of_latest_set(
        &self,
        instance_id: i64,
        dest_region_id: &str,
        since: Timestamp,
    ) -> Result<Option<i64>> {
        let dest = dest_region_id.to_string();
        self.write(move |tx| cross_policy::queue_copy_of_latest_set(tx, instance_id, &dest, since))
            .await
    }

    async fn change_cross_backup_policy(
        &self,
        instance_id: i64,
        change: &PolicyChange,
        now: Timestamp,
    ) -> Result<PolicyChanged, PolicyChangeError> {
        let change = change.clone();
        // A refusal happens before anything is written: its empty transaction commits harmlessly.
        let outcome = self
            .write(move |tx| {
                match cross_policy::change_cross_backup_policy(tx, instance_id, &change, now) {
                    Ok(changed) => Ok(Ok(changed)),
                    Err(PolicyChangeError::Refused(r)) => Ok(Err(r)),
                    Err(PolicyChangeError::Catalog(e)) => Err(e),
                }
            })
            .await?;
        Ok(outcome?)
    }

    async fn claim_requested_backup_by(
        &self,
        now: Timestamp,
        lease: Duration,
        holder: &LeaseHolder,
    ) -> Result<Option<RequestedBackup>> {
        let holder = holder.clone();
        self.write(move |tx| {
            let claimed = requests::claim_requested_backup(tx, now, lease)?;
            if let Some(r) = &claimed {
                let token = r.lease_token.as_deref().unwrap_or_default();
                leases::record_holder(tx, "backup_requests", r.id, token, &holder)?;
            }
            Ok(claimed)
        })
        .await
    }

    async fn renew_requested_backup(
        &self,
        id: i64,
        lease_token: &str,
        until: Timestamp,
    ) -> Result<()> {
        let token = lease_token.to_string();
        self.write_quiet(move |tx| requests::renew_requested_backup(tx, id, &token, until))
            .await
    }

    async fn complete_requested_backup(
        &self,
        id: i64,
        lease_token: &str,
        backup_run_id: Option<i64>,
        now: Timestamp,
    ) -> Result<()> {
        let token = lease_token.to_string();
        self.write(move |tx| {
            requests::finish_requested_backup(
                tx,
                id,
                &token,
                RequestState::Done,
                backup_run_id,
                None,
                now,
            )
        })
        .await
    }

    async fn fail_requested_backup(
        &self,
        id: i64,
        lease_token: &str,
        backup_run_id: Option<i64>,
        error: &str,
        now: Timestamp,
    ) -> Result<()> {
        let (token, error) = (lease_token.to_string(), error.to_string());
        self.write(move |tx| {
            requests::finish_requested_backup(
                tx,
                id,
                &token,
                RequestState::Failed,
                backup_run_id,
                Some(&error),
                now,
            )
        })
        .await
    }

    async fn requested_backup(&self, id: i64) -> Result<Option<RequestedBackup>> {
        self.read(move |conn| requests::requested_backup(conn, id))
            .await
    }

    async fn open_requested_backups(&self, instance_id: i64) -> Result<Vec<RequestedBackup>> {
        self.read(move |conn| requests::open_requested_backups(conn, instance_id))
            .await
    }

    async fn record_backup_set(&self, new: &NewBackupSet) -> Result<RecordedBackupSet> {
        let new = new.clone();
        self.write(move |tx| backups::record_backup_set(tx, &new))
            .await
    }

    async fn backup_set(&self, id: i64) -> Result<Option<BackupSet>> {
        self.read(move |conn| backups::backup_set(conn, id)).await
    }

    async fn newest_backup_set(&self, instance_id: i64) -> Result<Option<BackupSet>> {
        self.read(move |conn| backups::newest_backup_set(conn, instance_id))
            .await
    }

    async fn put_instance_connection(&self, connection: &InstanceConnection) -> Result<()> {
        let connection = connection.clone();
        self.write(move |tx| agent::put_instance_connection(tx, &connection))
            .await
    }

    async fn instance_connection(&self, instance_id: i64) -> Result<Option<InstanceConnection>> {
        self.read(move |conn| agent::instance_connection(conn, instance_id))
            .await
    }

    async fn instance(&self, instance_id: i64) -> Result<Option<Instance>> {
        self.read(move |conn| instances::instance_by_id(conn, instance_id))
            .await
    }

    async fn start_backup_run(&self, new: &NewBackupRun) -> Result<BackupRun> {
        let new = new.clone();
        self.write(move |tx| agent::start_backup_run(tx, &new))
            .await
    }

    async fn complete_backup_run(
        &self,
        run_id: i64,
        set: &NewBackupSet,
        details: &BackupSetDetails,
    ) -> Result<RecordedBackupSet> {
        let (set, details) = (set.clone(), details.clone());
        self.write(move |tx| agent::complete_backup_run(tx, run_id, &set, &details))
            .await
    }

    async fn touch_backup_run(&self, run_id: i64, now: Timestamp) -> Result<bool> {
        // Quiet: a heartbeat changes nothing a listing shows.
        self.write_quiet(move |tx| agent::touch_backup_run(tx, run_id, now))
            .await
    }

    async fn fail_stale_backup_runs(
        &self,
        now: Timestamp,
        silent_since: Timestamp,
    ) -> Result<Vec<i64>> {
        self.write(move |tx| agent::fail_stale_backup_runs(tx, now, silent_since))
            .await
    }

    async fn fail_backup_run(
        &self,
        run_id: i64,
        finished_at: Timestamp,
        error: &str,
    ) -> Result<()> {
        let error = error.to_string();
        self.write(move |tx| agent::fail_backup_run(tx, run_id, finished_at, &error))
            .await
    }

    async fn backup_run(&self, run_id: i64) -> Result<Option<BackupRun>> {
        self.read(move |conn| agent::backup_run(conn, run_id)).await
    }

    async fn backup_run_of_set(&self, backup_set_id: i64) -> Result<Option<BackupRun>> {
        self.read(move |conn| agent::backup_run_of_set(conn, backup_set_id))
            .await
    }

    async fn backup_runs(&self, instance_id: i64, limit: u32) -> Result<Vec<BackupRun>> {
        self.read(move |conn| agent::backup_runs(conn, instance_id, limit))
            .await
    }

    async fn latest_completed_backup_run(
        &self,
        instance_id: i64,
        method: BackupMethod,
        instance_number: i64,
    ) -> Result<Option<BackupRun>> {
        self.read(move |conn| {
            agent::latest_completed_backup_run(conn, instance_id, method, instance_number)
        })
        .await
    }

    async fn put_backup_schedule(&self, schedule: &BackupSchedule) -> Result<()> {
        let schedule = schedule.clone();
        self.write(move |tx| agent::put_backup_schedule(tx, &schedule))
            .await
    }

    async fn delete_backup_schedule(&self, instance_id: i64) -> Result<bool> {
        self.write(move |tx| agent::delete_backup_schedule(tx, instance_id))
            .await
    }

    async fn backup_schedules(&self) -> Result<Vec<BackupSchedule>> {
        self.read(agent::backup_schedules).await
    }

    async fn claim_scheduled_backup(&self, instance_id: i64, day: &str) -> Result<bool> {
        let day = day.to_string();
        self.write(move |tx| agent::claim_scheduled_backup(tx, instance_id, &day))
            .await
    }

    async fn list_copies(&self, query: &CopyQuery) -> Result<CopyListing> {
        let query = query.clone();
        self.read(move |conn| copies::list_copies(conn, &query))
            .await
    }

    async fn copy(&self, cross_backup_id: i64) -> Result<Option<CrossRegionCopy>> {
        self.read(move |conn| copies::copy(conn, cross_backup_id))
            .await
    }

    async fn copy_counts(&self) -> Result<CopyCounts> {
        self.read(copies::copy_counts).await
    }

    async fn expired_copies(&self, now: Timestamp, limit: u32) -> Result<Vec<ExpiredCopy>> {
        self.read(move |conn| retention::expired_copies(conn, now, limit))
            .await
    }

    async fn begin_expiry(&self, copy_id: i64, now: Timestamp) -> Result<Option<ExpiringObject>> {
        self.write(move |tx| retention::begin_expiry(tx, copy_id, now))
            .await
    }

    async fn expiring_objects(&self, limit: u32) -> Result<Vec<ExpiringObject>> {
        self.read(move |conn| retention::expiring_objects(conn, limit))
            .await
    }

    async fn finish_expiry(&self, copy_id: i64) -> Result<bool> {
        self.write(move |tx| retention::finish_expiry(tx, copy_id))
            .await
    }

    async fn copy_freshness(&self) -> Result<Vec<CopyFreshness>> {
        self.read(retention::copy_freshness).await
    }

    async fn claim_copy_job_by(
        &self,
        now: Timestamp,
        lease: Duration,
        holder: &LeaseHolder,
    ) -> Result<Option<CopyJob>> {
        let holder = holder.clone();
        self.write(move |tx| {
            let claimed = queue::claim_copy_job(tx, now, lease)?;
            if let Some(job) = &claimed {
                leases::record_holder(tx, "copies", job.copy_id, &job.lease_token, &holder)?;
            }
            Ok(claimed)
        })
        .await
    }

    async fn renew_copy_lease(
        &self,
        copy_id: i64,
        lease_token: &str,
        until: Timestamp,
    ) -> Result<()> {
        let token = lease_token.to_string();
        self.write(move |tx| queue::renew_copy_lease(tx, copy_id, &token, until))
            .await
    }

    async fn complete_copy(&self, copy_id: i64, lease_token: &str, now: Timestamp) -> Result<()> {
        let token = lease_token.to_string();
        self.write(move |tx| queue::complete_copy(tx, copy_id, &token, now))
            .await
    }

    async fn fail_copy_attempt(
        &self,
        copy_id: i64,
        lease_token: &str,
        error: &str,
        retry_at: Option<Timestamp>,
    ) -> Result<()> {
        let (token, error) = (lease_token.to_string(), error.to_string());
        self.write(move |tx| queue::fail_copy_attempt(tx, copy_id, &token, &error, retry_at))
            .await
    }

    async fn save_copy_resume_state(
        &self,
        copy_id: i64,
        lease_token: &str,
        state: Option<&str>,
    ) -> Result<()> {
        let (token, state) = (lease_token.to_string(), state.map(str::to_string));
        // Quiet: a pending copy's upload checkpoint (one per part) changes nothing a listing shows.
        self.write_quiet(move |tx| {
            queue::save_copy_resume_state(tx, copy_id, &token, state.as_deref())
        })
        .await
    }

    async fn next_copy_due(&self) -> Result<Option<Timestamp>> {
        self.read(queue::next_copy_due).await
    }

    async fn held_leases(&self, queue: LeasedQueue, now: Timestamp) -> Result<Vec<HeldLease>> {
        self.read(move |conn| leases::held_leases(conn, queue, now))
            .await
    }

    async fn break_lease(
        &self,
        queue: LeasedQueue,
        id: i64,
        lease_token: &str,
        now: Timestamp,
    ) -> Result<bool> {
        let token = lease_token.to_string();
        self.write(move |tx| leases::break_lease(tx, queue, id, &token, now))
            .await
    }

    async fn claim_periodic_run(
        &self,
        task: &str,
        period: &str,
        now: Timestamp,
        lease: Duration,
        holder: &LeaseHolder,
    ) -> Result<Option<PeriodicRun>> {
        let (task, period, holder) = (task.to_string(), period.to_string(), holder.clone());
        self.write_quiet(move |tx| {
            leases::claim_periodic_run(tx, &task, &period, now, lease, &holder)
        })
        .await
    }

    async fn renew_periodic_run(&self, id: i64, lease_token: &str, until: Timestamp) -> Result<()> {
        let token = lease_token.to_string();
        self.write_quiet(move |tx| leases::update_periodic_run(tx, false, id, &token, until))
            .await
    }

    async fn finish_periodic_run(&self, id: i64, lease_token: &str, now: Timestamp) -> Result<()> {
        let token = lease_token.to_string();
        self.write_quiet(move |tx| leases::update_periodic_run(tx, true, id, &token, now))
            .await
    }

    async fn remember_nonces(&self, nonces: &[SeenNonce]) -> Result<()> {
        if nonces.is_empty() {
            return Ok(());
        }
        let nonces = nonces.to_vec();
        self.write_quiet(move |tx| nonces::remember_nonces(tx, &nonces))
            .await
    }

    async fn live_nonces(&self, now: Timestamp) -> Result<Vec<SeenNonce>> {
        self.read(move |conn| nonces::live_nonces(conn, now)).await
    }

    async fn prune_nonces(&self, now: Timestamp) -> Result<u64> {
        self.write_quiet(move |tx| nonces::prune_nonces(tx, now))
            .await
    }

    async fn change_token(&self) -> Result<u64> {
        let others: i64 = self
            .pool
            .write(|conn| {
                conn.pragma_query_value(None, "data_version", |r| r.get(0))
                    .db()
            })
            .await?;
        let ours = self.commits.load(std::sync::atomic::Ordering::Acquire);
        Ok((others as u64).wrapping_add(ours))
    }

    async fn link_signing_key(&self) -> Result<(String, String)> {
        if let Some(key) = self.read(nonces::read_link_signing_key).await? {
            return Ok(key);
        }
        self.write(nonces::create_link_signing_key).await
    }
}
