//! The actions xbak answers, one folder per action with its typed params, response model and
//! rendering, and the [`InstanceScope`] params the instance-scoped ones share.
//!
//! The server resolves the `Action` name into an [`Action`] before authenticating (an unknown
//! action is refused first), then decodes the request into a [`Request`], whose variant carries
//! that action's validated params, before any handler runs.

mod body;
pub mod cross_backup_policy;
pub mod describe_available_cross_region;
pub mod describe_available_recovery_time;
pub mod describe_binlog_files;
pub mod describe_cross_backup_meta_list;
pub mod describe_cross_region_backup_db_instance;
pub mod describe_cross_region_backups;
pub mod describe_cross_region_log_backup_files;
pub mod describe_instance_cross_backup_policy;
pub mod instance_scope;
pub mod modify_instance_cross_backup_policy;

pub use body::{render, SuccessBody};
pub use instance_scope::InstanceScope;

use crate::error::ApiError;
use crate::params::RawParams;
use describe_available_cross_region::{
    DescribeAvailableCrossRegionParams, DescribeAvailableCrossRegionResponse,
};
use describe_available_recovery_time::{
    DescribeAvailableRecoveryTimeParams, DescribeAvailableRecoveryTimeResponse,
};
use describe_binlog_files::{DescribeBinlogFilesParams, DescribeBinlogFilesResponse};
use describe_cross_backup_meta_list::{
    DescribeCrossBackupMetaListParams, DescribeCrossBackupMetaListResponse,
};
use describe_cross_region_backup_db_instance::{
    DescribeCrossRegionBackupDBInstanceParams, DescribeCrossRegionBackupDBInstanceResponse,
};
use describe_cross_region_backups::{
    DescribeCrossRegionBackupsParams, DescribeCrossRegionBackupsResponse,
};
use describe_cross_region_log_backup_files::{
    DescribeCrossRegionLogBackupFilesParams, DescribeCrossRegionLogBackupFilesResponse,
};
use describe_instance_cross_backup_policy::{
    DescribeInstanceCrossBackupPolicyParams, DescribeInstanceCrossBackupPolicyResponse,
};
use modify_instance_cross_backup_policy::{
    ModifyInstanceCrossBackupPolicyParams, ModifyInstanceCrossBackupPolicyResponse,
};

/// The only API version served: RDS 2014-08-15.
pub const API_VERSION: &str = "2014-08-15";

/// Declares [`Action`] and [`Request`] from one list of `Name(ParamsType) -> ResponseType`: the
/// variant's name is the action's wire name, the params type its validated parameters
/// (`from_params`), the response type its success body ([`SuccessBody`]).
macro_rules! actions {
    ($($name:ident($params:ty) -> $response:ty),* $(,)?) => {
        /// An RPC action name we implement.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Action {
            $(#[doc = concat!("`", stringify!($name), "`.")] $name,)*
        }

        impl Action {
            /// Every action, for listings and tests.
            pub const ALL: [Action; [$(stringify!($name)),*].len()] = [$(Action::$name),*];

            /// Looks up an action by its exact (case-sensitive) wire name.
            pub fn from_name(name: &str) -> Option<Action> {
                Action::ALL.into_iter().find(|a| a.name() == name)
            }

            /// The wire name, also the root of the XML response (`<Name>Response`).
            pub fn name(self) -> &'static str {
                match self {
                    $(Action::$name => stringify!($name),)*
                }
            }
        }

        /// A decoded request: the action with its validated params.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum Request {
            $(#[doc = concat!("`", stringify!($name), "`.")] $name($params),)*
        }

        impl Request {
            /// Validates the merged request params for `action`; the first bad param decides the
            /// error (each params module documents its checks and their order).
            pub fn decode(action: Action, params: &RawParams) -> Result<Request, ApiError> {
                Ok(match action {
                    $(Action::$name => Request::$name(<$params>::from_params(params)?),)*
                })
            }

            /// The action this request calls.
            pub fn action(&self) -> Action {
                match self {
                    $(Request::$name(_) => Action::$name,)*
                }
            }
        }

        $(impl SuccessBody for $response {
            const ACTION: Action = Action::$name;
        })*
    };
}

actions! {
    DescribeCrossRegionBackups(DescribeCrossRegionBackupsParams) -> DescribeCrossRegionBackupsResponse,
    ModifyInstanceCrossBackupPolicy(ModifyInstanceCrossBackupPolicyParams) -> ModifyInstanceCrossBackupPolicyResponse,
    DescribeInstanceCrossBackupPolicy(DescribeInstanceCrossBackupPolicyParams) -> DescribeInstanceCrossBackupPolicyResponse,
    DescribeAvailableCrossRegion(DescribeAvailableCrossRegionParams) -> DescribeAvailableCrossRegionResponse,
    DescribeCrossRegionBackupDBInstance(DescribeCrossRegionBackupDBInstanceParams) -> DescribeCrossRegionBackupDBInstanceResponse,
    DescribeCrossBackupMetaList(DescribeCrossBackupMetaListParams) -> DescribeCrossBackupMetaListResponse,
    DescribeBinlogFiles(DescribeBinlogFilesParams) -> DescribeBinlogFilesResponse,
    DescribeCrossRegionLogBackupFiles(DescribeCrossRegionLogBackupFilesParams)
        -> DescribeCrossRegionLogBackupFilesResponse,
    DescribeAvailableRecoveryTime(DescribeAvailableRecoveryTimeParams)
        -> DescribeAvailableRecoveryTimeResponse,
}

#[cfg(test)]
mod tests {
    use super::{Action, Request};
    use crate::error::ApiError;
    use crate::params::RawParams;

    #[test]
    fn names_round_trip_exactly() {
        for a in Action::ALL {
            assert_eq!(Action::from_name(a.name()), Some(a));
        }
        assert_eq!(Action::from_name("describecrossregionbackups"), None);
        assert_eq!(Action::from_name(""), None);
    }

    #[test]
    fn decode_keeps_the_action_and_its_params() {
        let raw: RawParams = [
            ("DBInstanceId", "rm-a"),
            ("RegionId", "cn-hangzhou"),
            ("CrossBackupId", "7"),
            ("BackupSetId", "7"),
            ("StartTime", "2026-01-01T00:00:00Z"),
            ("EndTime", "2026-01-02T00:00:00Z"),
        ]
        .into_iter()
        .collect();
        for a in Action::ALL {
            assert_eq!(Request::decode(a, &raw).unwrap().action(), a);
        }
        match Request::decode(Action::DescribeCrossRegionBackups, &raw).unwrap() {
            Request::DescribeCrossRegionBackups(p) => {
                assert_eq!(p.instance.db_instance_id, "rm-a");
                assert_eq!(p.cross_backup_id, Some(7));
            }
            other => panic!("decoded as {other:?}"),
        }
    }

    #[test]
    fn decode_refuses_with_the_actions_own_rules() {
        let region_only: RawParams = [("RegionId", "cn-hangzhou")].into_iter().collect();
        assert!(Request::decode(Action::DescribeAvailableCrossRegion, &region_only).is_ok());
        assert!(Request::decode(Action::DescribeCrossRegionBackupDBInstance, &region_only).is_ok());
        assert_eq!(
            Request::decode(Action::DescribeCrossBackupMetaList, &region_only),
            Err(ApiError::Missing("BackupSetId"))
        );
        for a in [
            Action::DescribeCrossRegionBackups,
            Action::ModifyInstanceCrossBackupPolicy,
            Action::DescribeInstanceCrossBackupPolicy,
        ] {
            assert_eq!(
                Request::decode(a, &region_only),
                Err(ApiError::Missing("DBInstanceId")),
                "{a:?}"
            );
        }
    }
}
