//! One file per action; [`dispatch`] hands a decoded request's params to its handler.
//!
//! Every handler has the same shape: `run(state, caller, params, request_id, format)` returns the
//! rendered success body or a [`HandlerError`].

mod backup_meta;
mod common;
pub mod describe_available_cross_region;
pub mod describe_cross_backup_meta_list;
pub mod describe_cross_region_backup_db_instance;
pub mod describe_cross_region_backups;
pub mod describe_instance_cross_backup_policy;
pub mod modify_instance_cross_backup_policy;
mod policy_fields;

use crate::auth::Caller;
use crate::error::HandlerError;
use crate::state::AppState;
use axum::body::Body;
use xbak_protocol::actions::Request;
use xbak_protocol::Format;

/// Runs an authenticated, decoded request and returns the rendered success body.
pub async fn dispatch(
    state: &AppState,
    caller: &Caller,
    request: Request,
    request_id: &str,
    format: Format,
) -> Result<Body, HandlerError> {
    match request {
        Request::DescribeCrossRegionBackups(params) => {
            describe_cross_region_backups::run(state, caller, params, request_id, format).await
        }
        Request::ModifyInstanceCrossBackupPolicy(params) => {
            modify_instance_cross_backup_policy::run(state, caller, params, request_id, format)
                .await
        }
        Request::DescribeInstanceCrossBackupPolicy(params) => {
            describe_instance_cross_backup_policy::run(state, caller, params, request_id, format)
                .await
        }
        Request::DescribeAvailableCrossRegion(params) => {
            describe_available_cross_region::run(state, caller, params, request_id, format).await
        }
        Request::DescribeCrossRegionBackupDBInstance(params) => {
            describe_cross_region_backup_db_instance::run(state, caller, params, request_id, format)
                .await
        }
        Request::DescribeCrossBackupMetaList(params) => {
            describe_cross_backup_meta_list::run(state, caller, params, request_id, format).await
        }
    }
}
