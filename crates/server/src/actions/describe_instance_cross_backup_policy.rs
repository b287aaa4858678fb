//! `DescribeInstanceCrossBackupPolicy`: an instance's cross-region backup policy.
//!
//! An instance that never had a policy reports both switches `Disable`, empty enable times and
//! destination, and the default retention (7 days). `DBInstanceStatus` is always `Running` and
//! `LockMode` `Unlock` (xbak does not track either); `DBInstanceDescription` is empty (xbak keeps
//! no description).

use xbak_domain::instance::DEFAULT_RETENTION_DAYS;
use xbak_protocol::actions::describe_instance_cross_backup_policy::response::enable_word;
use xbak_protocol::actions::describe_instance_cross_backup_policy::{
    render, DescribeInstanceCrossBackupPolicyParams, DescribeInstanceCrossBackupPolicyResponse,
};
use xbak_protocol::actions::modify_instance_cross_backup_policy::params::ONLY_TYPE;
use xbak_protocol::time::format_utc;
use xbak_protocol::Format;

use super::common::eligible_instance;
use crate::auth::Caller;
use crate::error::HandlerError;
use crate::state::AppState;
use axum::body::Body;

/// Answers `DescribeInstanceCrossBackupPolicy` for a visible, eligible instance.
pub async fn run(
    state: &AppState,
    caller: &Caller,
    params: DescribeInstanceCrossBackupPolicyParams,
    request_id: &str,
    format: Format,
) -> Result<Body, HandlerError> {
    let instance = eligible_instance(state, caller, &params.instance).await?;
    let policy = state.catalog.cross_backup_policy(instance.id).await?;
    let time = |t: Option<xbak_domain::time::Timestamp>| t.map(format_utc).unwrap_or_default();
    let response = DescribeInstanceCrossBackupPolicyResponse {
        request_id: request_id.to_owned(),
        db_instance_id: instance.db_instance_id.clone(),
        region_id: instance.region_id.clone(),
        backup_enabled: enable_word(policy.as_ref().is_some_and(|p| p.policy.enabled)).to_owned(),
        backup_enabled_time: time(policy.as_ref().and_then(|p| p.backup_enabled_at)),
        log_backup_enabled: enable_word(policy.as_ref().is_some_and(|p| p.log_backup_enabled))
            .to_owned(),
        log_backup_enabled_time: time(policy.as_ref().and_then(|p| p.log_backup_enabled_at)),
        cross_backup_region: policy
            .as_ref()
            .map(|p| p.policy.dest_region_id.clone())
            .unwrap_or_default(),
        cross_backup_type: ONLY_TYPE.to_owned(),
        retent_type: 1,
        retention: policy
            .as_ref()
            .map_or(DEFAULT_RETENTION_DAYS, |p| p.policy.retention_days),
        engine: instance.engine.clone(),
        engine_version: instance.engine_version.clone(),
        db_instance_status: "Running".to_owned(),
        lock_mode: "Unlock".to_owned(),
        db_instance_description: String::new(),
    };
    Ok(Body::from(render(&response, format)))
}
