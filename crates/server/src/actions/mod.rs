//! One file per action; [`dispatch`] routes a decoded action to it.

mod common;
pub mod describe_available_cross_region;
pub mod describe_cross_region_backups;
pub mod describe_instance_cross_backup_policy;
pub mod modify_instance_cross_backup_policy;

use crate::auth::Caller;
use crate::state::AppState;
use crate::Failure;
use axum::body::Body;
use xbak_protocol::actions::Action;
use xbak_protocol::{Format, RawParams};

/// Runs an authenticated action and returns the rendered success body.
pub async fn dispatch(
    state: &AppState,
    caller: &Caller,
    action: Action,
    params: &RawParams,
    request_id: &str,
    format: Format,
) -> Result<Body, Failure> {
    match action {
        Action::DescribeCrossRegionBackups => {
            describe_cross_region_backups::run(state, caller, params, request_id, format).await
        }
        Action::ModifyInstanceCrossBackupPolicy => {
            modify_instance_cross_backup_policy::run(state, caller, params, request_id, format)
                .await
                .map(Body::from)
        }
        Action::DescribeInstanceCrossBackupPolicy => {
            describe_instance_cross_backup_policy::run(state, caller, params, request_id, format)
                .await
                .map(Body::from)
        }
        Action::DescribeAvailableCrossRegion => {
            describe_available_cross_region::run(state, caller, params, request_id, format)
                .await
                .map(Body::from)
        }
    }
}
