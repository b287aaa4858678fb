//! The one list of [`Catalog`](crate::Catalog) methods: their signatures and docs, and how each
//! backend serves them. The trait and both adapters' implementations (and the testing
//! `FaultyCatalog`) are generated from it ([`implement_catalog`] for the implementations), so adding a method is one entry here plus its area
//! function in each backend.
//!
//! An entry is `KIND fn NAME(ARGS) -> RESULT => AREA::FUNCTION(PASSED);`: the adapters call
//! `AREA::FUNCTION` of their own backend with their connection or transaction first, then the
//! `PASSED` expressions (over the method's arguments). `KIND` says how:
//!
//! - `read`: on a read connection, outside any explicit transaction;
//! - `snapshot`: a read of several statements that must agree; the area function opens its own
//!   read-only snapshot on the connection (PostgreSQL hands it over mutably);
//! - `quick_read`, `quick_snapshot`: a `read` or `snapshot` on the API's hot path whose cost an
//!   index bounds (a key lookup, one page of one instance's listing), never a scan of a table:
//!   SQLite serves it on the caller's thread instead of handing it to the blocking pool (see
//!   `sqlite::pool`), PostgreSQL on a connection shared by concurrent callers (see
//!   `postgres::readers`);
//! - `write`: in a write transaction, committed when the function returns `Ok` (rolled back on
//!   an error), counted by
//!   [`Catalog::change_token`](crate::Catalog::change_token);
//! - `quiet`: a write not counted by the change token, for bookkeeping no cached read depends on
//!   (heartbeats, lease renewals of requests, resume checkpoints, nonces);
//! - `by_hand`: the adapter's own inherent method `Self::FUNCTION(&self, PASSED)` does it.

/// Calls `$then!` with `$args`, a `;`, then the list of [`Catalog`](crate::Catalog) methods (see
/// the module docs).
macro_rules! catalog_methods {
    ($then:ident! $($args:tt)*) => {
        $then! { $($args)*;
            // --- accounts and AccessKeys ---

            /// Creates an account and its first AccessKey (random id `LTAI…` and secret). `Conflict` if the name exists.
            write fn create_account(name: &str) -> Result<(Account, AccessKey)>
                => accounts::create_account(name);

            read fn account_by_name(name: &str) -> Result<Option<Account>>
                => accounts::account_by_name(name);

            /// Looks up an AccessKey (enabled or not) by its id.
            quick_read fn access_key(access_key_id: &str) -> Result<Option<AccessKey>>
                => accounts::access_key(access_key_id);

            // --- regions ---

            /// Adds a region, or changes its store URL if it exists.
            write fn put_region(region: &Region) -> Result<()> => instances::put_region(region);

            read fn region(region_id: &str) -> Result<Option<Region>>
                => instances::region(region_id);

            read fn regions() -> Result<Vec<Region>> => instances::regions();

            // --- instances and policies ---

            /// `Conflict` if the DBInstanceId exists; `NotFound` if its region or account does not.
            write fn create_instance(new: &NewInstance) -> Result<Instance>
                => instances::create_instance(new);

            quick_read fn instance_by_db_instance_id(db_instance_id: &str) -> Result<Option<Instance>>
                => instances::instance_by_db_instance_id(db_instance_id);

            /// Sets the instance's cross-region policy (enabled, destination, retention). `NotFound` if the
            /// destination region is unknown.
            write fn put_policy(policy: &Policy) -> Result<Policy> => instances::put_policy(policy);

            read fn policy(instance_id: i64) -> Result<Option<Policy>>
                => instances::policy(instance_id);

            /// Sets the policy as [`Catalog::put_policy`] does, plus the log-backup switch (stored only
            /// when the policy is on) and the enable times (a switch turned on gets `updated_at`; one
            /// already on, or turned off, keeps its time). `NotFound` as `put_policy`.
            write fn put_cross_backup_policy(policy: &Policy, log_backup_enabled: bool) -> Result<CrossBackupPolicy>
                => cross_policy::put_cross_backup_policy(policy, log_backup_enabled);

            /// The policy with its log switch and enable times.
            read fn cross_backup_policy(instance_id: i64) -> Result<Option<CrossBackupPolicy>>
                => cross_policy::cross_backup_policy(instance_id);

            /// The instances of `account_id` in `region_id` whose cross-region backup is on (only
            /// those named in `db_instance_ids`, when it is not empty), ordered by `DBInstanceId`,
            /// each with its policy: page `page_number` (from 1) of `page_size`, and how many there
            /// are in all, read in one snapshot.
            snapshot fn cross_backup_instances(account_id: i64, region_id: &str, db_instance_ids: &[String], page_size: u32, page_number: u32) -> Result<CrossBackupInstances>
                => cross_instances::cross_backup_instances(account_id, region_id, db_instance_ids, page_size, page_number);

            /// Queues the copy of the instance's newest backup set started at or after `since` to
            /// `dest_region_id` (what turning a policy on does), unless that set already has a copy
            /// there. Returns the new `CrossBackupId`. `NotFound` if the instance or region does not exist.
            write fn queue_copy_of_latest_set(instance_id: i64, dest_region_id: &str, since: Timestamp) -> Result<Option<i64>>
                => cross_policy::queue_copy_of_latest_set(instance_id, dest_region_id, since);

            /// The policy service: in one transaction, merges `change` into the instance's stored policy
            /// by the rules of [`xbak_domain::policy`] (values not given keep the stored ones; defaults
            /// only when nothing is stored), checks the destination, stores the policy, and when it is on
            /// queues the copy of the newest set started in the last
            /// [`LATEST_SET_WINDOW_HOURS`](xbak_domain::policy::LATEST_SET_WINDOW_HOURS), or, when the
            /// change turned it on and there is no such set, inserts a requested backup (trigger
            /// `policy`; none when the instance has one open). `now` stamps the policy and the request.
            /// `NotFound` (as `Catalog`) if the instance does not exist.
            write fn change_cross_backup_policy(instance_id: i64, change: &PolicyChange, now: Timestamp) -> Result<PolicyChanged, PolicyChangeError>
                => cross_policy::change_cross_backup_policy(instance_id, change, now);

            // --- continuous binlog backup (one stream per instance, held with a lease) ---

            /// Claims the stream of an instance that has a connection and a policy with log backup
            /// on and no live streamer (never streamed, released, or its lease ran out), with a
            /// fresh lease token valid for `lease` held by `holder`; returns its durable position.
            write fn claim_binlog_stream_by(now: Timestamp, lease: Duration, holder: &LeaseHolder) -> Result<Option<xbak_domain::BinlogStreamClaim>>
                => binlogs::claim_binlog_stream(now, lease, holder);

            /// Extends a held stream lease to `until`; answers whether the instance still wants a
            /// streamer (log backup on, a connection). `LeaseLost` if the token no longer holds it.
            quiet fn renew_binlog_stream(instance_id: i64, lease_token: &str, until: Timestamp) -> Result<bool>
                => binlogs::renew_binlog_stream(instance_id, lease_token, until);

            /// Ends a held stream lease (the position stays); nothing if the token no longer holds it.
            quiet fn release_binlog_stream(instance_id: i64, lease_token: &str) -> Result<()>
                => binlogs::release_binlog_stream(instance_id, lease_token);

            /// Records what the streamer made durable (a published segment, a closed file, a gap)
            /// and moves its position there, in one transaction. `LeaseLost` if the token no longer
            /// holds the stream; `Conflict` if a segment or file does not continue the stored one.
            write fn advance_binlog_stream(instance_id: i64, lease_token: &str, progress: &xbak_domain::BinlogProgress, now: Timestamp) -> Result<()>
                => binlogs::advance_binlog_stream(instance_id, lease_token, progress, now);

            /// Records what `region_id` lacks of log file `file` (see
            /// [`LogFile::missing_from`](xbak_domain::LogFile::missing_from)) as copied there
            /// under the same keys, under the stream's lease: `true` if something was recorded
            /// now, `false` if nothing was missing, or if the instance's own region no longer
            /// holds the file (retention expired it: a copy must not bring it back). `LeaseLost`
            /// if the token no longer holds the stream.
            write fn record_log_copy(instance_id: i64, lease_token: &str, file: &xbak_domain::LogFile, region_id: &str, now: Timestamp) -> Result<bool>
                => binlogs::record_log_copy(instance_id, lease_token, file, region_id, now);

            /// The instance's durable binlog position; `None` before its first.
            read fn binlog_position(instance_id: i64) -> Result<Option<xbak_domain::BinlogPosition>>
                => binlogs::binlog_position(instance_id);

            /// The instance's log files in every region, by sequence, each with its segments.
            read fn log_files(instance_id: i64) -> Result<Vec<xbak_domain::LogFile>>
                => binlogs::log_files(instance_id);

            /// The instance's recorded log gaps, oldest first.
            read fn log_gaps(instance_id: i64) -> Result<Vec<xbak_domain::LogGap>>
                => binlogs::log_gaps(instance_id);

            /// Every instance with a binlog stream: its log backup's recovery point in its own
            /// region and its gap count, by `DBInstanceId`.
            read fn log_backup_freshness() -> Result<Vec<crate::LogBackupFreshness>>
                => binlogs::log_backup_freshness();

            // --- requested backups (a queue claimed with leases, like copy jobs) ---

            /// Claims the oldest waiting request, or a claimed one whose lease expired (its worker
            /// died), with a fresh lease token valid for `lease` held by `holder`; counts the
            /// attempt. `<dyn Catalog>::claim_requested_backup` claims for this process.
            write fn claim_requested_backup_by(now: Timestamp, lease: Duration, holder: &LeaseHolder) -> Result<Option<RequestedBackup>>
                => requests::claim_requested_backup(crate::rules::NewLease::new(now, lease, holder));

            /// Extends a held lease; `LeaseLost` if the token no longer holds it.
            quiet fn renew_requested_backup(id: i64, lease_token: &str, until: Timestamp) -> Result<()>
                => leases::report(id, lease_token, crate::lease_sql::Report::RenewRequest(until));

            /// Marks the request done with the run it produced (or found running) and releases the
            /// lease; `LeaseLost` if the token no longer holds it.
            write fn complete_requested_backup(id: i64, lease_token: &str, backup_run_id: Option<i64>, now: Timestamp) -> Result<()>
                => leases::report(id, lease_token, crate::lease_sql::Report::FinishRequest {
                    outcome: xbak_domain::RequestState::Done, backup_run_id, error: None, now,
                });

            /// Marks the request failed for good with `error` (and the failed run, if one started);
            /// `LeaseLost` if the token no longer holds it.
            write fn fail_requested_backup(id: i64, lease_token: &str, backup_run_id: Option<i64>, error: &str, now: Timestamp) -> Result<()>
                => leases::report(id, lease_token, crate::lease_sql::Report::FinishRequest {
                    outcome: xbak_domain::RequestState::Failed, backup_run_id, error: Some(error), now,
                });

            /// A request in any state.
            read fn requested_backup(id: i64) -> Result<Option<RequestedBackup>>
                => requests::requested_backup(id);

            /// The instance's requests still waiting or claimed, oldest first.
            read fn open_requested_backups(instance_id: i64) -> Result<Vec<RequestedBackup>>
                => requests::open_requested_backups(instance_id);

            // --- backup sets and copies ---

            /// Records a stored backup set; when the instance's policy is enabled, queues its cross-region
            /// copy in the same transaction. `Conflict` if a set with the same object key exists.
            write fn record_backup_set(new: &NewBackupSet) -> Result<RecordedBackupSet>
                => backups::record_backup_set(new);

            read fn backup_set(id: i64) -> Result<Option<BackupSet>> => backups::backup_set(id);

            /// The instance's backup set with the latest start time (registered or taken by the agent,
            /// any method, type or scale; ties go to the higher id), or `None` when it has none.
            read fn newest_backup_set(instance_id: i64) -> Result<Option<BackupSet>>
                => backups::newest_backup_set(instance_id);

            /// One page of listed copies (Completed and Failed only) and the filtered total.
            quick_snapshot fn list_copies(query: &CopyQuery) -> Result<CopyListing>
                => copies::list_copies(query);

            /// A copy in any state.
            quick_read fn copy(cross_backup_id: i64) -> Result<Option<CrossRegionCopy>>
                => copies::copy(cross_backup_id);

            read fn copy_counts() -> Result<CopyCounts> => copies::copy_counts();

            /// Listed copies (Completed or Failed) whose backup set started before `now` minus their
            /// instance policy's `retention_days`, enabled or not, oldest first, at most `limit`.
            /// Pending copies are never returned.
            read fn expired_copies(now: Timestamp, limit: u32) -> Result<Vec<ExpiredCopy>>
                => retention::expired_copies(now, limit);

            /// Starts expiring a Completed or Failed copy: in one transaction, records its tombstone
            /// (destination region and object key, stamped `now`) and deletes its row, so it leaves
            /// listings, their totals and [`Catalog::copy`] at once while the tombstone still names its
            /// object. A counted write ([`Catalog::change_token`] moves). `None` if there is no such row
            /// (already expired, or pending: pending copies are never expired).
            write fn begin_expiry(copy_id: i64, now: Timestamp) -> Result<Option<ExpiringObject>>
                => retention::begin_expiry(copy_id, now);

            /// Tombstones left by [`Catalog::begin_expiry`] whose object is not known to be deleted yet,
            /// oldest first, at most `limit`.
            read fn expiring_objects(limit: u32) -> Result<Vec<ExpiringObject>>
                => retention::expiring_objects(limit);

            /// Removes a tombstone once its destination object is deleted; false if there is none
            /// (already finished).
            write fn finish_expiry(copy_id: i64) -> Result<bool>
                => retention::finish_expiry(copy_id);

            /// Closed log files, in every region, whose last event is before `now` minus their
            /// instance policy's `retention_days`, enabled or not, oldest first, at most `limit`.
            /// Open files, files with no event time and files of instances without a policy are
            /// never returned.
            read fn expired_log_files(now: Timestamp, limit: u32) -> Result<Vec<ExpiredLogFile>>
                => log_retention::expired_log_files(now, limit);

            /// Starts expiring a closed log file (one region's row): in one transaction, records
            /// its tombstone (region and object key, stamped `now`) and deletes its row, so it
            /// leaves [`Catalog::log_files`] (listings, recovery windows) at once while the
            /// tombstone still names its object. `None` if there is no such closed row (already
            /// expired, by this sweeper or another, or open: open files are never expired).
            write fn begin_log_expiry(log_file_id: i64, now: Timestamp) -> Result<Option<ExpiringLogObject>>
                => log_retention::begin_log_expiry(log_file_id, now);

            /// Tombstones left by [`Catalog::begin_log_expiry`] whose object is not known to be
            /// deleted yet, oldest first, at most `limit`.
            read fn expiring_log_objects(limit: u32) -> Result<Vec<ExpiringLogObject>>
                => log_retention::expiring_log_objects(limit);

            /// Removes a log file tombstone once its object is deleted; false if there is none
            /// (already finished).
            write fn finish_log_expiry(log_file_id: i64) -> Result<bool>
                => log_retention::finish_log_expiry(log_file_id);

            /// Copy freshness of every instance with a policy, ordered by `DBInstanceId`.
            read fn copy_freshness() -> Result<Vec<CopyFreshness>> => retention::copy_freshness();

            // --- the copy job queue ---

            /// Claims the oldest due pending copy whose lease is free or expired, with a fresh lease
            /// token valid for `lease` held by `holder`. Attempts are counted when an attempt ends,
            /// not when claimed. `<dyn Catalog>::claim_copy_job` claims for this process.
            write fn claim_copy_job_by(now: Timestamp, lease: Duration, holder: &LeaseHolder) -> Result<Option<CopyJob>>
                => queue::claim_copy_job(crate::rules::NewLease::new(now, lease, holder));

            /// Extends a held lease; `LeaseLost` if the token no longer holds it.
            write fn renew_copy_lease(copy_id: i64, lease_token: &str, until: Timestamp) -> Result<()>
                => leases::report(copy_id, lease_token, crate::lease_sql::Report::RenewCopy(until));

            /// Marks the copy Completed and releases the lease; `LeaseLost` if the token no longer holds it.
            write fn complete_copy(copy_id: i64, lease_token: &str, now: Timestamp) -> Result<()>
                => leases::report(copy_id, lease_token, crate::lease_sql::Report::CompleteCopy(now));

            /// Ends a failed attempt: attempts += 1, last error kept; pending again at `retry_at`, or
            /// Failed for good when `retry_at` is `None`. `LeaseLost` if the token no longer holds it.
            write fn fail_copy_attempt(copy_id: i64, lease_token: &str, error: &str, retry_at: Option<Timestamp>) -> Result<()>
                => leases::report(copy_id, lease_token, crate::lease_sql::Report::FailCopy { error, retry_at });

            /// Saves (or, with `None`, clears) the resume state of a pending copy whose lease the token
            /// holds: the next claim of the job hands it back in [`CopyJob::resume_state`]. Failed
            /// attempts keep it; completion clears it. `LeaseLost` if the token no longer holds it.
            quiet fn save_copy_resume_state(copy_id: i64, lease_token: &str, state: Option<&str>) -> Result<()>
                => leases::report(copy_id, lease_token, crate::lease_sql::Report::SaveResumeState(state));

            /// Earliest `next_attempt_at` among pending copies, so idle workers know when to wake. A
            /// claimed copy is not due before its lease ends.
            read fn next_copy_due() -> Result<Option<Timestamp>> => queue::next_copy_due();

            // --- the backup agent: database connections, runs, daily schedules ---

            /// Sets how to reach an instance's database servers, replacing what was set. `NotFound` if
            /// the instance does not exist. DSNs hold passwords: adapters never log them.
            write fn put_instance_connection(connection: &InstanceConnection) -> Result<()>
                => agent::put_instance_connection(connection);

            read fn instance_connection(instance_id: i64) -> Result<Option<InstanceConnection>>
                => agent::instance_connection(instance_id);

            /// An instance by its catalog id.
            read fn instance(instance_id: i64) -> Result<Option<Instance>>
                => instances::instance_by_id(instance_id);

            /// Records that a backup run started (status Running). `NotFound` if the instance does not exist.
            write fn start_backup_run(new: &NewBackupRun) -> Result<BackupRun>
                => agent::start_backup_run(new);

            /// Records the run's backup set exactly as [`Catalog::record_backup_set`] does (queueing its
            /// copy under an enabled policy) and marks the run Completed with `details`, in one
            /// transaction. `NotFound` if the run does not exist, `Conflict` if it already finished.
            write fn complete_backup_run(run_id: i64, set: &NewBackupSet, details: &BackupSetDetails) -> Result<RecordedBackupSet>
                => agent::complete_backup_run(run_id, set, details);

            /// Marks a running run Failed with its error; no backup set is recorded. `NotFound` if the
            /// run does not exist, `Conflict` if it already finished.
            write fn fail_backup_run(run_id: i64, finished_at: Timestamp, error: &str) -> Result<()>
                => agent::fail_backup_run(run_id, finished_at, error);

            /// Records that a running run's agent is alive at `now`; false if the run is not running
            /// (finished, or failed as interrupted meanwhile).
            quiet fn touch_backup_run(run_id: i64, now: Timestamp) -> Result<bool>
                => agent::touch_backup_run(run_id, now);

            /// Marks Failed ("interrupted") every running run whose last heartbeat (or start, before
            /// its first) is older than `silent_since`: its agent died. Returns their ids.
            write fn fail_stale_backup_runs(now: Timestamp, silent_since: Timestamp) -> Result<Vec<i64>>
                => agent::fail_stale_backup_runs(now, silent_since);

            read fn backup_run(run_id: i64) -> Result<Option<BackupRun>>
                => agent::backup_run(run_id);

            /// The completed run that recorded a backup set (none for registered sets).
            read fn backup_run_of_set(backup_set_id: i64) -> Result<Option<BackupRun>>
                => agent::backup_run_of_set(backup_set_id);

            /// An instance's runs in every state, newest first, at most `limit`.
            read fn backup_runs(instance_id: i64, limit: u32) -> Result<Vec<BackupRun>>
                => agent::backup_runs(instance_id, limit);

            /// The newest completed whole-instance run of `method` taken from node `instance_number`:
            /// the base of the next incremental.
            read fn latest_completed_backup_run(instance_id: i64, method: BackupMethod, instance_number: i64) -> Result<Option<BackupRun>>
                => agent::latest_completed_backup_run(instance_id, method, instance_number);

            /// Sets an instance's daily schedule (keeping `last_run_day` when replacing one).
            write fn put_backup_schedule(schedule: &BackupSchedule) -> Result<()>
                => agent::put_backup_schedule(schedule);

            /// Removes an instance's schedule; false if it had none.
            write fn delete_backup_schedule(instance_id: i64) -> Result<bool>
                => agent::delete_backup_schedule(instance_id);

            read fn backup_schedules() -> Result<Vec<BackupSchedule>> => agent::backup_schedules();

            /// Claims the run of `day`'s window (`yyyy-mm-dd`): true for exactly one caller per day and
            /// enabled schedule, however many schedulers ask.
            write fn claim_scheduled_backup(instance_id: i64, day: &str) -> Result<bool>
                => agent::claim_scheduled_backup(instance_id, day);

            // --- lease holders, periodic runs ---

            /// The leases on `queue` that have not run out at `now` (jobs in progress somewhere), with
            /// their holders, by id.
            read fn held_leases(queue: LeasedQueue, now: Timestamp) -> Result<Vec<HeldLease>>
                => leases::held_leases(queue, now);

            /// Ends the lease on row `id` of `queue` if `lease_token` still holds it (its holder died:
            /// see [`leases::take_over_dead_leases`](crate::leases::take_over_dead_leases)), so the job
            /// is claimable at `now`; saved resume state is kept. False if the token no longer holds
            /// it (another claimer was first).
            write fn break_lease(queue: LeasedQueue, id: i64, lease_token: &str, now: Timestamp) -> Result<bool>
                => leases::break_lease(queue, id, lease_token, now);

            /// Claims the run of `task` (a schedule, a sweep) for `period` (a day, an hour…): the first
            /// caller inserts it, with a lease for `lease` held by `holder`; later callers get `None`
            /// while that lease holds and once the run is finished, and take it over (attempts + 1) when
            /// the lease ran out (or was broken) unfinished. So each period runs once to completion
            /// however many workers ask, and a run whose worker died is run again.
            quiet fn claim_periodic_run(task: &str, period: &str, now: Timestamp, lease: Duration, holder: &LeaseHolder) -> Result<Option<PeriodicRun>>
                => leases::claim_periodic_run(task, period, crate::rules::NewLease::new(now, lease, holder));

            /// Extends a held periodic run's lease; `LeaseLost` if the token no longer holds it.
            quiet fn renew_periodic_run(id: i64, lease_token: &str, until: Timestamp) -> Result<()>
                => leases::update_periodic_run(false, id, lease_token, until);

            /// Marks the run finished (never claimable again) and releases its lease; `LeaseLost` if the
            /// token no longer holds it.
            quiet fn finish_periodic_run(id: i64, lease_token: &str, now: Timestamp) -> Result<()>
                => leases::update_periodic_run(true, id, lease_token, now);

            // --- replay protection and server secrets ---

            /// Claims each nonce for its AccessKey until its `expires_at`, durably and in one
            /// transaction: `true` where this call won it (no claim held it, or the one that did had
            /// expired by `now`), `false` where a live claim holds it, made by any process or earlier in
            /// the same batch. Of concurrent claims of one nonce, exactly one wins.
            by_hand fn claim_nonces(nonces: &[SeenNonce], now: Timestamp) -> Result<Vec<bool>>
                => Self::claim_nonce_batch(nonces, now);

            /// Reads the live claims this process checks new ones against, before its first claim
            /// (on SQLite, every finished run's claims into filters of its own, outside any lock,
            /// instead of loading each run's stored filter at its first claim; on PostgreSQL,
            /// nothing): returns the claims read. Claims need it not, but a server that starts while
            /// others claim fast holds less memory for it.
            by_hand fn load_nonces(now: Timestamp) -> Result<u64> => Self::load_nonce_claims(now);

            /// Bytes this process holds in memory to check claims against earlier ones, by part, and
            /// what those checks did since it started.
            by_hand fn claim_view() -> Result<ClaimView> => Self::claim_view_stats();

            /// Deletes up to `limit` claims expired at `now` (in short transactions, so claims are not
            /// held up by a long sweep); returns how many: fewer than `limit` means none are left.
            by_hand fn prune_nonces(now: Timestamp, limit: u32) -> Result<u64>
                => Self::prune_nonce_claims(now, limit);

            /// A number that changes whenever any process commits a change to the catalog (it may also
            /// change when nothing visible did; this process's own nonce and copy-resume-state writes may not change it). Lets caches of catalog reads know they are stale
            /// without re-reading: poll it, and drop what was read under an older token.
            by_hand fn change_token() -> Result<u64> => Self::read_change_token();

            /// The server's download-link signing key `(key id, secret)`, created on first use and stable after.
            by_hand fn link_signing_key() -> Result<(String, String)> => Self::link_key();
        }
    };
}

/// Implements [`Catalog`](crate::Catalog) for `$target`, each method's body being
/// `$forward!(KIND self NAME(ARGS) AREA::FUNCTION(PASSED))` for its entry in the list. The
/// list's types are in scope where `$forward` expands.
macro_rules! implement_catalog {
    ($target:ty, $forward:ident; $( $(#[$doc:meta])* $kind:ident fn $name:ident($($arg:ident: $ty:ty),*)
        -> $ret:ty => $($route:ident)::+($($pass:expr),*); )*) => {
        const _: () = {
            use std::time::Duration;
            use xbak_domain::time::Timestamp;
            use xbak_domain::{
                AccessKey, Account, BackupMethod, BackupRun, BackupSchedule, BackupSet,
                BackupSetDetails, CopyJob, CopyListing, CopyQuery, CrossBackupPolicy,
                CrossRegionCopy, Instance, InstanceConnection, NewBackupRun, NewBackupSet,
                LeaseHolder, NewInstance, Policy, PolicyChange, Region, RequestedBackup,
            };
            use $crate::{
                Catalog, ClaimView, CopyCounts, CopyFreshness, CrossBackupInstances, ExpiredCopy, ExpiredLogFile,
                ExpiringLogObject, ExpiringObject, HeldLease,
                LeasedQueue, PeriodicRun, PolicyChangeError, PolicyChanged, RecordedBackupSet,
                Result, SeenNonce,
            };

            #[async_trait::async_trait]
            impl Catalog for $target {
                $( async fn $name(&self, $($arg: $ty),*) -> $ret {
                    $forward!($kind self $name($($arg),*) $($route)::+($($pass),*))
                } )*
            }
        };
    };
}

/// Serves a `by_hand` entry of the list: `Self::FUNCTION(&self, PASSED)`.
macro_rules! by_hand {
    ($self:ident $name:ident($($arg:ident),*) $($route:ident)::+($($pass:expr),*)) => {
        $($route)::+($self, $($pass),*).await
    };
}
