//! The catalog: everything xbak remembers. One [`Catalog`] trait, one adapter per backend
//! (`sqlite`, `postgres`), both held to the same conformance suite (the `suite` module, compiled
//! only with the `testing` feature that tests enable).
//!
//! The server and the workers talk only through the catalog, so API servers and copy workers can
//! run in different processes on one catalog. Long work is a durable queue here: a copy is a row
//! with a state, attempts, next attempt time, a lease and the last error.

use async_trait::async_trait;
use std::time::Duration;
use xbak_domain::time::Timestamp;
use xbak_domain::{
    AccessKey, Account, BackupMethod, BackupRun, BackupSchedule, BackupSet, BackupSetDetails,
    CopyJob, CopyListing, CopyQuery, CopyStatus, CrossRegionCopy, Instance, InstanceConnection,
    NewBackupRun, NewBackupSet, NewInstance, Policy, Region,
};
use xbak_domain::{CrossBackupPolicy, LeaseHolder, PolicyChange, PolicyRefusal, RequestedBackup};

mod lease_sql;
pub mod leases;
pub mod postgres;
mod rules;
pub mod sqlite;
#[cfg(feature = "testing")]
pub mod suite;

/// The small, backend-neutral set of failures every adapter translates its native errors into.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The named thing does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A uniqueness rule would be broken (duplicate name, id, key…).
    #[error("{0} already exists")]
    Conflict(String),
    /// The caller's lease on a job expired or was taken over; its work must not be recorded.
    #[error("lease on copy {0} is no longer held")]
    LeaseLost(i64),
    /// The backend is busy or unreachable; the same call may succeed if retried.
    #[error("catalog unavailable: {0}")]
    Unavailable(String),
    /// Anything else (corrupt data, failed migration, bug). Not retryable.
    #[error("catalog error: {0}")]
    Internal(String),
}

impl CatalogError {
    /// Whether retrying the same call can help.
    pub fn is_retryable(&self) -> bool {
        matches!(self, CatalogError::Unavailable(_))
    }
}

pub use leases::{HeldLease, LeasedQueue, PeriodicRun};

pub type Result<T, E = CatalogError> = std::result::Result<T, E>;

/// What the policy service's transaction ([`Catalog::change_cross_backup_policy`]) did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyChanged {
    /// The stored policy; `None` when nothing was stored (turning off a policy that never existed).
    pub stored: Option<CrossBackupPolicy>,
    /// `CrossBackupId` of the copy of the newest recent set, queued in the same transaction.
    pub queued_copy_id: Option<i64>,
    /// The requested backup: inserted in the same transaction when the policy was turned on with
    /// no recent set, or the instance's request still open then.
    pub requested_backup_id: Option<i64>,
}

/// Why [`Catalog::change_cross_backup_policy`] stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum PolicyChangeError {
    /// The change breaks a policy rule.
    #[error(transparent)]
    Refused(#[from] PolicyRefusal),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
}

/// A nonce seen on a signed request, remembered until `expires_at` to refuse replays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenNonce {
    pub access_key_id: String,
    pub nonce: String,
    pub expires_at: Timestamp,
}

/// Result of recording a backup set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedBackupSet {
    pub backup_set: BackupSet,
    /// `CrossBackupId` of the copy queued in the same transaction, when the policy is enabled.
    pub queued_copy_id: Option<i64>,
}

/// Counts of copies by state, for metrics and `replicate --once`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopyCounts {
    pub pending: u64,
    pub completed: u64,
    pub failed: u64,
}

/// A listed copy (Completed or Failed) whose backup set started longer ago than its instance's
/// policy keeps copies (`retention_days`, counted from the set's start time as Alibaba counts
/// from the backup time). Returned by [`Catalog::expired_copies`] for the retention sweeper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiredCopy {
    /// The copy's `CrossBackupId`.
    pub copy_id: i64,
    pub instance_id: i64,
    pub dest_region_id: String,
    /// Object key in the destination region (nothing was published there for Failed copies).
    pub object_key: String,
    pub status: CopyStatus,
    pub backup_started_at: Timestamp,
}

/// A tombstone: an expired copy whose row [`Catalog::begin_expiry`] deleted (so it is no longer
/// listed) and whose destination object retention has not deleted yet. It names the object until
/// [`Catalog::finish_expiry`] removes it, so no object is ever left without a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiringObject {
    /// The former copy's `CrossBackupId` (never reused).
    pub copy_id: i64,
    pub instance_id: i64,
    pub dest_region_id: String,
    /// Object key in the destination region (possibly never published, for Failed copies).
    pub object_key: String,
}

/// How far one instance's cross-region copies are behind, for metrics. Times are the backup
/// sets' start times (the same clock as listings and retention).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyFreshness {
    pub instance_id: i64,
    pub db_instance_id: String,
    /// Start of the newest set with a Completed copy: the point the destination can restore to.
    pub recovery_point: Option<Timestamp>,
    /// Start of the oldest set newer than `recovery_point` whose copy is not Completed (pending,
    /// or failed for good): the copy lag is counted from it. `None` when every newer set is copied.
    pub oldest_uncopied: Option<Timestamp>,
}

/// Everything xbak persists. All methods are safe to call concurrently from many tasks and processes.
#[async_trait]
pub trait Catalog: Send + Sync + 'static {
    // --- accounts and AccessKeys ---

    /// Creates an account and its first AccessKey (random id `LTAI…` and secret). `Conflict` if the name exists.
    async fn create_account(&self, name: &str) -> Result<(Account, AccessKey)>;
    async fn account_by_name(&self, name: &str) -> Result<Option<Account>>;
    /// Looks up an AccessKey (enabled or not) by its id.
    async fn access_key(&self, access_key_id: &str) -> Result<Option<AccessKey>>;

    // --- regions ---

    /// Adds a region, or changes its store URL if it exists.
    async fn put_region(&self, region: &Region) -> Result<()>;
    async fn region(&self, region_id: &str) -> Result<Option<Region>>;
    async fn regions(&self) -> Result<Vec<Region>>;

    // --- instances and policies ---

    /// `Conflict` if the DBInstanceId exists; `NotFound` if its region or account does not.
    async fn create_instance(&self, new: &NewInstance) -> Result<Instance>;
    async fn instance_by_db_instance_id(&self, db_instance_id: &str) -> Result<Option<Instance>>;
    /// Sets the instance's cross-region policy (enabled, destination, retention). `NotFound` if the
    /// destination region is unknown.
    async fn put_policy(&self, policy: &Policy) -> Result<Policy>;
    async fn policy(&self, instance_id: i64) -> Result<Option<Policy>>;
    /// Sets the policy as [`Catalog::put_policy`] does, plus the log-backup switch (stored only
    /// when the policy is on) and the enable times (a switch turned on gets `updated_at`; one
    /// already on, or turned off, keeps its time). `NotFound` as `put_policy`.
    async fn put_cross_backup_policy(
        &self,
        policy: &Policy,
        log_backup_enabled: bool,
    ) -> Result<CrossBackupPolicy>;
    /// The policy with its log switch and enable times.
    async fn cross_backup_policy(&self, instance_id: i64) -> Result<Option<CrossBackupPolicy>>;
    /// Queues the copy of the instance's newest backup set started at or after `since` to
    /// `dest_region_id` (what turning a policy on does), unless that set already has a copy
    /// there. Returns the new `CrossBackupId`. `NotFound` if the instance or region does not exist.
    async fn queue_copy_of_latest_set(
        &self,
        instance_id: i64,
        dest_region_id: &str,
        since: Timestamp,
    ) -> Result<Option<i64>>;

    /// The policy service: in one transaction, merges `change` into the instance's stored policy
    /// by the rules of [`xbak_domain::policy`] (values not given keep the stored ones; defaults
    /// only when nothing is stored), checks the destination, stores the policy, and when it is on
    /// queues the copy of the newest set started in the last
    /// [`LATEST_SET_WINDOW_HOURS`](xbak_domain::policy::LATEST_SET_WINDOW_HOURS), or, when the
    /// change turned it on and there is no such set, inserts a requested backup (trigger
    /// `policy`; none when the instance has one open). `now` stamps the policy and the request.
    /// `NotFound` (as `Catalog`) if the instance does not exist.
    async fn change_cross_backup_policy(
        &self,
        instance_id: i64,
        change: &PolicyChange,
        now: Timestamp,
    ) -> Result<PolicyChanged, PolicyChangeError>;

    // --- requested backups (a queue claimed with leases, like copy jobs) ---

    /// Claims the oldest waiting request, or a claimed one whose lease expired (its worker
    /// died), with a fresh lease token valid for `lease`, held by this process; counts the attempt.
    async fn claim_requested_backup(
        &self,
        now: Timestamp,
        lease: Duration,
    ) -> Result<Option<RequestedBackup>> {
        self.claim_requested_backup_by(now, lease, leases::this_process())
            .await
    }
    /// [`Catalog::claim_requested_backup`], recording `holder` as the lease's holder.
    async fn claim_requested_backup_by(
        &self,
        now: Timestamp,
        lease: Duration,
        holder: &LeaseHolder,
    ) -> Result<Option<RequestedBackup>>;
    /// Extends a held lease; `LeaseLost` if the token no longer holds it.
    async fn renew_requested_backup(
        &self,
        id: i64,
        lease_token: &str,
        until: Timestamp,
    ) -> Result<()>;
    /// Marks the request done with the run it produced (or found running) and releases the
    /// lease; `LeaseLost` if the token no longer holds it.
    async fn complete_requested_backup(
        &self,
        id: i64,
        lease_token: &str,
        backup_run_id: Option<i64>,
        now: Timestamp,
    ) -> Result<()>;
    /// Marks the request failed for good with `error` (and the failed run, if one started);
    /// `LeaseLost` if the token no longer holds it.
    async fn fail_requested_backup(
        &self,
        id: i64,
        lease_token: &str,
        backup_run_id: Option<i64>,
        error: &str,
        now: Timestamp,
    ) -> Result<()>;
    /// A request in any state.
    async fn requested_backup(&self, id: i64) -> Result<Option<RequestedBackup>>;
    /// The instance's requests still waiting or claimed, oldest first.
    async fn open_requested_backups(&self, instance_id: i64) -> Result<Vec<RequestedBackup>>;

    // --- backup sets and copies ---

    /// Records a stored backup set; when the instance's policy is enabled, queues its cross-region
    /// copy in the same transaction. `Conflict` if a set with the same object key exists.
    async fn record_backup_set(&self, new: &NewBackupSet) -> Result<RecordedBackupSet>;
    async fn backup_set(&self, id: i64) -> Result<Option<BackupSet>>;
    /// The instance's backup set with the latest start time (registered or taken by the agent,
    /// any method, type or scale; ties go to the higher id), or `None` when it has none.
    async fn newest_backup_set(&self, instance_id: i64) -> Result<Option<BackupSet>>;
    /// One page of listed copies (Completed and Failed only) and the filtered total.
    async fn list_copies(&self, query: &CopyQuery) -> Result<CopyListing>;
    /// A copy in any state.
    async fn copy(&self, cross_backup_id: i64) -> Result<Option<CrossRegionCopy>>;
    async fn copy_counts(&self) -> Result<CopyCounts>;
    /// Listed copies (Completed or Failed) whose backup set started before `now` minus their
    /// instance policy's `retention_days`, enabled or not, oldest first, at most `limit`.
    /// Pending copies are never returned.
    async fn expired_copies(&self, now: Timestamp, limit: u32) -> Result<Vec<ExpiredCopy>>;
    /// Starts expiring a Completed or Failed copy: in one transaction, records its tombstone
    /// (destination region and object key, stamped `now`) and deletes its row, so it leaves
    /// listings, their totals and [`Catalog::copy`] at once while the tombstone still names its
    /// object. A counted write ([`Catalog::change_token`] moves). `None` if there is no such row
    /// (already expired, or pending: pending copies are never expired).
    async fn begin_expiry(&self, copy_id: i64, now: Timestamp) -> Result<Option<ExpiringObject>>;
    /// Tombstones left by [`Catalog::begin_expiry`] whose object is not known to be deleted yet,
    /// oldest first, at most `limit`.
    async fn expiring_objects(&self, limit: u32) -> Result<Vec<ExpiringObject>>;
    /// Removes a tombstone once its destination object is deleted; false if there is none
    /// (already finished).
    async fn finish_expiry(&self, copy_id: i64) -> Result<bool>;
    /// Copy freshness of every instance with a policy, ordered by `DBInstanceId`.
    async fn copy_freshness(&self) -> Result<Vec<CopyFreshness>>;

    // --- the copy job queue ---

    /// Claims the oldest due pending copy whose lease is free or expired, with a fresh lease
    /// token valid for `lease`, held by this process. Attempts are counted when an attempt
    /// ends, not when claimed.
    async fn claim_copy_job(&self, now: Timestamp, lease: Duration) -> Result<Option<CopyJob>> {
        self.claim_copy_job_by(now, lease, leases::this_process())
            .await
    }
    /// [`Catalog::claim_copy_job`], recording `holder` as the lease's holder.
    async fn claim_copy_job_by(
        &self,
        now: Timestamp,
        lease: Duration,
        holder: &LeaseHolder,
    ) -> Result<Option<CopyJob>>;
    /// Extends a held lease; `LeaseLost` if the token no longer holds it.
    async fn renew_copy_lease(
        &self,
        copy_id: i64,
        lease_token: &str,
        until: Timestamp,
    ) -> Result<()>;
    /// Marks the copy Completed and releases the lease; `LeaseLost` if the token no longer holds it.
    async fn complete_copy(&self, copy_id: i64, lease_token: &str, now: Timestamp) -> Result<()>;
    /// Ends a failed attempt: attempts += 1, last error kept; pending again at `retry_at`, or
    /// Failed for good when `retry_at` is `None`. `LeaseLost` if the token no longer holds it.
    async fn fail_copy_attempt(
        &self,
        copy_id: i64,
        lease_token: &str,
        error: &str,
        retry_at: Option<Timestamp>,
    ) -> Result<()>;
    /// Saves (or, with `None`, clears) the resume state of a pending copy whose lease the token
    /// holds: the next claim of the job hands it back in [`CopyJob::resume_state`]. Failed
    /// attempts keep it; completion clears it. `LeaseLost` if the token no longer holds it.
    async fn save_copy_resume_state(
        &self,
        copy_id: i64,
        lease_token: &str,
        state: Option<&str>,
    ) -> Result<()>;
    /// Earliest `next_attempt_at` among pending copies, so idle workers know when to wake. A
    /// claimed copy is not due before its lease ends.
    async fn next_copy_due(&self) -> Result<Option<Timestamp>>;

    // --- the backup agent: database connections, runs, daily schedules ---

    /// Sets how to reach an instance's database servers, replacing what was set. `NotFound` if
    /// the instance does not exist. DSNs hold passwords: adapters never log them.
    async fn put_instance_connection(&self, connection: &InstanceConnection) -> Result<()>;
    async fn instance_connection(&self, instance_id: i64) -> Result<Option<InstanceConnection>>;
    /// An instance by its catalog id.
    async fn instance(&self, instance_id: i64) -> Result<Option<Instance>>;
    /// Records that a backup run started (status Running). `NotFound` if the instance does not exist.
    async fn start_backup_run(&self, new: &NewBackupRun) -> Result<BackupRun>;
    /// Records the run's backup set exactly as [`Catalog::record_backup_set`] does (queueing its
    /// copy under an enabled policy) and marks the run Completed with `details`, in one
    /// transaction. `NotFound` if the run does not exist, `Conflict` if it already finished.
    async fn complete_backup_run(
        &self,
        run_id: i64,
        set: &NewBackupSet,
        details: &BackupSetDetails,
    ) -> Result<RecordedBackupSet>;
    /// Marks a running run Failed with its error; no backup set is recorded. `NotFound` if the
    /// run does not exist, `Conflict` if it already finished.
    async fn fail_backup_run(&self, run_id: i64, finished_at: Timestamp, error: &str)
        -> Result<()>;
    /// Records that a running run's agent is alive at `now`; false if the run is not running
    /// (finished, or failed as interrupted meanwhile).
    async fn touch_backup_run(&self, run_id: i64, now: Timestamp) -> Result<bool>;
    /// Marks Failed ("interrupted") every running run whose last heartbeat (or start, before
    /// its first) is older than `silent_since`: its agent died. Returns their ids.
    async fn fail_stale_backup_runs(
        &self,
        now: Timestamp,
        silent_since: Timestamp,
    ) -> Result<Vec<i64>>;
    async fn backup_run(&self, run_id: i64) -> Result<Option<BackupRun>>;
    /// The completed run that recorded a backup set (none for registered sets).
    async fn backup_run_of_set(&self, backup_set_id: i64) -> Result<Option<BackupRun>>;
    /// An instance's runs in every state, newest first, at most `limit`.
    async fn backup_runs(&self, instance_id: i64, limit: u32) -> Result<Vec<BackupRun>>;
    /// The newest completed whole-instance run of `method` taken from node `instance_number`:
    /// the base of the next incremental.
    async fn latest_completed_backup_run(
        &self,
        instance_id: i64,
        method: BackupMethod,
        instance_number: i64,
    ) -> Result<Option<BackupRun>>;
    /// Sets an instance's daily schedule (keeping `last_run_day` when replacing one).
    async fn put_backup_schedule(&self, schedule: &BackupSchedule) -> Result<()>;
    /// Removes an instance's schedule; false if it had none.
    async fn delete_backup_schedule(&self, instance_id: i64) -> Result<bool>;
    async fn backup_schedules(&self) -> Result<Vec<BackupSchedule>>;
    /// Claims the run of `day`'s window (`yyyy-mm-dd`): true for exactly one caller per day and
    /// enabled schedule, however many schedulers ask.
    async fn claim_scheduled_backup(&self, instance_id: i64, day: &str) -> Result<bool>;

    // --- lease holders, periodic runs ---

    /// The leases on `queue` that have not run out at `now` (jobs in progress somewhere), with
    /// their holders, by id.
    async fn held_leases(&self, queue: LeasedQueue, now: Timestamp) -> Result<Vec<HeldLease>>;
    /// Ends the lease on row `id` of `queue` if `lease_token` still holds it (its holder died:
    /// see [`leases::take_over_dead_leases`]), so the job is claimable at `now`; saved resume
    /// state is kept. False if the token no longer holds it (another claimer was first).
    async fn break_lease(
        &self,
        queue: LeasedQueue,
        id: i64,
        lease_token: &str,
        now: Timestamp,
    ) -> Result<bool>;
    /// Claims the run of `task` (a schedule, a sweep) for `period` (a day, an hour…): the first
    /// caller inserts it, with a lease for `lease` held by `holder`; later callers get `None`
    /// while that lease holds and once the run is finished, and take it over (attempts + 1) when
    /// the lease ran out (or was broken) unfinished. So each period runs once to completion
    /// however many workers ask, and a run whose worker died is run again.
    async fn claim_periodic_run(
        &self,
        task: &str,
        period: &str,
        now: Timestamp,
        lease: Duration,
        holder: &LeaseHolder,
    ) -> Result<Option<PeriodicRun>>;
    /// Extends a held periodic run's lease; `LeaseLost` if the token no longer holds it.
    async fn renew_periodic_run(&self, id: i64, lease_token: &str, until: Timestamp) -> Result<()>;
    /// Marks the run finished (never claimable again) and releases its lease; `LeaseLost` if the
    /// token no longer holds it.
    async fn finish_periodic_run(&self, id: i64, lease_token: &str, now: Timestamp) -> Result<()>;

    // --- replay protection and server secrets ---

    /// Durably remembers nonces; duplicates are ignored.
    async fn remember_nonces(&self, nonces: &[SeenNonce]) -> Result<()>;
    /// Nonces that have not expired at `now` (loaded on start so replays are refused across restarts).
    async fn live_nonces(&self, now: Timestamp) -> Result<Vec<SeenNonce>>;
    /// Deletes expired nonces; returns how many.
    async fn prune_nonces(&self, now: Timestamp) -> Result<u64>;
    /// A number that changes whenever any process commits a change to the catalog (it may also
    /// change when nothing visible did; this process's own nonce and copy-resume-state writes may not change it). Lets caches of catalog reads know they are stale
    /// without re-reading: poll it, and drop what was read under an older token.
    async fn change_token(&self) -> Result<u64>;
    /// The server's download-link signing key `(key id, secret)`, created on first use and stable after.
    async fn link_signing_key(&self) -> Result<(String, String)>;
}
