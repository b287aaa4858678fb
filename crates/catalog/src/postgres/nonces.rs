//! Replay protection (nonces of signed requests) and server secrets (the link signing key).

use deadpool_postgres::{GenericClient, Transaction};
use xbak_domain::time::Timestamp;

use super::rows::{execute, get, optional_row, query, secs, wall_clock};
use crate::rules::{new_link_key, parse_link_key, NonceBatch, LINK_KEY};
use crate::{CatalogError, Result, SeenNonce};

/// Claims the distinct nonces in one statement (in key order, see [`NonceBatch`]); a conflict
/// takes over only an expired claim, and the rows won come back.
pub(super) async fn claim_nonces(
    c: &impl GenericClient,
    nonces: &[SeenNonce],
    now: Timestamp,
) -> Result<Vec<bool>> {
    let batch = NonceBatch::new(nonces);
    let keys: Vec<&str> = batch
        .distinct
        .iter()
        .map(|n| n.access_key_id.as_str())
        .collect();
    let values: Vec<&str> = batch.distinct.iter().map(|n| n.nonce.as_str()).collect();
    let expiries: Vec<i64> = batch.distinct.iter().map(|n| secs(n.expires_at)).collect();
    let rows = query(
        c,
        "INSERT INTO nonces AS n (access_key_id, nonce, expires_at)
         SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[], $3::BIGINT[])
         ON CONFLICT (access_key_id, nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at
         WHERE n.expires_at <= $4
         RETURNING access_key_id, nonce",
        &[&keys, &values, &expiries, &secs(now)],
    )
    .await?;
    let won: Vec<(String, String)> = rows
        .iter()
        .map(|row| Ok((get(row, 0)?, get(row, 1)?)))
        .collect::<Result<_>>()?;
    Ok(batch.answers(&won.iter().map(|(k, n)| (k.as_str(), n.as_str())).collect()))
}

/// Deletes up to `limit` expired claims; the outer condition is checked again on a row a
/// concurrent claim took over meanwhile, which then stays.
pub(super) async fn prune_nonces(
    c: &impl GenericClient,
    now: Timestamp,
    limit: u32,
) -> Result<u64> {
    execute(
        c,
        "DELETE FROM nonces WHERE expires_at <= $1 AND (access_key_id, nonce) IN
         (SELECT access_key_id, nonce FROM nonces WHERE expires_at <= $1 LIMIT $2)",
        &[&secs(now), &i64::from(limit)],
        || "nonce".to_string(),
    )
    .await
}

/// Reads the link signing key; `None` until it was created.
pub(super) async fn read_link_signing_key(
    c: &impl GenericClient,
) -> Result<Option<(String, String)>> {
    optional_row(
        c,
        "SELECT value FROM settings WHERE key = $1",
        &[&LINK_KEY],
        |row| parse_link_key(&get::<String>(row, 0)?),
    )
    .await
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
