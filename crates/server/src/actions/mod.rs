//! One file per action; [`dispatch`] hands a decoded request's params to its handler.
//!
//! Every handler has the same shape: `run(call, params)` returns the rendered success body or a
//! [`HandlerError`]; [`Call`] carries what every handler is given besides its params.

mod backup_meta;
mod common;
pub mod describe_available_cross_region;
pub mod describe_binlog_files;
pub mod describe_cross_backup_meta_list;
pub mod describe_cross_region_backup_db_instance;
pub mod describe_cross_region_backups;
pub mod describe_instance_cross_backup_policy;
pub mod modify_instance_cross_backup_policy;
mod policy_fields;
mod stored_policy;

pub use common::Call;

use crate::error::HandlerError;
use axum::body::Body;
use xbak_protocol::actions::Request;

/// Runs an authenticated, decoded request and returns the rendered success body.
pub async fn dispatch(call: &Call<'_>, request: Request) -> Result<Body, HandlerError> {
    match request {
        Request::DescribeCrossRegionBackups(params) => {
            describe_cross_region_backups::run(call, params).await
        }
        Request::ModifyInstanceCrossBackupPolicy(params) => {
            modify_instance_cross_backup_policy::run(call, params).await
        }
        Request::DescribeInstanceCrossBackupPolicy(params) => {
            describe_instance_cross_backup_policy::run(call, params).await
        }
        Request::DescribeAvailableCrossRegion(params) => {
            describe_available_cross_region::run(call, params).await
        }
        Request::DescribeCrossRegionBackupDBInstance(params) => {
            describe_cross_region_backup_db_instance::run(call, params).await
        }
        Request::DescribeCrossBackupMetaList(params) => {
            describe_cross_backup_meta_list::run(call, params).await
        }
        Request::DescribeBinlogFiles(params) => describe_binlog_files::run(call, params).await,
    }
}
