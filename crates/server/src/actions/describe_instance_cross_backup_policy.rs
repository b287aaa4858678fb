//! `DescribeInstanceCrossBackupPolicy`: an instance's cross-region backup policy, with the
//! fields and defaults of [`policy_fields`].

use xbak_protocol::actions::describe_instance_cross_backup_policy::{
    DescribeInstanceCrossBackupPolicyParams, DescribeInstanceCrossBackupPolicyResponse,
};
use xbak_protocol::actions::render;

use super::policy_fields::policy_fields;
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
    let response = DescribeInstanceCrossBackupPolicyResponse {
        request_id: call.request_id.to_owned(),
        region_id: instance.region_id.clone(),
        policy: policy_fields(&instance, policy.as_ref()),
    };
    Ok(Body::from(render(&response, call.format)))
}
