//! `DescribeAvailableRecoveryTime`: typed request and the response model of the protocol crate.
//! The window a cross-region copy can be restored to: from its set's consistent time to the end
//! of the unbroken binlog coverage in the copy's region.

pub use xbak_protocol::actions::describe_available_recovery_time::DescribeAvailableRecoveryTimeResponse;

use crate::action::action;

/// The action's wire name.
pub const ACTION: &str = "DescribeAvailableRecoveryTime";

action! {
    /// The recovery window of one cross-region copy.
    fn describe_available_recovery_time(ACTION) -> DescribeAvailableRecoveryTimeResponse;

    /// Request parameters.
    pub struct DescribeAvailableRecoveryTimeRequest {
        /// The window of the copy with `CrossBackupId` `cross_backup_id`.
        new(cross_backup_id: i64 = "CrossBackupId");
        /// `DBInstanceId`: the copy must be of this instance.
        db_instance_id: String = "DBInstanceId",
        /// `RegionId`: the instance's region (the client's when `None`).
        region_id: String = "RegionId",
    }
}
