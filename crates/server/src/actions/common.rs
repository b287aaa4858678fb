//! What every handler is given besides its params ([`Call`]), and the lookups every
//! instance-scoped action shares.

use crate::auth::Caller;
use crate::error::HandlerError;
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
    let InstanceScope {
        db_instance_id,
        region_id,
        ..
    } = scope;
    let key = db_instance_id.clone();
    let found = match state.instances.get(&key) {
        Some(hit) => hit,
        None => {
            let found = state
                .catalog
                .instance_by_db_instance_id(db_instance_id)
                .await?;
            state.instances.insert(key, found.clone());
            found
        }
    };
    found
        .filter(|i| i.region_id == *region_id && i.account_id == caller.account_id)
        .ok_or_else(|| ApiError::InvalidDBInstanceNotFound.into())
}

impl Call<'_> {
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
