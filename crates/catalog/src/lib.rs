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

mod binlog_sql;
mod columns;
#[macro_use]
mod methods;
#[cfg(feature = "testing")]
pub mod faulty;
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
    /// The caller's lease on a job (a copy, or a requested backup) expired or was taken over;
    /// its work must not be recorded. Holds the job's id.
    #[error("lease on job {0} is no longer held")]
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

/// One page of [`Catalog::cross_backup_instances`]: instances with their policies, and how many
/// match in all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrossBackupInstances {
    pub total: u64,
    pub items: Vec<(Instance, CrossBackupPolicy)>,
}

/// Counts of copies by state, for metrics and `replicate --once`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopyCounts {
    pub pending: u64,
    pub completed: u64,
    pub failed: u64,
}

/// Bytes a process holds in memory to check new replay claims against earlier ones, by part: the
/// SQLite catalog's view of its nonces file (`sqlite::nonces`); all 0 on PostgreSQL, where each
/// claim is a lookup. For metrics: what a server's memory beyond its caches goes to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClaimMemory {
    /// The claims logged since the last finished run, held exactly (a hash map's allocation).
    pub exact: u64,
    /// Its own filters of the claims it read, closed epochs.
    pub epochs: u64,
    /// The filter of the epoch claims go into now, allocated whole when it opens.
    pub open_epoch: u64,
    /// Stored filters of finished runs it did not read, until it reads them into epochs.
    pub stored_filters: u64,
    /// The run its upkeep is writing: its claims in key order and their filter.
    pub upkeep_run: u64,
}

/// What a process's checks of new replay claims against earlier ones have done since it started,
/// by step: the SQLite catalog's view (`sqlite::nonces`); all 0 on PostgreSQL, where each claim is
/// one statement. For metrics: how often a filter's "maybe" costs reads of the nonces file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClaimChecks {
    /// Nonces checked against the view.
    pub checked: u64,
    /// Filters that answered "maybe" for a nonce the exact part did not hold.
    pub maybes: u64,
    /// Point lookups in finished runs (or the schema-1 table) made to confirm those.
    pub lookups: u64,
}

/// What a process holds to check new replay claims, and what the checks did: see [`ClaimMemory`]
/// and [`ClaimChecks`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClaimView {
    /// What it holds, by part.
    pub memory: ClaimMemory,
    /// What its checks did since it started.
    pub checks: ClaimChecks,
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

/// A closed log file, in any region that holds it (the instance's own or the destination),
/// whose last event is older than its instance policy keeps log files (`retention_days`, the
/// policy enabled or not). Returned by [`Catalog::expired_log_files`] for the retention sweeper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiredLogFile {
    /// The file's row in `log_files` (one per region).
    pub log_file_id: i64,
    pub instance_id: i64,
    /// The region holding this row's object.
    pub region_id: String,
    /// The source's file name (`mysql-bin.000007`).
    pub file_name: String,
    /// The whole file's object key in `region_id`.
    pub object_key: String,
    pub last_event_at: Timestamp,
}

/// A log file tombstone: a closed log file whose row [`Catalog::begin_log_expiry`] deleted (so
/// no listing or recovery window shows it) and whose object retention has not deleted yet. It
/// names the object until [`Catalog::finish_log_expiry`] removes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiringLogObject {
    /// The former row's id in `log_files` (never reused).
    pub log_file_id: i64,
    pub instance_id: i64,
    pub region_id: String,
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

/// How far an instance's log backup reaches in its own region (the `/metrics` figures).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogBackupFreshness {
    pub db_instance_id: String,
    /// Time of the newest event stored in the instance's region: what it can restore to.
    pub recovery_point: Option<Timestamp>,
    /// Gaps recorded in its log (each breaks the recovery window there).
    pub gaps: u64,
    /// Time of the newest event copied to the destination region (closed files only, so far).
    pub destination_recovery_point: Option<Timestamp>,
}

/// Declares the [`Catalog`] trait from the list in [`methods`].
macro_rules! declare_catalog {
    (; $( $(#[$doc:meta])* $kind:ident fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty
        => $($route:ident)::+($($pass:expr),*); )*) => {
        /// Everything xbak persists. All methods are safe to call concurrently from many tasks and
        /// processes.
        #[async_trait]
        pub trait Catalog: Send + Sync + 'static {
            $( $(#[$doc])* async fn $name(&self, $($arg: $ty),*) -> $ret; )*
        }
    };
}

catalog_methods!(declare_catalog!);

pub use leases::{HeldLease, LeasedQueue, PeriodicRun};

/// Claims recorded as held by this process ([`leases::this_process`]).
impl dyn Catalog {
    /// [`Catalog::claim_requested_backup_by`] this process.
    pub async fn claim_requested_backup(
        &self,
        now: Timestamp,
        lease: Duration,
    ) -> Result<Option<RequestedBackup>> {
        self.claim_requested_backup_by(now, lease, leases::this_process())
            .await
    }

    /// [`Catalog::claim_copy_job_by`] this process.
    pub async fn claim_copy_job(&self, now: Timestamp, lease: Duration) -> Result<Option<CopyJob>> {
        self.claim_copy_job_by(now, lease, leases::this_process())
            .await
    }
}
