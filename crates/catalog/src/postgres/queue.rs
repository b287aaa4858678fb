//! The copy job queue: claims with leases and the next due time. Reports under a lease
//! (renewal, completion, failure with retry, resume state) are `lease_sql::Report`s, run by
//! `leases::report`.
//!
//! As in the SQLite adapter, a claim moves the copy's `next_attempt_at` to its `lease_until`, and
//! every report carries the lease token. Claims lock their row with `FOR UPDATE SKIP LOCKED`, so
//! concurrent claimers (in any process) each take a different job without waiting on each other.

use deadpool_postgres::{GenericClient, Transaction};
use xbak_domain::time::Timestamp;
use xbak_domain::CopyJob;

use super::rows::{copy_job_at, get, optional_row, query_one, to_time};
use crate::rules::NewLease;
use crate::Result;

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

pub(super) async fn next_copy_due(c: &impl GenericClient) -> Result<Option<Timestamp>> {
    let row = query_one(
        c,
        "SELECT MIN(next_attempt_at) FROM copies WHERE status = 'pending'",
        &[],
    )
    .await?;
    get::<Option<i64>>(&row, 0)?.map(to_time).transpose()
}
