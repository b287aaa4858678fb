//! `ModifyInstanceCrossBackupPolicy`: turn an instance's cross-region backup on or off.
//!
//! The rules and the storing are the policy service's
//! ([`Catalog::change_cross_backup_policy`](xbak_catalog::Catalog::change_cross_backup_policy),
//! the same one `xbak policy set` calls): absent optional values keep what is stored; turning
//! the policy on (or keeping it on) queues the copy of the newest backup set of the last 24 hours
//! to the destination if that set has none there yet, as Alibaba copies the latest backup when
//! the feature is enabled. When the policy is turned on and the instance has no set that started
//! in the last 24 hours, a full backup is requested instead: a catalog row, inserted in the same
//! transaction, that any `xbak serve` with workers claims (the response does not wait for it);
//! once recorded, the set's copy is queued under the enabled policy like any other. Turning the
//! policy off stops new copies and keeps the old ones. `LogBackupEnabled` is stored and reported;
//! xbak does not copy binlogs yet.

use chrono::Utc;
use xbak_catalog::PolicyChangeError;
use xbak_domain::instance::DEFAULT_RETENTION_DAYS;
use xbak_domain::{PolicyChange, PolicyRefusal};
use xbak_protocol::actions::modify_instance_cross_backup_policy::ModifyInstanceCrossBackupPolicyParams;
use xbak_protocol::actions::render;
use xbak_protocol::ApiError;

use super::policy_fields::stored_policy;
use super::Call;
use crate::error::HandlerError;
use axum::body::Body;

pub async fn run(
    call: &Call<'_>,
    params: ModifyInstanceCrossBackupPolicyParams,
) -> Result<Body, HandlerError> {
    let instance = call.eligible_instance(&params.instance).await?;
    let change = PolicyChange {
        enabled: params.backup_enabled,
        dest_region_id: params.cross_backup_region.clone(),
        retention_days: params.retention,
        log_backup_enabled: params.log_backup_enabled,
    };
    let changed = match call
        .state
        .catalog
        .change_cross_backup_policy(instance.id, &change, Utc::now())
        .await
    {
        Ok(changed) => changed,
        Err(PolicyChangeError::Refused(refusal)) => return Err(api_error(refusal).into()),
        Err(PolicyChangeError::Catalog(e)) => return Err(e.into()),
    };
    if let Some(id) = changed.requested_backup_id {
        tracing::info!(
            instance = %instance.db_instance_id,
            request = id,
            "cross-region policy enabled with no backup set from the last 24 hours: full backup requested"
        );
    }
    let response = stored_policy(
        call.request_id,
        &instance,
        changed.stored.as_ref(),
        params.retention.unwrap_or(DEFAULT_RETENTION_DAYS),
    );
    Ok(Body::from(render(&response, call.format)))
}

/// The API's answer to a refused change.
fn api_error(refusal: PolicyRefusal) -> ApiError {
    match refusal {
        PolicyRefusal::MissingDestination => ApiError::Missing("CrossBackupRegion"),
        PolicyRefusal::SameRegion(_) | PolicyRefusal::UnknownRegion(_) => {
            ApiError::CrossBackupNotSupport
        }
        PolicyRefusal::RetentionOutOfRange(_) | PolicyRefusal::LogBackupWhileOff => {
            ApiError::InvalidParametersFormat
        }
    }
}
