//! Reports under a lease, lease holders (who holds each claimed row), breaking a dead holder's
//! lease, and periodic runs (see [`crate::leases`]). The SQL is [`crate::lease_sql`]'s.

use rusqlite::{params_from_iter, Connection, ToSql, Transaction};
use xbak_domain::time::Timestamp;
use xbak_domain::LeaseHolder;

use super::errors::SqlResultExt;
use super::rows::{all_rows, optional_row, secs, time_at};
use crate::lease_sql::{
    break_lease as break_sql, held_leases as held_sql, not_held, row_exists, Report, Value,
    CLAIM_PERIODIC_RUN, FINISH_PERIODIC_RUN, RENEW_PERIODIC_RUN,
};
use crate::rules::NewLease;
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

/// Runs `report` on row `id` of its queue under lease `token`: `LeaseLost` unless the token
/// holds the row, `NotFound` if there is no such row.
pub(super) fn report(tx: &Transaction<'_>, id: i64, token: &str, report: Report<'_>) -> Result<()> {
    let queue = report.queue();
    let (sql, values) = report.statement();
    let mut params: Vec<&dyn ToSql> = vec![&id, &token];
    params.extend(values.iter().map(bound));
    let updated = tx
        .prepare_cached(sql)
        .db()?
        .execute(params_from_iter(params))
        .db()?;
    if updated == 1 {
        return Ok(());
    }
    let exists = tx
        .prepare_cached(row_exists(queue))
        .db()?
        .exists([id])
        .db()?;
    Err(not_held(queue, id, exists))
}

fn bound<'a>(value: &'a Value<'_>) -> &'a dyn ToSql {
    match value {
        Value::Int(v) => v,
        Value::Text(v) => v,
    }
}

pub(super) fn held_leases(
    conn: &Connection,
    queue: LeasedQueue,
    now: Timestamp,
) -> Result<Vec<HeldLease>> {
    all_rows(conn, held_sql(queue), [secs(now)], |row| {
        let holder: Option<String> = row.get(3)?;
        Ok(HeldLease {
            id: row.get(0)?,
            lease_token: row.get(1)?,
            lease_until: time_at(row, 2)?,
            holder: holder.as_deref().and_then(LeaseHolder::decode),
        })
    })
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
    lease: NewLease,
) -> Result<Option<PeriodicRun>> {
    let params = (
        task,
        period,
        &lease.token,
        lease.until,
        &lease.holder,
        lease.now,
    );
    let claimed = optional_row(tx, CLAIM_PERIODIC_RUN, params, |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    Ok(claimed.map(|(id, attempts)| PeriodicRun {
        id,
        lease_token: lease.token,
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
