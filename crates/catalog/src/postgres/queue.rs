//! The copy job queue: claims with leases, completion, failure with retry, and the next due time.
//!
//! As in the SQLite adapter, a claim moves the copy's `next_attempt_at` to its `lease_until`, and
//! every report carries the lease token. Claims lock their row with `FOR UPDATE SKIP LOCKED`, so
//! concurrent claimers (in any process) each take a different job without waiting on each other.

use deadpool_postgres::{GenericClient, Transaction};
use xbak_domain::time::Timestamp;
use xbak_domain::CopyJob;

use super::rows::{copy_job_at, execute, get, optional_row, query_one, query_opt, secs, to_time};
use crate::rules::{truncate, NewLease, MAX_ERROR_LEN};
use crate::{CatalogError, Result};

/// Claims the next due copy job with `lease`.
pub(super) async fn claim_copy_job(
    tx: &Transaction<'_>,
    lease: NewLease,
) -> Result<Option<CopyJob>> {
    optional_row(
        tx,
        "WITH claimed AS (
             UPDATE copies SET lease_token = $2, lease_until = $3, next_attempt_at = $3,
                               lease_holder = $4
             WHERE id = (SELECT id FROM copies
                         WHERE status = 'pending' AND next_attempt_at <= $1
                           AND (lease_until IS NULL OR lease_until < $1)
                         ORDER BY next_attempt_at, id
                         LIMIT 1
                         FOR UPDATE SKIP LOCKED)
             RETURNING id, backup_set_id, dest_region_id, object_key, attempts, lease_token, lease_until,
                       resume_state)
         SELECT c.id, b.source_region_id, b.object_key, c.dest_region_id, c.object_key, b.size_bytes, b.sha256,
                c.attempts, c.lease_token, c.lease_until, c.resume_state
         FROM claimed c JOIN backup_sets b ON b.id = c.backup_set_id",
        &[&lease.now, &lease.token, &lease.until, &lease.holder],
        copy_job_at,
    )
    .await
}

/// Turns "no row updated" into `LeaseLost` (the copy exists) or `NotFound` (it does not).
async fn held(tx: &Transaction<'_>, copy_id: i64, updated: u64) -> Result<()> {
    if updated == 1 {
        return Ok(());
    }
    if query_opt(tx, "SELECT 1 FROM copies WHERE id = $1", &[&copy_id])
        .await?
        .is_some()
    {
        Err(CatalogError::LeaseLost(copy_id))
    } else {
        Err(CatalogError::NotFound(format!("copy {copy_id}")))
    }
}

pub(super) async fn renew_copy_lease(
    tx: &Transaction<'_>,
    copy_id: i64,
    token: &str,
    until: Timestamp,
) -> Result<()> {
    let updated = execute(
        tx,
        "UPDATE copies SET lease_until = $3, next_attempt_at = $3
         WHERE id = $1 AND lease_token = $2 AND status = 'pending'",
        &[&copy_id, &token, &secs(until)],
        || format!("copy {copy_id}"),
    )
    .await?;
    held(tx, copy_id, updated).await
}

pub(super) async fn complete_copy(
    tx: &Transaction<'_>,
    copy_id: i64,
    token: &str,
    now: Timestamp,
) -> Result<()> {
    let updated = execute(
        tx,
        "UPDATE copies SET status = 'completed', completed_at = $3, attempts = attempts + 1,
                           next_attempt_at = NULL, lease_token = NULL, lease_until = NULL,
                           last_error = NULL, resume_state = NULL
         WHERE id = $1 AND lease_token = $2 AND status = 'pending'",
        &[&copy_id, &token, &secs(now)],
        || format!("copy {copy_id}"),
    )
    .await?;
    held(tx, copy_id, updated).await
}

pub(super) async fn fail_copy_attempt(
    tx: &Transaction<'_>,
    copy_id: i64,
    token: &str,
    error: &str,
    retry_at: Option<Timestamp>,
) -> Result<()> {
    let error = truncate(error, MAX_ERROR_LEN);
    // Failed for good when there is no retry: the copy leaves the queue and is listed.
    let (status, next) = match retry_at {
        Some(at) => ("pending", Some(secs(at))),
        None => ("failed", None),
    };
    let updated = execute(
        tx,
        "UPDATE copies SET status = $4, next_attempt_at = $5, attempts = attempts + 1, last_error = $3,
                           lease_token = NULL, lease_until = NULL
         WHERE id = $1 AND lease_token = $2 AND status = 'pending'",
        &[&copy_id, &token, &error, &status, &next],
        || format!("copy {copy_id}"),
    )
    .await?;
    held(tx, copy_id, updated).await
}

pub(super) async fn save_copy_resume_state(
    tx: &Transaction<'_>,
    copy_id: i64,
    token: &str,
    state: Option<&str>,
) -> Result<()> {
    let updated = execute(
        tx,
        "UPDATE copies SET resume_state = $3
         WHERE id = $1 AND lease_token = $2 AND status = 'pending'",
        &[&copy_id, &token, &state],
        || format!("copy {copy_id}"),
    )
    .await?;
    held(tx, copy_id, updated).await
}

pub(super) async fn next_copy_due(c: &impl GenericClient) -> Result<Option<Timestamp>> {
    let row = query_one(
        c,
        "SELECT MIN(next_attempt_at) FROM copies WHERE status = 'pending'",
        &[],
    )
    .await?;
    get::<Option<i64>>(&row, 0)?.map(to_time).transpose()
}
