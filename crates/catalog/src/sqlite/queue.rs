//! The copy job queue: claims with leases and the next due time. Reports under a lease
//! (renewal, completion, failure with retry, resume state) are `lease_sql::Report`s, run by
//! `leases::report`.
//!
//! A claim moves the copy's `next_attempt_at` to its `lease_until`, so in-flight jobs do not look
//! due (idle workers sleep until a lease could expire instead of spinning) and an abandoned job
//! becomes due again exactly when its lease runs out. Every report carries the lease token; a
//! report whose token was replaced by a newer claim is refused with `LeaseLost`.

use rusqlite::{Connection, Transaction};
use xbak_domain::time::Timestamp;
use xbak_domain::CopyJob;

use super::errors::SqlResultExt;
use super::rows::{optional_row, time_at};
use crate::rules::NewLease;
use crate::{CatalogError, Result};

/// Claims the next due copy job with `lease`.
pub(super) fn claim_copy_job(tx: &Transaction<'_>, lease: NewLease) -> Result<Option<CopyJob>> {
    let candidate: Option<i64> = optional_row(tx, "SELECT id FROM copies
             WHERE status = 'pending' AND next_attempt_at <= ?1 AND (lease_until IS NULL OR lease_until < ?1)
             ORDER BY next_attempt_at, id
             LIMIT 1", [lease.now], |row| row.get(0))?;
    let Some(copy_id) = candidate else {
        return Ok(None);
    };

    tx.prepare_cached(
        "UPDATE copies SET lease_token = ?2, lease_until = ?3, next_attempt_at = ?3, lease_holder = ?4
         WHERE id = ?1",
    )
    .db()?
    .execute((copy_id, &lease.token, lease.until, lease.holder))
    .db()?;

    let job = tx
        .prepare_cached(
            "SELECT c.id, b.source_region_id, b.object_key, c.dest_region_id, c.object_key, b.size_bytes, b.sha256,
                    c.attempts, c.lease_token, c.lease_until, c.resume_state
             FROM copies c JOIN backup_sets b ON b.id = c.backup_set_id
             WHERE c.id = ?1",
        )
        .db()?
        .query_row([copy_id], |row| {
            Ok(CopyJob {
                copy_id: row.get(0)?,
                source_region_id: row.get(1)?,
                source_key: row.get(2)?,
                dest_region_id: row.get(3)?,
                dest_key: row.get(4)?,
                size_bytes: row.get(5)?,
                sha256: row.get(6)?,
                attempts: row.get(7)?,
                lease_token: row.get(8)?,
                lease_until: time_at(row, 9)?,
                resume_state: row.get(10)?,
            })
        })
        .db()?;
    Ok(Some(job))
}

pub(super) fn next_copy_due(conn: &Connection) -> Result<Option<Timestamp>> {
    let next: Option<i64> = conn
        .prepare_cached("SELECT MIN(next_attempt_at) FROM copies WHERE status = 'pending'")
        .db()?
        .query_row([], |row| row.get(0))
        .db()?;
    next.map(|s| {
        chrono::DateTime::from_timestamp(s, 0)
            .ok_or_else(|| CatalogError::Internal("invalid next_attempt_at in catalog".into()))
    })
    .transpose()
}
