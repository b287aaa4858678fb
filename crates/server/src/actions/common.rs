//! What every handler is given besides its params ([`Call`]), and the lookups every
//! instance-scoped action shares.

use crate::auth::Caller;
use crate::error::HandlerError;
use crate::listing_cache::Tagged;
use crate::state::AppState;
use xbak_domain::Instance;
use xbak_protocol::actions::InstanceScope;
use xbak_protocol::{ApiError, Format};

/// One authenticated call: the server's state, who calls, the call's `RequestId` and the format
/// the answer is rendered in.
pub struct Call<'a> {
    /// The server's state.
    pub state: &'a AppState,
    /// The authenticated caller.
    pub caller: &'a Caller,
    /// The call's `RequestId`.
    pub request_id: &'a str,
    /// The answer's format.
    pub format: Format,
}

/// The scope's instance, if it exists, lives in the scope's `RegionId` and belongs to the caller.
/// All three misses answer the same 404 `InvalidDBInstance.NotFound`, so nobody learns what exists
/// elsewhere.
async fn visible_instance(
    state: &AppState,
    caller: &Caller,
    scope: &InstanceScope,
) -> Result<Instance, HandlerError> {
    own_instance(state, caller, &scope.db_instance_id, Some(&scope.region_id)).await
}

/// The caller's instance `db_instance_id`, in `region_id` when one is given; every miss answers
/// the same 404 `InvalidDBInstance.NotFound`.
async fn own_instance(
    state: &AppState,
    caller: &Caller,
    db_instance_id: &str,
    region_id: Option<&str>,
) -> Result<Instance, HandlerError> {
    let key = db_instance_id.to_owned();
    // The token before the read: a change committed meanwhile makes the entry stale at once.
    let token = state.listings.token();
    let found = match state.instances.get(&key) {
        Some(hit) if hit.is_current(token, state.config.lookup_ttl) => hit.value,
        _ => {
            let found = state
                .catalog
                .instance_by_db_instance_id(db_instance_id)
                .await?;
            state
                .instances
                .insert(key, Tagged::new(token, found.clone()));
            found
        }
    };
    found
        .filter(|i| region_id.is_none_or(|r| i.region_id == r))
        .filter(|i| i.account_id == caller.account_id)
        .ok_or_else(|| ApiError::InvalidDBInstanceNotFound.into())
}

/// A signed, expiring link to `object_key` in `region_id` and its expiry: the object store's own
/// presigned URL for S3-compatible regions, else a link to this server's `/download` route.
pub async fn object_link(
    state: &AppState,
    region_id: &str,
    object_key: &str,
) -> Result<(String, i64), HandlerError> {
    let ttl = state.config.link_ttl;
    let expires_at = chrono::Utc::now().timestamp() + ttl.as_secs() as i64;
    if let Some(store) = state.region_store(region_id).await? {
        let presigned = store
            .presigned_get(object_key, ttl)
            .await
            .map_err(|e| HandlerError::Internal(format!("presigning {object_key}: {e}")))?;
        if let Some(url) = presigned {
            return Ok((url, expires_at));
        }
    }
    Ok((
        state.links.sign(region_id, object_key, expires_at),
        expires_at,
    ))
}

impl Call<'_> {
    /// [`own_instance`] for the caller.
    pub async fn own_instance(
        &self,
        db_instance_id: &str,
        region_id: Option<&str>,
    ) -> Result<Instance, HandlerError> {
        own_instance(self.state, self.caller, db_instance_id, region_id).await
    }

    /// [`visible_instance`], refused with 403 `IncorrectDBInstanceType` when the instance cannot
    /// have cross-region backups.
    pub async fn eligible_instance(&self, scope: &InstanceScope) -> Result<Instance, HandlerError> {
        let instance = visible_instance(self.state, self.caller, scope).await?;
        if !instance.supports_cross_region_backup() {
            return Err(ApiError::IncorrectDBInstanceType.into());
        }
        Ok(instance)
    }
}
