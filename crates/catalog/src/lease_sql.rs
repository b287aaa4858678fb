//! The SQL of lease holders and periodic runs, the same on both backends: written with SQLite's
//! `?N` parameters, which [`dollars`] turns into PostgreSQL's `$N`.

use crate::LeasedQueue;

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
