//! The SQL of leases (holders, reports under a lease, periodic runs), the same on both backends:
//! written with SQLite's `?N` parameters, which [`dollars`] turns into PostgreSQL's `$N`.

use xbak_domain::time::Timestamp;
use xbak_domain::RequestState;

use crate::rules::{secs, truncate, MAX_ERROR_LEN};
use crate::{CatalogError, LeasedQueue};

/// A report by the holder of a lease on a copy job or a requested backup: an update of the row
/// (`?1`) that holds only while its lease token (`?2`) does, with the report's values from `?3`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Report<'a> {
    /// Extends a copy's lease to this time (when the copy is due again).
    RenewCopy(Timestamp),
    /// The copy completed at this time: listed, and out of the queue.
    CompleteCopy(Timestamp),
    /// The attempt failed: retried at `retry_at`, or failed for good (and listed) without one.
    FailCopy {
        error: &'a str,
        retry_at: Option<Timestamp>,
    },
    /// Saves (or, with `None`, clears) the copy's resume state.
    SaveResumeState(Option<&'a str>),
    /// Extends a requested backup's lease to this time.
    RenewRequest(Timestamp),
    /// Ends a claimed request as `outcome` (done or failed), releasing its lease.
    FinishRequest {
        outcome: RequestState,
        backup_run_id: Option<i64>,
        error: Option<&'a str>,
        now: Timestamp,
    },
}

/// A value a [`Report`] binds from `?3` on.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    Int(Option<i64>),
    Text(Option<&'a str>),
}

impl<'a> Report<'a> {
    /// The queue of the reported row.
    pub(crate) fn queue(&self) -> LeasedQueue {
        match self {
            Report::RenewRequest(_) | Report::FinishRequest { .. } => LeasedQueue::BackupRequests,
            _ => LeasedQueue::Copies,
        }
    }

    /// The update, and its values from `?3` on.
    pub(crate) fn statement(&self) -> (&'static str, Vec<Value<'a>>) {
        use Value::{Int, Text};
        let at = |t: Timestamp| Int(Some(secs(t)));
        match *self {
            Report::RenewCopy(until) => (
                "UPDATE copies SET lease_until = ?3, next_attempt_at = ?3
                 WHERE id = ?1 AND lease_token = ?2 AND status = 'pending'",
                vec![at(until)],
            ),
            Report::CompleteCopy(now) => (
                "UPDATE copies SET status = 'completed', completed_at = ?3, attempts = attempts + 1,
                                   next_attempt_at = NULL, lease_token = NULL, lease_until = NULL,
                                   last_error = NULL, resume_state = NULL
                 WHERE id = ?1 AND lease_token = ?2 AND status = 'pending'",
                vec![at(now)],
            ),
            Report::FailCopy { error, retry_at } => {
                // Failed for good when there is no retry: the copy leaves the queue and is listed.
                let (status, next) = match retry_at {
                    Some(t) => ("pending", Some(secs(t))),
                    None => ("failed", None),
                };
                (
                    "UPDATE copies SET status = ?4, next_attempt_at = ?5, attempts = attempts + 1,
                                       last_error = ?3, lease_token = NULL, lease_until = NULL
                     WHERE id = ?1 AND lease_token = ?2 AND status = 'pending'",
                    vec![
                        Text(Some(truncate(error, MAX_ERROR_LEN))),
                        Text(Some(status)),
                        Int(next),
                    ],
                )
            }
            Report::SaveResumeState(state) => (
                "UPDATE copies SET resume_state = ?3
                 WHERE id = ?1 AND lease_token = ?2 AND status = 'pending'",
                vec![Text(state)],
            ),
            Report::RenewRequest(until) => (
                "UPDATE backup_requests SET lease_until = ?3
                 WHERE id = ?1 AND lease_token = ?2 AND state = 'claimed'",
                vec![at(until)],
            ),
            Report::FinishRequest {
                outcome,
                backup_run_id,
                error,
                now,
            } => (
                "UPDATE backup_requests SET state = ?3, backup_run_id = ?4, last_error = ?5,
                                            finished_at = ?6, lease_token = NULL, lease_until = NULL
                 WHERE id = ?1 AND lease_token = ?2 AND state = 'claimed'",
                vec![
                    Text(Some(outcome.as_str())),
                    Int(backup_run_id),
                    Text(error.map(|e| truncate(e, MAX_ERROR_LEN))),
                    at(now),
                ],
            ),
        }
    }
}

/// `SELECT 1` of row `?1` of `queue`.
pub(crate) fn row_exists(queue: LeasedQueue) -> &'static str {
    match queue {
        LeasedQueue::Copies => "SELECT 1 FROM copies WHERE id = ?1",
        LeasedQueue::BackupRequests => "SELECT 1 FROM backup_requests WHERE id = ?1",
        LeasedQueue::PeriodicRuns => "SELECT 1 FROM periodic_runs WHERE id = ?1",
        LeasedQueue::BinlogStreams => "SELECT 1 FROM binlog_streams WHERE instance_id = ?1",
    }
}

/// How errors name row `id` of `queue`.
pub(crate) fn row_name(queue: LeasedQueue, id: i64) -> String {
    match queue {
        LeasedQueue::Copies => format!("copy {id}"),
        LeasedQueue::BackupRequests => format!("backup request {id}"),
        LeasedQueue::PeriodicRuns => format!("periodic run {id}"),
        LeasedQueue::BinlogStreams => format!("binlog stream of instance {id}"),
    }
}

/// A report that changed no row: `LeaseLost` when the row exists (the token no longer holds
/// it), `NotFound` when it does not.
pub(crate) fn not_held(queue: LeasedQueue, id: i64, exists: bool) -> CatalogError {
    if exists {
        CatalogError::LeaseLost(id)
    } else {
        CatalogError::NotFound(row_name(queue, id))
    }
}

/// `SELECT id, lease_token, lease_until, lease_holder` of the unexpired leases at `?1`.
pub(crate) fn held_leases(queue: LeasedQueue) -> &'static str {
    match queue {
        LeasedQueue::Copies => {
            "SELECT id, lease_token, lease_until, lease_holder FROM copies
             WHERE status = 'pending' AND lease_token IS NOT NULL AND lease_until >= ?1 ORDER BY id"
        }
        LeasedQueue::BackupRequests => {
            "SELECT id, lease_token, lease_until, lease_holder FROM backup_requests
             WHERE state = 'claimed' AND lease_token IS NOT NULL AND lease_until >= ?1 ORDER BY id"
        }
        LeasedQueue::PeriodicRuns => {
            "SELECT id, lease_token, lease_until, lease_holder FROM periodic_runs
             WHERE finished_at IS NULL AND lease_token IS NOT NULL AND lease_until >= ?1 ORDER BY id"
        }
        LeasedQueue::BinlogStreams => {
            "SELECT instance_id, lease_token, lease_until, lease_holder FROM binlog_streams
             WHERE lease_token IS NOT NULL AND lease_until >= ?1 ORDER BY instance_id"
        }
    }
}

/// Ends row `?1`'s lease if token `?2` holds it, so it is claimable at once; copies take `?3`
/// (now) as their next attempt time.
pub(crate) fn break_lease(queue: LeasedQueue) -> (&'static str, bool) {
    match queue {
        LeasedQueue::Copies => (
            "UPDATE copies SET lease_token = NULL, lease_until = NULL, lease_holder = NULL,
                               next_attempt_at = ?3
             WHERE id = ?1 AND lease_token = ?2 AND status = 'pending'",
            true,
        ),
        LeasedQueue::BackupRequests => (
            "UPDATE backup_requests SET state = 'waiting', lease_token = NULL, lease_until = NULL,
                                        lease_holder = NULL
             WHERE id = ?1 AND lease_token = ?2 AND state = 'claimed'",
            false,
        ),
        LeasedQueue::PeriodicRuns => (
            "UPDATE periodic_runs SET lease_token = NULL, lease_until = NULL, lease_holder = NULL
             WHERE id = ?1 AND lease_token = ?2 AND finished_at IS NULL",
            false,
        ),
        LeasedQueue::BinlogStreams => (crate::binlog_sql::RELEASE_STREAM, false),
    }
}

/// Inserts task `?1`'s run of period `?2` with lease `?3` until `?4` held by `?5` at `?6`, or
/// takes over an unfinished one whose lease ran out; returns `id, attempts` when claimed.
pub(crate) const CLAIM_PERIODIC_RUN: &str =
    "INSERT INTO periodic_runs (task, period, lease_token, lease_until, lease_holder, claimed_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
     ON CONFLICT (task, period) DO UPDATE
        SET lease_token = excluded.lease_token, lease_until = excluded.lease_until,
            lease_holder = excluded.lease_holder, claimed_at = excluded.claimed_at,
            attempts = periodic_runs.attempts + 1
        WHERE periodic_runs.finished_at IS NULL
          AND (periodic_runs.lease_until IS NULL OR periodic_runs.lease_until < excluded.claimed_at)
     RETURNING id, attempts";

/// Extends run `?1`'s lease held by token `?2` to `?3`.
pub(crate) const RENEW_PERIODIC_RUN: &str = "UPDATE periodic_runs SET lease_until = ?3
     WHERE id = ?1 AND lease_token = ?2 AND finished_at IS NULL";

/// Finishes run `?1` held by token `?2` at `?3`.
pub(crate) const FINISH_PERIODIC_RUN: &str =
    "UPDATE periodic_runs SET finished_at = ?3, lease_token = NULL, lease_until = NULL
     WHERE id = ?1 AND lease_token = ?2 AND finished_at IS NULL";

/// `?N` → `$N` (the statements here hold no `?` elsewhere).
pub(crate) fn dollars(sql: &str) -> String {
    sql.replace('?', "$")
}
