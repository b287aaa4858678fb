//! Replay protection (nonces of signed requests) and server secrets (the link signing key).

use std::collections::HashSet;

use deadpool_postgres::{GenericClient, Transaction};
use uuid::Uuid;
use xbak_domain::time::Timestamp;

use super::rows::{execute, get, optional_row, query, secs, wall_clock};
use crate::rules::{new_link_key, parse_link_key, Fingerprint, NonceBatch, LINK_KEY};
use crate::{CatalogError, Result, SeenNonce};

/// Catalog migration 8: replay claims keyed by their [`Fingerprint`] (16 bytes) instead of the
/// AccessKeyId and nonce as text: ~97 B of table and indexes a claim instead of ~240 B (2 GB
/// instead of 5.5 GB for the 21–23 million claims of 16 minutes of cached calls), and at 10
/// million claims a batch of 17 is made 1.47× as often (pgbench, bench/results.md
/// 2026-12-07T17:20Z; server CPU a call under sustained load was no lower, 17:26:51Z).
///
/// The claims not yet pruned (expired less than the upkeep's margin ago included) move over
/// under an exclusive lock of `nonces`, so none is left behind: older servers' claims wait for
/// the copy (~9 s a million claims). An older binary still running beside a newer one during a
/// rolling upgrade then keeps claiming into `nonces`, where a trigger claims the same
/// fingerprint in `nonce_claims` first and drops the row (the older binary's claim is refused)
/// when that fingerprint is taken and live. So both generations see each other's claims, and a
/// replay is refused across them. The trigger counts a claim expired only a minute after its
/// expiry by the database's clock, so that a server clock behind it never has a live claim taken
/// over.
pub(super) const V8_NONCE_FINGERPRINTS: &str = r#"
LOCK TABLE nonces IN ACCESS EXCLUSIVE MODE;
CREATE FUNCTION nonce_fingerprint(access_key_id TEXT, nonce TEXT) RETURNS UUID
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT encode(substring(sha256(int8send(octet_length(convert_to(access_key_id, 'UTF8'))::BIGINT)
        || convert_to(access_key_id, 'UTF8') || convert_to(nonce, 'UTF8')) FROM 1 FOR 16),
        'hex')::UUID
$$;
CREATE TABLE nonce_claims (
    fp          UUID PRIMARY KEY,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX nonce_claims_by_expiry ON nonce_claims (expires_at);
INSERT INTO nonce_claims (fp, expires_at)
SELECT nonce_fingerprint(access_key_id, nonce), MAX(expires_at) FROM nonces
WHERE expires_at > EXTRACT(EPOCH FROM now()) - 300 GROUP BY 1;
TRUNCATE nonces;
CREATE FUNCTION nonces_claim_fingerprints() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO nonce_claims AS c (fp, expires_at)
    VALUES (nonce_fingerprint(NEW.access_key_id, NEW.nonce), NEW.expires_at)
    ON CONFLICT (fp) DO UPDATE SET expires_at = EXCLUDED.expires_at
    WHERE c.expires_at < EXTRACT(EPOCH FROM clock_timestamp()) - 60;
    IF FOUND THEN
        RETURN NEW;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER nonces_claim_fingerprints BEFORE INSERT ON nonces
FOR EACH ROW EXECUTE FUNCTION nonces_claim_fingerprints();
"#;

/// Claims the distinct nonces in one statement (in fingerprint order, see [`NonceBatch`]); a
/// conflict takes over only an expired claim, and the claims won come back.
pub(super) async fn claim_nonces(
    c: &impl GenericClient,
    nonces: &[SeenNonce],
    now: Timestamp,
) -> Result<Vec<bool>> {
    let batch = NonceBatch::new(nonces);
    let (fingerprints, expiries): (Vec<Uuid>, Vec<i64>) = batch
        .distinct
        .iter()
        .map(|(fp, n)| (Uuid::from_bytes(*fp), secs(n.expires_at)))
        .unzip();
    let rows = query(
        c,
        "INSERT INTO nonce_claims AS c (fp, expires_at)
         SELECT * FROM UNNEST($1::UUID[], $2::BIGINT[])
         ON CONFLICT (fp) DO UPDATE SET expires_at = EXCLUDED.expires_at
         WHERE c.expires_at <= $3
         RETURNING fp",
        &[&fingerprints, &expiries, &secs(now)],
    )
    .await?;
    let won: HashSet<Fingerprint> = rows
        .iter()
        .map(|row| Ok(get::<Uuid>(row, 0)?.into_bytes()))
        .collect::<Result<_>>()?;
    Ok(batch.answers(&won))
}

/// Deletes up to `limit` expired claims; the outer condition is checked again on a row a
/// concurrent claim took over meanwhile, which then stays. Expired rows an older binary left in
/// `nonces` during an upgrade (see [`V8_NONCE_FINGERPRINTS`]) go too.
pub(super) async fn prune_nonces(
    c: &impl GenericClient,
    now: Timestamp,
    limit: u32,
) -> Result<u64> {
    let mut left = i64::from(limit);
    for sql in [
        "DELETE FROM nonce_claims WHERE expires_at <= $1 AND fp IN
         (SELECT fp FROM nonce_claims WHERE expires_at <= $1 LIMIT $2)",
        "DELETE FROM nonces WHERE expires_at <= $1 AND (access_key_id, nonce) IN
         (SELECT access_key_id, nonce FROM nonces WHERE expires_at <= $1 LIMIT $2)",
    ] {
        if left > 0 {
            // At most `left` rows, so the count fits.
            left -= execute(c, sql, &[&secs(now), &left], || "nonce".to_string()).await? as i64;
        }
    }
    Ok((i64::from(limit) - left) as u64)
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
