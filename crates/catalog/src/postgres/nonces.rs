//! Replay protection (nonces of signed requests) and server secrets (the link signing key).

use deadpool_postgres::{GenericClient, Transaction};
use xbak_domain::time::Timestamp;

use super::rows::{execute, get, query, query_opt, secs, time_at, wall_clock};
use crate::rules::{new_link_key, parse_link_key, LINK_KEY};
use crate::{CatalogError, Result, SeenNonce};

/// Remembers all `nonces` in one statement; duplicates are ignored.
pub(super) async fn remember_nonces(tx: &Transaction<'_>, nonces: &[SeenNonce]) -> Result<()> {
    let keys: Vec<&str> = nonces.iter().map(|n| n.access_key_id.as_str()).collect();
    let values: Vec<&str> = nonces.iter().map(|n| n.nonce.as_str()).collect();
    let expiries: Vec<i64> = nonces.iter().map(|n| secs(n.expires_at)).collect();
    execute(
        tx,
        "INSERT INTO nonces (access_key_id, nonce, expires_at)
         SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[], $3::BIGINT[])
         ON CONFLICT (access_key_id, nonce) DO NOTHING",
        &[&keys, &values, &expiries],
        || "nonce".to_string(),
    )
    .await?;
    Ok(())
}

pub(super) async fn live_nonces(c: &impl GenericClient, now: Timestamp) -> Result<Vec<SeenNonce>> {
    query(
        c,
        "SELECT access_key_id, nonce, expires_at FROM nonces WHERE expires_at > $1
         ORDER BY expires_at, access_key_id COLLATE \"C\", nonce COLLATE \"C\"",
        &[&secs(now)],
    )
    .await?
    .iter()
    .map(|row| {
        Ok(SeenNonce {
            access_key_id: get(row, 0)?,
            nonce: get(row, 1)?,
            expires_at: time_at(row, 2)?,
        })
    })
    .collect()
}

pub(super) async fn prune_nonces(tx: &Transaction<'_>, now: Timestamp) -> Result<u64> {
    execute(
        tx,
        "DELETE FROM nonces WHERE expires_at <= $1",
        &[&secs(now)],
        || "nonce".to_string(),
    )
    .await
}

/// Reads the link signing key; `None` until it was created.
pub(super) async fn read_link_signing_key(
    c: &impl GenericClient,
) -> Result<Option<(String, String)>> {
    query_opt(c, "SELECT value FROM settings WHERE key = $1", &[&LINK_KEY])
        .await?
        .map(|row| parse_link_key(&get::<String>(&row, 0)?))
        .transpose()
}

/// Creates the key unless some process already did, then returns the one stored.
pub(super) async fn create_link_signing_key(tx: &Transaction<'_>) -> Result<(String, String)> {
    execute(
        tx,
        "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (key) DO NOTHING",
        &[&LINK_KEY, &new_link_key(), &wall_clock()],
        || "link signing key".to_string(),
    )
    .await?;
    read_link_signing_key(tx)
        .await?
        .ok_or_else(|| CatalogError::Internal("link signing key vanished".into()))
}
