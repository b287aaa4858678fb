//! Replay protection (nonces of signed requests) and server secrets (the link signing key).

use rusqlite::{Connection, Transaction};
use xbak_domain::time::Timestamp;

use super::errors::SqlResultExt;
use std::collections::HashSet;

use super::rows::{optional_row, secs, wall_clock};
use crate::rules::{new_link_key, parse_link_key, NonceBatch};
use crate::{CatalogError, Result, SeenNonce};

/// Claims each distinct nonce with an upsert that only takes over an expired claim.
pub(super) fn claim_nonces(
    tx: &Transaction<'_>,
    nonces: &[SeenNonce],
    now: Timestamp,
) -> Result<Vec<bool>> {
    let batch = NonceBatch::new(nonces);
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO nonces (access_key_id, nonce, expires_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (access_key_id, nonce) DO UPDATE SET expires_at = excluded.expires_at
             WHERE nonces.expires_at <= ?4",
        )
        .db()?;
    let mut won = HashSet::new();
    for n in &batch.distinct {
        let changed = stmt
            .execute((&n.access_key_id, &n.nonce, secs(n.expires_at), secs(now)))
            .db()?;
        if changed == 1 {
            won.insert((n.access_key_id.as_str(), n.nonce.as_str()));
        }
    }
    Ok(batch.answers(&won))
}

pub(super) fn prune_nonces(tx: &Transaction<'_>, now: Timestamp, limit: u32) -> Result<u64> {
    let n = tx
        .prepare_cached(
            "DELETE FROM nonces WHERE (access_key_id, nonce) IN
             (SELECT access_key_id, nonce FROM nonces WHERE expires_at <= ?1 LIMIT ?2)",
        )
        .db()?
        .execute((secs(now), limit))
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
