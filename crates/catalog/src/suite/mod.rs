//! The conformance suite every [`Catalog`] backend runs, so SQLite and PostgreSQL behave alike.
//!
//! A backend provides a [`Backend`]: a fresh, empty catalog per test that can be opened more than
//! once (a second handle is what another process would see). Then one line runs everything:
//!
//! ```text
//! xbak_catalog::catalog_test_suite!(MyBackend::new());
//! ```
//!
//! The invoking crate needs `tokio` (with `macros` and `rt-multi-thread`) as a dev-dependency.
//! The suite fails rather than skips: a backend whose service is missing must panic in `open`.

mod agent;
mod binlogs;
mod cross_instances;
mod cross_policy;
mod leases;
mod listing;
mod log_retention;
mod nonces;
mod queue;
mod registry;
mod requests;
mod retention;
pub mod scratch;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use xbak_domain::naming::{backup_set_file_name, backup_set_key};
use xbak_domain::time::Timestamp;
use xbak_domain::{
    AccessKey, Account, BackupMethod, BackupSetScale, BackupType, Category, CopyJob, CopyListing,
    CopyQuery, CrossRegionCopy, Instance, ListedCopy, NewBackupSet, NewInstance, PageSize, Policy,
    Region, RequestedBackup, StorageType,
};

pub use agent::*;
pub use binlogs::*;
pub use cross_instances::*;
pub use cross_policy::*;
pub use leases::*;
pub use listing::*;
pub use log_retention::*;
pub use nonces::*;
pub use queue::*;
pub use registry::*;
pub use requests::*;
pub use retention::*;

use crate::Catalog;

/// A catalog under test. Each test builds its own `Backend`, so each starts empty.
#[async_trait]
pub trait Backend: Send + Sync {
    /// Opens a handle on this backend's catalog: empty at first, the same data on later calls
    /// (as another process, or the same process after a restart, would see it). Panics if the
    /// backend cannot be reached.
    async fn open(&self) -> Arc<dyn Catalog>;
}

/// Expands one `#[tokio::test]` per suite test, each on a fresh `$backend` (an expression
/// evaluating to a [`Backend`]).
#[macro_export]
macro_rules! catalog_test_suite {
    ($backend:expr) => {
        $crate::catalog_test_suite!(@each $backend;
            accounts_create_lookup_and_conflict,
            access_keys_are_found_by_id,
            regions_put_update_and_list,
            instances_create_lookup_and_refusals,
            policies_put_update_and_refusals,
            record_backup_set_queues_only_under_an_enabled_policy,
            a_backup_set_is_recorded_and_queued_once,
            newest_backup_set_is_the_latest_started,
            list_shows_only_completed_and_failed,
            list_window_is_inclusive_on_backup_start,
            list_window_totals_match_a_count_of_the_listing,
            list_filters_by_id_region_and_set,
            list_is_newest_first_with_id_tiebreak,
            list_pages_are_stable_across_sizes,
            list_never_shows_other_instances,
            cross_backup_ids_increase_and_are_never_reused,
            claim_respects_next_attempt_and_leases,
            concurrent_claimers_never_share_a_job,
            expired_lease_is_reclaimed_and_old_token_refused,
            renewed_lease_holds_the_job,
            failed_attempt_retries_at_retry_at,
            failure_for_good_is_listed_as_failed,
            completion_is_listed,
            resume_state_is_kept_under_the_lease,
            copy_counts_by_state,
            next_copy_due_follows_the_queue,
            nonces_are_claimed_once_until_they_expire,
            nonces_are_pruned_in_bounded_steps,
            the_upkeep_keeps_every_live_claim_among_many,
            claims_made_during_the_upkeep_are_kept,
            concurrent_nonce_claims_have_one_winner,
            nonces_survive_reopen,
            link_signing_key_is_created_once,
            instance_connections_put_replace_and_refusals,
            backup_runs_complete_or_fail_once,
            silent_running_runs_are_failed_as_interrupted,
            incremental_base_is_the_latest_completed_run,
            schedules_are_claimed_once_per_day,
            change_token_moves_on_every_commit,
            expired_copies_follow_the_policy_retention,
            begun_expiry_hides_the_copy_until_finished,
            copy_freshness_tracks_recovery_point_and_lag,
            cross_backup_policies_keep_switches_and_enable_times,
            cross_backup_instances_are_the_accounts_enabled_ones_in_the_region,
            enabling_queues_the_newest_recent_set_once,
            policy_changes_merge_with_the_stored_policy,
            enabling_queues_the_recent_set_or_requests_a_backup,
            requested_backups_are_claimed_with_leases,
            failed_requests_keep_their_error,
            concurrent_enables_request_one_backup,
            concurrent_request_claimers_never_share_a_request,
            concurrent_partial_changes_all_stick,
            a_dead_holders_copy_is_taken_over_at_once,
            live_and_remote_holders_keep_their_leases,
            a_dead_holders_requested_backup_is_taken_over,
            periodic_runs_run_once_per_period,
            unfinished_periodic_runs_are_taken_up_again,
            concurrent_periodic_claimers_get_one_run,
            binlog_streams_are_claimed_only_with_log_backup_on,
            open_files_are_copied_segment_by_segment,
            binlog_progress_records_segments_closed_files_and_gaps,
            expired_log_files_follow_the_policy_retention,
            begun_log_expiry_hides_the_file_until_finished,
            a_log_copy_never_brings_back_an_expired_file,
        );
    };
    (@each $backend:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let backend = $backend;
                $crate::suite::$name(&backend).await;
            }
        )*
    };
}

pub const HANGZHOU: &str = "cn-hangzhou";
pub const SHANGHAI: &str = "cn-shanghai";
pub const BEIJING: &str = "cn-beijing";

/// Lease used by claims in the suite.
pub const LEASE: Duration = Duration::from_secs(600);

/// The wall clock in whole seconds (the catalog's precision).
pub fn clock() -> Timestamp {
    chrono::DateTime::from_timestamp(chrono::Utc::now().timestamp(), 0)
        .expect("now is representable")
}

/// A time at which everything queued so far is due (the queue stamps new copies with the wall clock).
pub fn due() -> Timestamp {
    clock() + chrono::Duration::seconds(5)
}

pub fn secs(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

/// A fixed start time for backup sets, far from the wall clock so windows are unambiguous.
pub fn t0() -> Timestamp {
    use chrono::TimeZone as _;
    chrono::Utc
        .with_ymd_and_hms(2024, 3, 1, 0, 0, 0)
        .single()
        .expect("valid time")
}

/// An account with an instance in Hangzhou whose policy copies to Shanghai; Beijing also exists.
pub struct World {
    pub cat: Arc<dyn Catalog>,
    pub account: Account,
    pub key: AccessKey,
    pub instance: Instance,
}

impl World {
    /// Creates another instance of the account, in Hangzhou, with no policy.
    pub async fn bare_instance(&self, db_instance_id: &str) -> Instance {
        self.cat
            .create_instance(&new_instance(self.account.id, db_instance_id))
            .await
            .expect("create instance")
    }
}

pub async fn world(backend: &dyn Backend) -> World {
    let cat = backend.open().await;
    for id in [HANGZHOU, SHANGHAI, BEIJING] {
        cat.put_region(&Region {
            region_id: id.into(),
            store_url: format!("file:///srv/xbak/{id}"),
        })
        .await
        .expect("put region");
    }
    let (account, key) = cat.create_account("acme").await.expect("create account");
    let instance = instance_with_policy(&*cat, account.id, "rm-a").await;
    World {
        cat,
        account,
        key,
        instance,
    }
}

pub fn new_instance(account_id: i64, db_instance_id: &str) -> NewInstance {
    NewInstance {
        db_instance_id: db_instance_id.into(),
        region_id: HANGZHOU.into(),
        account_id,
        engine: "MySQL".into(),
        engine_version: "5.7".into(),
        category: Category::HighAvailability,
        storage_type: StorageType::LocalSsd,
        instance_number: 7986073,
    }
}

/// Creates an instance in Hangzhou with an enabled policy to Shanghai.
pub async fn instance_with_policy(
    cat: &dyn Catalog,
    account_id: i64,
    db_instance_id: &str,
) -> Instance {
    let instance = cat
        .create_instance(&new_instance(account_id, db_instance_id))
        .await
        .expect("create instance");
    set_policy(cat, &instance, true, SHANGHAI).await;
    instance
}

pub async fn set_policy(
    cat: &dyn Catalog,
    instance: &Instance,
    enabled: bool,
    dest: &str,
) -> Policy {
    let policy = Policy {
        instance_id: instance.id,
        enabled,
        dest_region_id: dest.into(),
        retention_days: 7,
        updated_at: clock(),
    };
    cat.put_policy(&policy).await.expect("put policy")
}

/// A physical full backup of `instance` started at `started`; `n` keeps object keys unique.
pub fn new_set(instance: &Instance, started: Timestamp, n: u32) -> NewBackupSet {
    let file = backup_set_file_name(
        &instance.region_id,
        &instance.db_instance_id,
        instance.instance_number,
        started,
        BackupMethod::Physical,
    );
    NewBackupSet {
        instance_id: instance.id,
        method: BackupMethod::Physical,
        backup_type: BackupType::Full,
        scale: BackupSetScale::Instance,
        started_at: started,
        finished_at: started + secs(600),
        consistent_at: started + secs(590),
        instance_number: instance.instance_number,
        object_key: backup_set_key(&instance.db_instance_id, &format!("{n:05}-{file}")),
        size_bytes: 1_048_576 + i64::from(n),
        sha256: format!("{n:064x}"),
    }
}

/// Records a set and returns the id of the copy it queued (the policy must be enabled).
pub async fn record(cat: &dyn Catalog, instance: &Instance, started: Timestamp, n: u32) -> i64 {
    let recorded = cat
        .record_backup_set(&new_set(instance, started, n))
        .await
        .expect("record backup set");
    recorded
        .queued_copy_id
        .expect("a copy is queued under an enabled policy")
}

/// Records `n` sets of the world's instance (all started at [`t0`]); returns the newest copy id.
pub async fn record_many(w: &World, n: u32) -> i64 {
    let mut last = 0;
    for i in 0..n {
        last = record(&*w.cat, &w.instance, t0(), i).await;
    }
    last
}

/// Claims every job due at `now`.
pub async fn claim_all(cat: &dyn Catalog, now: Timestamp) -> Vec<CopyJob> {
    let mut jobs = Vec::new();
    while let Some(job) = cat.claim_copy_job(now, LEASE).await.expect("claim") {
        assert!(jobs.len() < 100_000, "claims never run out");
        jobs.push(job);
    }
    jobs
}

/// Claims the copy job due at `now`; panics with `what` when there is none.
pub async fn claim_job(cat: &dyn Catalog, now: Timestamp, what: &str) -> CopyJob {
    cat.claim_copy_job(now, LEASE)
        .await
        .expect("claim")
        .expect(what)
}

/// Claims the requested backup due at `now`; panics with `what` when there is none.
pub async fn claim_request(cat: &dyn Catalog, now: Timestamp, what: &str) -> RequestedBackup {
    cat.claim_requested_backup(now, LEASE)
        .await
        .expect("claim")
        .expect(what)
}

/// Claims every due job and completes it, unless `fail(copy_id)`, which fails it for good.
/// Returns the settled copy ids.
pub async fn settle_all(cat: &dyn Catalog, fail: impl Fn(i64) -> bool) -> Vec<i64> {
    let now = due();
    let mut settled = Vec::new();
    for job in claim_all(cat, now).await {
        if fail(job.copy_id) {
            cat.fail_copy_attempt(job.copy_id, &job.lease_token, "boom", None)
                .await
                .expect("fail");
        } else {
            cat.complete_copy(job.copy_id, &job.lease_token, now)
                .await
                .expect("complete");
        }
        settled.push(job.copy_id);
    }
    settled
}

/// First page of 100 of `instance_id`'s listing, no filters.
pub fn query(instance_id: i64) -> CopyQuery {
    CopyQuery::first_page(instance_id, PageSize::Hundred)
}

pub fn ids(listing: &CopyListing) -> Vec<i64> {
    listing.items.iter().map(|c| c.cross_backup_id).collect()
}

/// What a listing shows of `copy`.
pub fn as_listed(copy: &CrossRegionCopy) -> ListedCopy {
    let set = &copy.backup_set;
    ListedCopy {
        cross_backup_id: copy.cross_backup_id,
        dest_region_id: copy.dest_region_id.clone(),
        object_key: copy.object_key.clone(),
        status: copy.status,
        backup_set_id: set.id,
        source_region_id: set.source_region_id.clone(),
        method: set.method,
        backup_type: set.backup_type,
        scale: set.scale,
        started_at: set.started_at,
        finished_at: set.finished_at,
        consistent_at: set.consistent_at,
        instance_number: set.instance_number,
        size_bytes: set.size_bytes,
    }
}

/// Panics unless every item of `listing` shows what its copy holds, and the copy is
/// `instance`'s.
pub async fn assert_items_show_their_copies(
    cat: &dyn Catalog,
    instance: &Instance,
    listing: &CopyListing,
) {
    for item in &listing.items {
        let copy = cat.copy(item.cross_backup_id).await.unwrap().unwrap();
        assert_eq!(*item, as_listed(&copy));
        assert_eq!(
            (&*copy.instance, copy.backup_set.instance_id),
            (instance, instance.id)
        );
    }
}
