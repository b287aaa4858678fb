//! `DescribeInstanceCrossBackupPolicy`: an instance's cross-region backup policy, with the
//! fields and defaults of [`policy_fields`].

use xbak_protocol::actions::describe_instance_cross_backup_policy::{
    render, DescribeInstanceCrossBackupPolicyParams, DescribeInstanceCrossBackupPolicyResponse,
};
use xbak_protocol::Format;

use super::common::eligible_instance;
use super::policy_fields::policy_fields;
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
    let response = DescribeInstanceCrossBackupPolicyResponse {
        request_id: request_id.to_owned(),
        region_id: instance.region_id.clone(),
        policy: policy_fields(&instance, policy.as_ref()),
    };
    Ok(Body::from(render(&response, format)))
}
