//! One file per action; [`dispatch`] hands a decoded request's params to its handler.
//!
//! Every handler has the same shape: `run(call, params)` returns the rendered success body or a
//! [`HandlerError`]; [`Call`] carries what every handler is given besides its params.

mod backup_meta;
mod common;
pub mod describe_available_cross_region;
pub mod describe_available_recovery_time;
pub mod describe_binlog_files;
pub mod describe_cross_backup_meta_list;
pub mod describe_cross_region_backup_db_instance;
pub mod describe_cross_region_backups;
pub mod describe_cross_region_log_backup_files;
pub mod describe_instance_cross_backup_policy;
mod log_files;
pub mod modify_instance_cross_backup_policy;
mod policy_fields;

pub use common::Call;

use crate::error::HandlerError;
use axum::body::Body;
use xbak_protocol::actions::Request;

/// Runs an authenticated, decoded request and returns the rendered success body.
pub async fn dispatch(call: &Call<'_>, request: Request) -> Result<Body, HandlerError> {
    /// One arm per action: the `Request` variant and the module whose `run` answers it.
    macro_rules! handlers {
        ($($action:ident => $module:ident),* $(,)?) => {
            match request {
                $(Request::$action(params) => $module::run(call, params).await,)*
            }
        };
    }
    handlers! {
        DescribeCrossRegionBackups => describe_cross_region_backups,
        ModifyInstanceCrossBackupPolicy => modify_instance_cross_backup_policy,
        DescribeInstanceCrossBackupPolicy => describe_instance_cross_backup_policy,
        DescribeAvailableCrossRegion => describe_available_cross_region,
        DescribeCrossRegionBackupDBInstance => describe_cross_region_backup_db_instance,
        DescribeCrossBackupMetaList => describe_cross_backup_meta_list,
        DescribeBinlogFiles => describe_binlog_files,
        DescribeCrossRegionLogBackupFiles => describe_cross_region_log_backup_files,
        DescribeAvailableRecoveryTime => describe_available_recovery_time,
    }
}
