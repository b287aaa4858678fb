//! Lookups every instance-scoped action shares.

use crate::auth::Caller;
use crate::state::AppState;
use crate::Failure;
use xbak_domain::Instance;
use xbak_protocol::ApiError;

/// The instance, if it exists, lives in `region_id` and belongs to the caller. All three misses
/// answer the same 404 `InvalidDBInstance.NotFound`, so nobody learns what exists elsewhere.
pub async fn visible_instance(
    state: &AppState,
    caller: &Caller,
    db_instance_id: &str,
    region_id: &str,
) -> Result<Instance, Failure> {
    let key = db_instance_id.to_owned();
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
        .filter(|i| i.region_id == region_id && i.account_id == caller.account_id)
        .ok_or_else(|| ApiError::InvalidDBInstanceNotFound.into())
}

/// [`visible_instance`], refused with 403 `IncorrectDBInstanceType` when the instance cannot
/// have cross-region backups.
pub async fn eligible_instance(
    state: &AppState,
    caller: &Caller,
    db_instance_id: &str,
    region_id: &str,
) -> Result<Instance, Failure> {
    let instance = visible_instance(state, caller, db_instance_id, region_id).await?;
    if !instance.supports_cross_region_backup() {
        return Err(ApiError::IncorrectDBInstanceType.into());
    }
    Ok(instance)
}
