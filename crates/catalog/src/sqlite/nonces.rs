//! Replay protection (nonces of signed requests) and server secrets (the link signing key).

use rusqlite::{Connection, Transaction};
use xbak_domain::time::Timestamp;

use super::errors::SqlResultExt;
use super::rows::{optional_row, secs, time_at, wall_clock};
use crate::rules::{new_link_key, parse_link_key};
use crate::{CatalogError, Result, SeenNonce};

pub(super) fn remember_nonces(tx: &Transaction<'_>, nonces: &[SeenNonce]) -> Result<()> {
    let mut stmt = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO nonces (access_key_id, nonce, expires_at) VALUES (?1, ?2, ?3)",
        )
        .db()?;
    for n in nonces {
        stmt.execute((&n.access_key_id, &n.nonce, secs(n.expires_at)))
            .db()?;
    }
    Ok(())
}

pub(super) fn live_nonces(conn: &Connection, now: Timestamp) -> Result<Vec<SeenNonce>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT access_key_id, nonce, expires_at FROM nonces WHERE expires_at > ?1 ORDER BY expires_at, access_key_id, nonce",
        )
        .db()?;
    let rows = stmt
        .query_map([secs(now)], |row| {
            Ok(SeenNonce {
                access_key_id: row.get(0)?,
                nonce: row.get(1)?,
                expires_at: time_at(row, 2)?,
            })
        })
        .db()?;
    rows.collect::<rusqlite::Result<Vec<_>>>().db()
}

pub(super) fn prune_nonces(tx: &Transaction<'_>, now: Timestamp) -> Result<u64> {
    let n = tx
        .prepare_cached("DELETE FROM nonces WHERE expires_at <= ?1")
        .db()?
        .execute([secs(now)])
        .db()?;
    Ok(n as u64)
}

use crate::rules::LINK_KEY;

/// Reads the link signing key; `None` until it was created.
pub(super) fn read_link_signing_key(conn: &Connection) -> Result<Option<(String, String)>> {
    let value: Option<String> = optional_row(
        conn,
        "SELECT value FROM settings WHERE key = ?1",
        [LINK_KEY],
        |row| row.get(0),
    )?;
    value.map(|v| parse_link_key(&v)).transpose()
}

/// Creates the key unless some process already did, then returns the one stored.
pub(super) fn create_link_signing_key(tx: &Transaction<'_>) -> Result<(String, String)> {
    let value = new_link_key();
    tx.prepare_cached(
        "INSERT OR IGNORE INTO settings (key, value, updated_at) VALUES (?1, ?2, ?3)",
    )
    .db()?
    .execute((LINK_KEY, value, wall_clock()))
    .db()?;
    read_link_signing_key(tx)?
        .ok_or_else(|| CatalogError::Internal("link signing key vanished".into()))
}
