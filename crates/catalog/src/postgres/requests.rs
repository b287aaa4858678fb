//! Requested backups: a queue of rows claimed with leases, like copy jobs (their reports are
//! `lease_sql::Report`s too, run by `leases::report`).
//!
//! As in the SQLite adapter, a claim moves a request to `claimed` with a fresh lease token; a
//! claimed request whose lease ran out (its worker died) is claimable again, and every report
//! carries the token. Claims lock their row with `FOR UPDATE SKIP LOCKED`, so concurrent
//! claimers (in any process) each take a different request without waiting on each other.

use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::Row;
use xbak_domain::time::Timestamp;
use xbak_domain::{RequestState, RequestedBackup};

use super::rows::{get, opt_time_at, optional_row, query_one, rows, secs, time_at};
use crate::rules::NewLease;
use crate::{CatalogError, Result};

const COLUMNS: &str = "id, instance_id, request_trigger, state, lease_token, lease_until, attempts,
                       created_at, claimed_at, backup_run_id, last_error";

fn request_at(row: &Row) -> Result<RequestedBackup> {
    let state: String = get(row, 3)?;
    Ok(RequestedBackup {
        id: get(row, 0)?,
        instance_id: get(row, 1)?,
        trigger: get(row, 2)?,
        state: RequestState::parse(&state).ok_or_else(|| {
            tracing::error!(%state, "invalid backup request state in catalog");
            CatalogError::Internal("invalid backup request state in catalog".into())
        })?,
        lease_token: get(row, 4)?,
        lease_until: opt_time_at(row, 5)?,
        attempts: get(row, 6)?,
        created_at: time_at(row, 7)?,
        claimed_at: opt_time_at(row, 8)?,
        backup_run_id: get(row, 9)?,
        last_error: get(row, 10)?,
    })
}

/// The instance's waiting or claimed request, if any (at most one is inserted while one is open;
/// callers hold the instance's row lock, so two changes cannot both find none).
pub(super) async fn open_request_of(
    c: &impl GenericClient,
    instance_id: i64,
) -> Result<Option<i64>> {
    optional_row(
        c,
        "SELECT id FROM backup_requests
         WHERE instance_id = $1 AND state IN ('waiting', 'claimed') LIMIT 1",
        &[&instance_id],
        |r| get(r, 0),
    )
    .await
}

/// Inserts a waiting request for a backup of the instance.
pub(super) async fn insert_request(
    tx: &Transaction<'_>,
    instance_id: i64,
    trigger: &str,
    now: Timestamp,
) -> Result<i64> {
    let row = query_one(
        tx,
        "INSERT INTO backup_requests (instance_id, request_trigger, state, created_at)
         VALUES ($1, $2, 'waiting', $3)
         RETURNING id",
        &[&instance_id, &trigger, &secs(now)],
    )
    .await?;
    get(&row, 0)
}

pub(super) async fn requested_backup(
    c: &impl GenericClient,
    id: i64,
) -> Result<Option<RequestedBackup>> {
    let sql = format!("SELECT {COLUMNS} FROM backup_requests WHERE id = $1");
    optional_row(c, &sql, &[&id], request_at).await
}

pub(super) async fn open_requested_backups(
    c: &impl GenericClient,
    instance_id: i64,
) -> Result<Vec<RequestedBackup>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM backup_requests
         WHERE instance_id = $1 AND state IN ('waiting', 'claimed') ORDER BY id"
    );
    rows(c, &sql, &[&instance_id], request_at).await
}

/// Claims the oldest claimable request with `lease`.
pub(super) async fn claim_requested_backup(
    tx: &Transaction<'_>,
    lease: NewLease,
) -> Result<Option<RequestedBackup>> {
    let sql = format!(
        "UPDATE backup_requests SET state = 'claimed', lease_token = $2, lease_until = $3,
                                    claimed_at = $1, attempts = attempts + 1,
                                    lease_holder = $4
         WHERE id = (SELECT id FROM backup_requests
                     WHERE state = 'waiting' OR (state = 'claimed' AND lease_until < $1)
                     ORDER BY id
                     LIMIT 1
                     FOR UPDATE SKIP LOCKED)
         RETURNING {COLUMNS}"
    );
    optional_row(
        tx,
        &sql,
        &[&lease.now, &lease.token, &lease.until, &lease.holder],
        request_at,
    )
    .await
}
