//! Requested backups: a queue of rows claimed with leases, like copy jobs (their reports are
//! `lease_sql::Report`s too, run by `leases::report`).
//!
//! A claim moves a request to `claimed` with a fresh lease token; a claimed request whose lease
//! ran out (its worker died) is claimable again. Every report carries the token; a report whose
//! token was replaced by a newer claim is refused with `LeaseLost`.

use rusqlite::{Connection, Row, Transaction};
use xbak_domain::time::Timestamp;
use xbak_domain::{RequestState, RequestedBackup};

use super::errors::{bad_value, SqlResultExt};
use super::rows::{all_rows, opt_time_at, optional_row, secs, time_at};
use crate::rules::NewLease;
use crate::Result;

const COLUMNS: &str = "id, instance_id, request_trigger, state, lease_token, lease_until, attempts,
                       created_at, claimed_at, backup_run_id, last_error";

#[derive(Debug, thiserror::Error)]
#[error("invalid backup request state in catalog: {0}")]
struct BadState(String);

fn request_at(row: &Row<'_>) -> rusqlite::Result<RequestedBackup> {
    let state: String = row.get(3)?;
    Ok(RequestedBackup {
        id: row.get(0)?,
        instance_id: row.get(1)?,
        trigger: row.get(2)?,
        state: RequestState::parse(&state).ok_or_else(|| bad_value(3, BadState(state)))?,
        lease_token: row.get(4)?,
        lease_until: opt_time_at(row, 5)?,
        attempts: row.get(6)?,
        created_at: time_at(row, 7)?,
        claimed_at: opt_time_at(row, 8)?,
        backup_run_id: row.get(9)?,
        last_error: row.get(10)?,
    })
}

/// The instance's waiting or claimed request, if any (at most one is inserted while one is open).
pub(super) fn open_request_of(conn: &Connection, instance_id: i64) -> Result<Option<i64>> {
    optional_row(
        conn,
        "SELECT id FROM backup_requests
         WHERE instance_id = ?1 AND state IN ('waiting', 'claimed') LIMIT 1",
        [instance_id],
        |r| r.get(0),
    )
}

/// Inserts a waiting request for a backup of the instance.
pub(super) fn insert_request(
    tx: &Transaction<'_>,
    instance_id: i64,
    trigger: &str,
    now: Timestamp,
) -> Result<i64> {
    tx.prepare_cached(
        "INSERT INTO backup_requests (instance_id, request_trigger, state, created_at)
         VALUES (?1, ?2, 'waiting', ?3)",
    )
    .db()?
    .execute((instance_id, trigger, secs(now)))
    .db_as(|| format!("backup request of instance {instance_id}"))?;
    Ok(tx.last_insert_rowid())
}

pub(super) fn requested_backup(conn: &Connection, id: i64) -> Result<Option<RequestedBackup>> {
    let sql = format!("SELECT {COLUMNS} FROM backup_requests WHERE id = ?1");
    optional_row(conn, &sql, [id], request_at)
}

pub(super) fn open_requested_backups(
    conn: &Connection,
    instance_id: i64,
) -> Result<Vec<RequestedBackup>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM backup_requests
         WHERE instance_id = ?1 AND state IN ('waiting', 'claimed') ORDER BY id"
    );
    all_rows(conn, &sql, [instance_id], request_at)
}

/// Claims the oldest claimable request with `lease`.
pub(super) fn claim_requested_backup(
    tx: &Transaction<'_>,
    lease: NewLease,
) -> Result<Option<RequestedBackup>> {
    let candidate: Option<i64> = optional_row(
        tx,
        "SELECT id FROM backup_requests
             WHERE state = 'waiting' OR (state = 'claimed' AND lease_until < ?1)
             ORDER BY id LIMIT 1",
        [lease.now],
        |r| r.get(0),
    )?;
    let Some(id) = candidate else {
        return Ok(None);
    };
    tx.prepare_cached(
        "UPDATE backup_requests SET state = 'claimed', lease_token = ?2, lease_until = ?3,
                                    claimed_at = ?4, attempts = attempts + 1, lease_holder = ?5
         WHERE id = ?1",
    )
    .db()?
    .execute((id, &lease.token, lease.until, lease.now, lease.holder))
    .db()?;
    requested_backup(tx, id)
}
