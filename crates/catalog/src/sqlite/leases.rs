//! Lease holders (who holds each claimed row), breaking a dead holder's lease, and periodic runs
//! (see [`crate::leases`]).

use std::time::Duration;

use rusqlite::{Connection, Transaction};
use xbak_domain::time::Timestamp;
use xbak_domain::{CopyJob, LeaseHolder, RequestedBackup};

use super::errors::SqlResultExt;
use super::rows::{optional_row, random_alphanumeric, secs, time_at};
use crate::lease_sql::{
    break_lease as break_sql, held_leases as held_sql, CLAIM_PERIODIC_RUN, FINISH_PERIODIC_RUN,
    RENEW_PERIODIC_RUN,
};
use crate::rules::lease_secs;
use crate::{CatalogError, HeldLease, LeasedQueue, PeriodicRun, Result};

/// Records each lease's holder; adds the periodic runs (one per task and period).
pub(super) const V8_LEASE_HOLDERS: &str = r#"
ALTER TABLE copies ADD COLUMN lease_holder TEXT;
ALTER TABLE backup_requests ADD COLUMN lease_holder TEXT;
CREATE TABLE periodic_runs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    task          TEXT NOT NULL,
    period        TEXT NOT NULL,
    lease_token   TEXT,
    lease_until   INTEGER,
    lease_holder  TEXT,
    attempts      INTEGER NOT NULL DEFAULT 1,
    claimed_at    INTEGER NOT NULL,
    finished_at   INTEGER,
    UNIQUE (task, period)
);
"#;

/// Stamps the holder of a lease just taken with `token` on row `id` of `table`.
pub(super) fn record_holder(
    tx: &Transaction<'_>,
    table: &str,
    id: i64,
    token: &str,
    holder: &LeaseHolder,
) -> Result<()> {
    tx.prepare_cached(&format!(
        "UPDATE {table} SET lease_holder = ?3 WHERE id = ?1 AND lease_token = ?2"
    ))
    .db()?
    .execute((id, token, holder.encode()))
    .db()?;
    Ok(())
}

/// Claims the next copy job ([`super::queue::claim_copy_job`]) with `holder` on its lease.
pub(super) fn claim_copy_job(
    tx: &Transaction<'_>,
    now: Timestamp,
    lease: Duration,
    holder: &LeaseHolder,
) -> Result<Option<CopyJob>> {
    let claimed = super::queue::claim_copy_job(tx, now, lease)?;
    if let Some(job) = &claimed {
        record_holder(tx, "copies", job.copy_id, &job.lease_token, holder)?;
    }
    Ok(claimed)
}

/// Claims the next requested backup ([`super::requests::claim_requested_backup`]) with `holder`
/// on its lease.
pub(super) fn claim_requested_backup(
    tx: &Transaction<'_>,
    now: Timestamp,
    lease: Duration,
    holder: &LeaseHolder,
) -> Result<Option<RequestedBackup>> {
    let claimed = super::requests::claim_requested_backup(tx, now, lease)?;
    if let Some(r) = &claimed {
        let token = r.lease_token.as_deref().unwrap_or_default();
        record_holder(tx, "backup_requests", r.id, token, holder)?;
    }
    Ok(claimed)
}

pub(super) fn held_leases(
    conn: &Connection,
    queue: LeasedQueue,
    now: Timestamp,
) -> Result<Vec<HeldLease>> {
    let mut stmt = conn.prepare_cached(held_sql(queue)).db()?;
    let rows = stmt
        .query_map([secs(now)], |row| {
            let holder: Option<String> = row.get(3)?;
            Ok(HeldLease {
                id: row.get(0)?,
                lease_token: row.get(1)?,
                lease_until: time_at(row, 2)?,
                holder: holder.as_deref().and_then(LeaseHolder::decode),
            })
        })
        .db()?;
    rows.collect::<rusqlite::Result<Vec<_>>>().db()
}

pub(super) fn break_lease(
    tx: &Transaction<'_>,
    queue: LeasedQueue,
    id: i64,
    token: &str,
    now: Timestamp,
) -> Result<bool> {
    let (sql, takes_now) = break_sql(queue);
    let mut stmt = tx.prepare_cached(sql).db()?;
    let n = if takes_now {
        stmt.execute((id, token, secs(now)))
    } else {
        stmt.execute((id, token))
    }
    .db()?;
    Ok(n == 1)
}

pub(super) fn claim_periodic_run(
    tx: &Transaction<'_>,
    task: &str,
    period: &str,
    now: Timestamp,
    lease: Duration,
    holder: &LeaseHolder,
) -> Result<Option<PeriodicRun>> {
    let now = secs(now);
    let token = random_alphanumeric(32);
    let until = now.saturating_add(lease_secs(lease));
    let params = (task, period, &token, until, holder.encode(), now);
    let claimed = optional_row(tx, CLAIM_PERIODIC_RUN, params, |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    Ok(claimed.map(|(id, attempts)| PeriodicRun {
        id,
        lease_token: token,
        attempts,
    }))
}

/// Runs a renewal or the finish of periodic run `id`: `LeaseLost` unless `token` holds it.
pub(super) fn update_periodic_run(
    tx: &Transaction<'_>,
    finish: bool,
    id: i64,
    token: &str,
    at: Timestamp,
) -> Result<()> {
    let sql = if finish {
        FINISH_PERIODIC_RUN
    } else {
        RENEW_PERIODIC_RUN
    };
    let n = tx
        .prepare_cached(sql)
        .db()?
        .execute((id, token, secs(at)))
        .db()?;
    if n == 1 {
        Ok(())
    } else {
        Err(CatalogError::LeaseLost(id))
    }
}
