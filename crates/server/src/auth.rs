//! Authentication of RPC calls: signature (v1 or v3), clock window, AccessKey, nonce.
//!
//! Order matters for what a caller learns: a malformed or expired request is refused before any
//! key lookup, an unknown key before the signature, and a nonce is only consumed by a request
//! whose signature is valid (so nobody can burn another caller's nonces). An AccessKeyId that
//! cannot be one is refused by [`sign::claim`] before any lookup, and unknown ids are remembered
//! apart from real keys, in a small cache, so unauthenticated callers can neither grow the
//! process nor evict the keys of real ones.
//!
//! Two steps: [`verify`] checks all but the nonce, [`admit`] claims the nonce (in the catalog,
//! unless this server refuses it from memory) and spends the budget, so that the RPC endpoint
//! can run a read-only action meanwhile.

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

/// A call whose signature, clock and AccessKey are checked, its nonce not yet claimed: what
/// [`admit`] needs to finish authenticating it.
pub struct Verified {
    /// Who signed the call.
    pub caller: Caller,
    nonce: String,
    signed_at: chrono::DateTime<Utc>,
}

/// Checks everything of `req`'s authentication but its nonce, or says why not.
pub async fn verify(state: &AppState, req: &IncomingRequest<'_>) -> Result<Verified, HandlerError> {
    let claim = sign::claim(req)?;
    let (access_key_id, nonce, timestamp) = match &claim {
        Claim::V1 {
            access_key_id,
            nonce,
            timestamp,
        } => (access_key_id.as_str(), nonce, timestamp.as_str()),
        Claim::V3 {
            auth,
            nonce,
            timestamp,
            ..
        } => (auth.access_key_id.as_str(), nonce, timestamp.as_str()),
    };
    let signed_at = check_clock(state, timestamp)?;

    let key = lookup_key(state, access_key_id)
        .await?
        .ok_or(ApiError::InvalidAccessKeyIdNotFound)?;
    if !key.enabled {
        return Err(ApiError::InvalidAccessKeyIdInactive.into());
    }
    sign::verify(req, &claim, &key.secret)?;
    Ok(Verified {
        nonce: nonce.clone(),
        signed_at,
        caller: Caller {
            access_key_id: key.access_key_id,
            account_id: key.account_id,
        },
    })
}

/// Claims a verified call's nonce, then spends a call of its AccessKey's budget.
pub async fn admit(state: &AppState, verified: &Verified) -> Result<(), HandlerError> {
    claim_nonce(state, verified).await?;
    spend_budget(state, &verified.caller.access_key_id)
}

/// Claims a verified call's nonce: `SignatureNonceUsed` if it was used (and has not expired).
pub async fn claim_nonce(state: &AppState, verified: &Verified) -> Result<(), HandlerError> {
    let key = &verified.caller.access_key_id;
    if state
        .nonces
        .check_and_remember(key, &verified.nonce, verified.signed_at)
        .await?
    {
        Ok(())
    } else {
        Err(ApiError::SignatureNonceUsed.into())
    }
}

/// Spends a call of `access_key_id`'s budget: `Throttling.User` when it has none.
pub fn spend_budget(state: &AppState, access_key_id: &str) -> Result<(), HandlerError> {
    state
        .budgets
        .take(access_key_id)
        .map_err(|wait| ApiError::Throttling {
            retry_after_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1),
        })?;
    Ok(())
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
