//! The PostgreSQL catalog: one database shared by any number of API servers, workers and CLI
//! commands, on any number of machines.
//!
//! Connections come from a `deadpool-postgres` pool; statements are prepared once per
//! connection. Every multi-statement operation runs in one transaction (READ COMMITTED, with row
//! locks where a read decides a write: job claims take `FOR UPDATE SKIP LOCKED`); listings read
//! in one REPEATABLE READ snapshot. Times are BIGINT unix seconds, exactly as in SQLite, so both
//! backends return equal results.
//!
//! The change token: every counted write adds one to a random row of `catalog_changes` inside
//! its own transaction, so the sum moves exactly when such a write commits, in any process.
//! Quiet writes (nonces, heartbeats, resume checkpoints) do not touch it.

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
mod queue;
mod requests;
mod retention;
mod rows;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Transaction};
use rand::Rng;
use xbak_domain::time::Timestamp;
use xbak_domain::{
    AccessKey, Account, BackupMethod, BackupRun, BackupSchedule, BackupSet, BackupSetDetails,
    CopyJob, CopyListing, CopyQuery, CrossRegionCopy, Instance, InstanceConnection, NewBackupRun,
    NewBackupSet, NewInstance, Policy, Region,
};
use xbak_domain::{CrossBackupPolicy, LeaseHolder, PolicyChange, RequestState, RequestedBackup};

use crate::{HeldLease, LeasedQueue, PeriodicRun};

use errors::{translate_pool, PgResultExt};

use crate::{
    Catalog, CatalogError, CopyCounts, CopyFreshness, ExpiredCopy, ExpiringObject,
    PolicyChangeError, PolicyChanged, RecordedBackupSet, Result, SeenNonce,
};

/// Connections per process. Statements are short; this keeps two cores busy with room for
/// waits, and a fleet of processes well under PostgreSQL's default 100 connections.
const POOL_SIZE: usize = 8;

/// How long a call waits for a pooled connection, or for a new one to be made, before it fails
/// with `Unavailable`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A [`Catalog`] in a PostgreSQL database.
pub struct PostgresCatalog {
    pool: Pool,
}

impl PostgresCatalog {
    /// Connects to the database at `url` (`postgres://user@host:port/dbname?…`, as libpq
    /// takes it) and brings its schema up to date. Safe while other processes do the same.
    /// `Unavailable` if the server cannot be reached.
    pub async fn open(url: &str) -> Result<PostgresCatalog> {
        let mut config = tokio_postgres::Config::from_str(url).map_err(|e| {
            // The URL may hold a password: say what is wrong, not what was given.
            CatalogError::Internal(format!("invalid PostgreSQL URL: {e}"))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("xbak");
        }
        let manager = Manager::from_config(
            config,
            tokio_postgres::NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(CONNECT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| {
                CatalogError::Internal(format!("cannot build the connection pool: {e}"))
            })?;
        let catalog = PostgresCatalog { pool };
        let mut client = catalog.client().await?;
        migrations::migrate(&mut client).await?;
        drop(client);
        Ok(catalog)
    }

    async fn client(&self) -> Result<Object> {
        self.pool.get().await.map_err(translate_pool)
    }
}

/// Starts a READ COMMITTED transaction.
async fn begin(client: &mut Object) -> Result<Transaction<'_>> {
    client.transaction().await.db()
}

/// Commits `tx`; a `counted` one moves the change token in the same transaction.
async fn commit(tx: Transaction<'_>, counted: bool) -> Result<()> {
    if counted {
        let slot = rand::rng().random_range(0..migrations::CHANGE_SLOTS);
        rows::execute(
            &tx,
            "UPDATE catalog_changes SET n = n + 1 WHERE slot = $1",
            &[&slot],
            || "change token".to_string(),
        )
        .await?;
    }
    tx.commit().await.db()
}

/// Runs `$body` (an expression using the transaction `$tx`, evaluating to a future of
/// `Result<T>`) in a transaction and commits it, counted (`write`) or not (`quiet`). On error the
/// transaction is dropped, which rolls it back.
macro_rules! transact {
    ($self:ident, $counted:expr, |$tx:ident| $body:expr) => {{
        let mut client = $self.client().await?;
        let $tx = begin(&mut client).await?;
        let out = $body.await?;
        commit($tx, $counted).await?;
        Ok(out)
    }};
}

macro_rules! write {
    ($self:ident, |$tx:ident| $body:expr) => {
        transact!($self, true, |$tx| $body)
    };
}

macro_rules! write_quiet {
    ($self:ident, |$tx:ident| $body:expr) => {
        transact!($self, false, |$tx| $body)
    };
}

/// Runs `$body` (using the pooled connection `$c`) outside any explicit transaction.
macro_rules! read {
    ($self:ident, |$c:ident| $body:expr) => {{
        let client = $self.client().await?;
        let $c = &client;
        $body.await
    }};
}

#[async_trait]
impl Catalog for PostgresCatalog {
    async fn create_account(&self, name: &str) -> Result<(Account, AccessKey)> {
        write!(self, |tx| accounts::create_account(&tx, name))
    }

    async fn account_by_name(&self, name: &str) -> Result<Option<Account>> {
        read!(self, |c| accounts::account_by_name(c, name))
    }

    async fn access_key(&self, access_key_id: &str) -> Result<Option<AccessKey>> {
        read!(self, |c| accounts::access_key(c, access_key_id))
    }

    async fn put_region(&self, region: &Region) -> Result<()> {
        write!(self, |tx| instances::put_region(&tx, region))
    }

    async fn region(&self, region_id: &str) -> Result<Option<Region>> {
        read!(self, |c| instances::region(c, region_id))
    }

    async fn regions(&self) -> Result<Vec<Region>> {
        read!(self, |c| instances::regions(c))
    }

    async fn create_instance(&self, new: &NewInstance) -> Result<Instance> {
        write!(self, |tx| instances::create_instance(&tx, new))
    }

    async fn instance_by_db_instance_id(&self, db_instance_id: &str) -> Result<Option<Instance>> {
        read!(self, |c| instances::instance_by_db_instance_id(
            c,
            db_instance_id
        ))
    }

    async fn put_policy(&self, policy: &Policy) -> Result<Policy> {
        write!(self, |tx| instances::put_policy(&tx, policy))
    }

    async fn policy(&self, instance_id: i64) -> Result<Option<Policy>> {
        read!(self, |c| instances::policy(c, instance_id))
    }

    async fn put_cross_backup_policy(
        &self,
        policy: &Policy,
        log_backup_enabled: bool,
    ) -> Result<CrossBackupPolicy> {
        write!(self, |tx| cross_policy::put_cross_backup_policy(
            &tx,
            policy,
            log_backup_enabled
        ))
    }

    async fn cross_backup_policy(&self, instance_id: i64) -> Result<Option<CrossBackupPolicy>> {
        read!(self, |c| cross_policy::cross_backup_policy(c, instance_id))
    }

    async fn queue_copy_of_latest_set(
        &self,
        instance_id: i64,
        dest_region_id: &str,
        since: Timestamp,
    ) -> Result<Option<i64>> {
        write!(self, |tx| cross_policy::queue_copy_of_latest_set(
            &tx,
            instance_id,
            dest_region_id,
            since
        ))
    }

    async fn change_cross_backup_policy(
        &self,
        instance_id: i64,
        change: &PolicyChange,
        now: Timestamp,
    ) -> Result<PolicyChanged, PolicyChangeError> {
        // A refusal drops the transaction, rolling back the instance's row lock and nothing else.
        write!(self, |tx| cross_policy::change_cross_backup_policy(
            &tx,
            instance_id,
            change,
            now
        ))
    }

    async fn claim_requested_backup_by(
        &self,
        now: Timestamp,
        lease: Duration,
        holder: &LeaseHolder,
    ) -> Result<Option<RequestedBackup>> {
        write!(self, |tx| async {
            let claimed = requests::claim_requested_backup(&tx, now, lease).await?;
            if let Some(r) = &claimed {
                let token = r.lease_token.as_deref().unwrap_or_default();
                leases::record_holder(&tx, "backup_requests", r.id, token, holder).await?;
            }
            Ok(claimed)
        })
    }

    async fn renew_requested_backup(
        &self,
        id: i64,
        lease_token: &str,
        until: Timestamp,
    ) -> Result<()> {
        write_quiet!(self, |tx| requests::renew_requested_backup(
            &tx,
            id,
            lease_token,
            until
        ))
    }

    async fn complete_requested_backup(
        &self,
        id: i64,
        lease_token: &str,
        backup_run_id: Option<i64>,
        now: Timestamp,
    ) -> Result<()> {
        write!(self, |tx| requests::finish_requested_backup(
            &tx,
            id,
            lease_token,
            RequestState::Done,
            backup_run_id,
            None,
            now
        ))
    }

    async fn fail_requested_backup(
        &self,
        id: i64,
        lease_token: &str,
        backup_run_id: Option<i64>,
        error: &str,
        now: Timestamp,
    ) -> Result<()> {
        write!(self, |tx| requests::finish_requested_backup(
            &tx,
            id,
            lease_token,
            RequestState::Failed,
            backup_run_id,
            Some(error),
            now
        ))
    }

    async fn requested_backup(&self, id: i64) -> Result<Option<RequestedBackup>> {
        read!(self, |c| requests::requested_backup(c, id))
    }

    async fn open_requested_backups(&self, instance_id: i64) -> Result<Vec<RequestedBackup>> {
        read!(self, |c| requests::open_requested_backups(c, instance_id))
    }

    async fn record_backup_set(&self, new: &NewBackupSet) -> Result<RecordedBackupSet> {
        write!(self, |tx| backups::record_backup_set(&tx, new))
    }

    async fn backup_set(&self, id: i64) -> Result<Option<BackupSet>> {
        read!(self, |c| backups::backup_set(c, id))
    }

    async fn newest_backup_set(&self, instance_id: i64) -> Result<Option<BackupSet>> {
        read!(self, |c| backups::newest_backup_set(c, instance_id))
    }

    async fn list_copies(&self, query: &CopyQuery) -> Result<CopyListing> {
        let mut client = self.client().await?;
        copies::list_copies(&mut client, query).await
    }

    async fn copy(&self, cross_backup_id: i64) -> Result<Option<CrossRegionCopy>> {
        read!(self, |c| copies::copy(c, cross_backup_id))
    }

    async fn copy_counts(&self) -> Result<CopyCounts> {
        read!(self, |c| copies::copy_counts(c))
    }

    async fn expired_copies(&self, now: Timestamp, limit: u32) -> Result<Vec<ExpiredCopy>> {
        read!(self, |c| retention::expired_copies(c, now, limit))
    }

    async fn begin_expiry(&self, copy_id: i64, now: Timestamp) -> Result<Option<ExpiringObject>> {
        write!(self, |tx| retention::begin_expiry(&tx, copy_id, now))
    }

    async fn expiring_objects(&self, limit: u32) -> Result<Vec<ExpiringObject>> {
        read!(self, |c| retention::expiring_objects(c, limit))
    }

    async fn finish_expiry(&self, copy_id: i64) -> Result<bool> {
        write!(self, |tx| retention::finish_expiry(&tx, copy_id))
    }

    async fn copy_freshness(&self) -> Result<Vec<CopyFreshness>> {
        read!(self, |c| retention::copy_freshness(c))
    }

    async fn claim_copy_job_by(
        &self,
        now: Timestamp,
        lease: Duration,
        holder: &LeaseHolder,
    ) -> Result<Option<CopyJob>> {
        write!(self, |tx| async {
            let claimed = queue::claim_copy_job(&tx, now, lease).await?;
            if let Some(job) = &claimed {
                leases::record_holder(&tx, "copies", job.copy_id, &job.lease_token, holder).await?;
            }
            Ok(claimed)
        })
    }

    async fn renew_copy_lease(
        &self,
        copy_id: i64,
        lease_token: &str,
        until: Timestamp,
    ) -> Result<()> {
        write!(self, |tx| queue::renew_copy_lease(
            &tx,
            copy_id,
            lease_token,
            until
        ))
    }

    async fn complete_copy(&self, copy_id: i64, lease_token: &str, now: Timestamp) -> Result<()> {
        write!(self, |tx| queue::complete_copy(
            &tx,
            copy_id,
            lease_token,
            now
        ))
    }

    async fn fail_copy_attempt(
        &self,
        copy_id: i64,
        lease_token: &str,
        error: &str,
        retry_at: Option<Timestamp>,
    ) -> Result<()> {
        write!(self, |tx| queue::fail_copy_attempt(
            &tx,
            copy_id,
            lease_token,
            error,
            retry_at
        ))
    }

    async fn save_copy_resume_state(
        &self,
        copy_id: i64,
        lease_token: &str,
        state: Option<&str>,
    ) -> Result<()> {
        // Quiet: a pending copy's upload checkpoint changes nothing a listing shows.
        write_quiet!(self, |tx| queue::save_copy_resume_state(
            &tx,
            copy_id,
            lease_token,
            state
        ))
    }

    async fn next_copy_due(&self) -> Result<Option<Timestamp>> {
        read!(self, |c| queue::next_copy_due(c))
    }

    async fn put_instance_connection(&self, connection: &InstanceConnection) -> Result<()> {
        write!(self, |tx| agent::put_instance_connection(&tx, connection))
    }

    async fn instance_connection(&self, instance_id: i64) -> Result<Option<InstanceConnection>> {
        read!(self, |c| agent::instance_connection(c, instance_id))
    }

    async fn instance(&self, instance_id: i64) -> Result<Option<Instance>> {
        read!(self, |c| instances::instance_by_id(c, instance_id))
    }

    async fn start_backup_run(&self, new: &NewBackupRun) -> Result<BackupRun> {
        write!(self, |tx| agent::start_backup_run(&tx, new))
    }

    async fn complete_backup_run(
        &self,
        run_id: i64,
        set: &NewBackupSet,
        details: &BackupSetDetails,
    ) -> Result<RecordedBackupSet> {
        write!(self, |tx| agent::complete_backup_run(
            &tx, run_id, set, details
        ))
    }

    async fn fail_backup_run(
        &self,
        run_id: i64,
        finished_at: Timestamp,
        error: &str,
    ) -> Result<()> {
        write!(self, |tx| agent::fail_backup_run(
            &tx,
            run_id,
            finished_at,
            error
        ))
    }

    async fn touch_backup_run(&self, run_id: i64, now: Timestamp) -> Result<bool> {
        // Quiet: a heartbeat changes nothing a listing shows.
        write_quiet!(self, |tx| agent::touch_backup_run(&tx, run_id, now))
    }

    async fn fail_stale_backup_runs(
        &self,
        now: Timestamp,
        silent_since: Timestamp,
    ) -> Result<Vec<i64>> {
        write!(self, |tx| agent::fail_stale_backup_runs(
            &tx,
            now,
            silent_since
        ))
    }

    async fn backup_run(&self, run_id: i64) -> Result<Option<BackupRun>> {
        read!(self, |c| agent::backup_run(c, run_id))
    }

    async fn backup_run_of_set(&self, backup_set_id: i64) -> Result<Option<BackupRun>> {
        read!(self, |c| agent::backup_run_of_set(c, backup_set_id))
    }

    async fn backup_runs(&self, instance_id: i64, limit: u32) -> Result<Vec<BackupRun>> {
        read!(self, |c| agent::backup_runs(c, instance_id, limit))
    }

    async fn latest_completed_backup_run(
        &self,
        instance_id: i64,
        method: BackupMethod,
        instance_number: i64,
    ) -> Result<Option<BackupRun>> {
        read!(self, |c| agent::latest_completed_backup_run(
            c,
            instance_id,
            method,
            instance_number
        ))
    }

    async fn put_backup_schedule(&self, schedule: &BackupSchedule) -> Result<()> {
        write!(self, |tx| agent::put_backup_schedule(&tx, schedule))
    }

    async fn delete_backup_schedule(&self, instance_id: i64) -> Result<bool> {
        write!(self, |tx| agent::delete_backup_schedule(&tx, instance_id))
    }

    async fn backup_schedules(&self) -> Result<Vec<BackupSchedule>> {
        read!(self, |c| agent::backup_schedules(c))
    }

    async fn claim_scheduled_backup(&self, instance_id: i64, day: &str) -> Result<bool> {
        write!(self, |tx| agent::claim_scheduled_backup(
            &tx,
            instance_id,
            day
        ))
    }

    async fn held_leases(&self, queue: LeasedQueue, now: Timestamp) -> Result<Vec<HeldLease>> {
        read!(self, |c| leases::held_leases(c, queue, now))
    }

    async fn break_lease(
        &self,
        queue: LeasedQueue,
        id: i64,
        lease_token: &str,
        now: Timestamp,
    ) -> Result<bool> {
        write!(self, |tx| leases::break_lease(
            &tx,
            queue,
            id,
            lease_token,
            now
        ))
    }

    async fn claim_periodic_run(
        &self,
        task: &str,
        period: &str,
        now: Timestamp,
        lease: Duration,
        holder: &LeaseHolder,
    ) -> Result<Option<PeriodicRun>> {
        write_quiet!(self, |tx| leases::claim_periodic_run(
            &tx, task, period, now, lease, holder
        ))
    }

    async fn renew_periodic_run(&self, id: i64, lease_token: &str, until: Timestamp) -> Result<()> {
        write_quiet!(self, |tx| leases::update_periodic_run(
            &tx,
            false,
            id,
            lease_token,
            until
        ))
    }

    async fn finish_periodic_run(&self, id: i64, lease_token: &str, now: Timestamp) -> Result<()> {
        write_quiet!(self, |tx| leases::update_periodic_run(
            &tx,
            true,
            id,
            lease_token,
            now
        ))
    }

    async fn remember_nonces(&self, nonces: &[SeenNonce]) -> Result<()> {
        if nonces.is_empty() {
            return Ok(());
        }
        write_quiet!(self, |tx| nonces::remember_nonces(&tx, nonces))
    }

    async fn live_nonces(&self, now: Timestamp) -> Result<Vec<SeenNonce>> {
        read!(self, |c| nonces::live_nonces(c, now))
    }

    async fn prune_nonces(&self, now: Timestamp) -> Result<u64> {
        write_quiet!(self, |tx| nonces::prune_nonces(&tx, now))
    }

    async fn change_token(&self) -> Result<u64> {
        read!(self, |c| async {
            let row = rows::query_one(
                c,
                "SELECT COALESCE(SUM(n), 0)::BIGINT FROM catalog_changes",
                &[],
            )
            .await?;
            Ok(rows::get::<i64>(&row, 0)? as u64)
        })
    }

    async fn link_signing_key(&self) -> Result<(String, String)> {
        if let Some(key) = read!(self, |c| nonces::read_link_signing_key(c))? {
            return Ok(key);
        }
        write!(self, |tx| nonces::create_link_signing_key(&tx))
    }
}
