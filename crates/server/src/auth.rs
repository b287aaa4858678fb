//! Authentication of RPC calls: signature (v1 or v3), clock window, AccessKey, nonce.
//!
//! Order matters for what a caller learns: a malformed or expired request is refused before any
//! key lookup, an unknown key before the signature, and a nonce is only consumed by a request
//! whose signature is valid (so nobody can burn another caller's nonces). An AccessKeyId that
//! cannot be one is refused by [`sign::claim`] before any lookup, and unknown ids are remembered
//! apart from real keys, in a small cache, so unauthenticated callers can neither grow the
//! process nor evict the keys of real ones.

use crate::error::HandlerError;
use crate::state::AppState;
use chrono::Utc;
use xbak_protocol::sign::{self, Claim, IncomingRequest};
use xbak_protocol::ApiError;

/// Who made an authenticated call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub access_key_id: String,
    pub account_id: i64,
}

/// Authenticates `req` or says why not.
pub async fn authenticate(
    state: &AppState,
    req: &IncomingRequest<'_>,
) -> Result<Caller, HandlerError> {
    let claim = sign::claim(req)?;
    let (access_key_id, nonce, timestamp) = match &claim {
        Claim::V1 {
            access_key_id,
            nonce,
            timestamp,
        } => (access_key_id.as_str(), nonce.as_str(), timestamp.as_str()),
        Claim::V3 {
            auth,
            nonce,
            timestamp,
            ..
        } => (
            auth.access_key_id.as_str(),
            nonce.as_str(),
            timestamp.as_str(),
        ),
    };
    let signed_at = check_clock(state, timestamp)?;

    let key = lookup_key(state, access_key_id)
        .await?
        .ok_or(ApiError::InvalidAccessKeyIdNotFound)?;
    if !key.enabled {
        return Err(ApiError::InvalidAccessKeyIdInactive.into());
    }
    sign::verify(req, &claim, &key.secret)?;
    if !state
        .nonces
        .check_and_remember(&key.access_key_id, nonce, signed_at)
        .await?
    {
        return Err(ApiError::SignatureNonceUsed.into());
    }
    state
        .budgets
        .take(&key.access_key_id)
        .map_err(|wait| ApiError::Throttling {
            retry_after_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1),
        })?;
    Ok(Caller {
        access_key_id: key.access_key_id,
        account_id: key.account_id,
    })
}

/// The request's signing time, if it is within the allowed skew of now.
fn check_clock(state: &AppState, timestamp: &str) -> Result<chrono::DateTime<Utc>, ApiError> {
    let ts = xbak_protocol::time::parse_utc_seconds(timestamp).ok_or(ApiError::TimestampFormat)?;
    let skew = chrono::Duration::from_std(state.config.clock_skew)
        .unwrap_or(chrono::Duration::minutes(15));
    let now = Utc::now();
    if ts < now - skew || ts > now + skew {
        return Err(ApiError::TimestampExpired);
    }
    Ok(ts)
}

async fn lookup_key(
    state: &AppState,
    access_key_id: &str,
) -> Result<Option<xbak_domain::AccessKey>, HandlerError> {
    let id = access_key_id.to_owned();
    if let Some(hit) = state.keys.get(&id) {
        return Ok(Some(hit));
    }
    if state.unknown_keys.get(&id).is_some() {
        return Ok(None);
    }
    let found = state.catalog.access_key(access_key_id).await?;
    match &found {
        Some(key) => state.keys.insert(id, key.clone()),
        None => state.unknown_keys.insert(id, ()),
    }
    Ok(found)
}
