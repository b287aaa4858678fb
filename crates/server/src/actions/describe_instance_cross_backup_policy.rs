//! `DescribeInstanceCrossBackupPolicy`: an instance's cross-region backup policy.
//!
//! An instance that never had a policy reports both switches `Disable`, empty enable times and
//! destination, and the default retention (7 days). `DBInstanceStatus` is always `Running` and
//! `LockMode` `Unlock` (xbak does not track either); `DBInstanceDescription` is empty (xbak keeps
//! no description).

use xbak_domain::instance::DEFAULT_RETENTION_DAYS;
use xbak_protocol::actions::describe_instance_cross_backup_policy::{
    render, DescribeInstanceCrossBackupPolicyParams, DescribeInstanceCrossBackupPolicyResponse,
};
use xbak_protocol::time::format_utc;

use super::stored_policy::stored_policy;
use super::Call;
use crate::error::HandlerError;
use axum::body::Body;

/// Answers `DescribeInstanceCrossBackupPolicy` for a visible, eligible instance.
pub async fn run(
    call: &Call<'_>,
    params: DescribeInstanceCrossBackupPolicyParams,
) -> Result<Body, HandlerError> {
    let instance = call.eligible_instance(&params.instance).await?;
    let policy = call.state.catalog.cross_backup_policy(instance.id).await?;
    let stored = stored_policy(
        call.request_id,
        &instance,
        policy.as_ref(),
        DEFAULT_RETENTION_DAYS,
    );
    let time = |t: Option<xbak_domain::time::Timestamp>| t.map(format_utc).unwrap_or_default();
    let response = DescribeInstanceCrossBackupPolicyResponse {
        request_id: stored.request_id,
        db_instance_id: stored.db_instance_id,
        region_id: stored.region_id,
        backup_enabled: stored.backup_enabled,
        backup_enabled_time: time(policy.as_ref().and_then(|p| p.backup_enabled_at)),
        log_backup_enabled: stored.log_backup_enabled,
        log_backup_enabled_time: time(policy.as_ref().and_then(|p| p.log_backup_enabled_at)),
        cross_backup_region: stored.cross_backup_region,
        cross_backup_type: stored.cross_backup_type,
        retent_type: stored.retent_type,
        retention: stored.retention,
        engine: instance.engine.clone(),
        engine_version: instance.engine_version.clone(),
        db_instance_status: "Running".to_owned(),
        lock_mode: "Unlock".to_owned(),
        db_instance_description: String::new(),
    };
    Ok(Body::from(render(&response, call.format)))
}
