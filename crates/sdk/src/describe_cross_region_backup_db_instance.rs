//! `DescribeCrossRegionBackupDBInstance`: typed request and the response model of the protocol
//! crate. Lists the instances of a region whose cross-region backup is on, with their policies.

pub use xbak_protocol::actions::cross_backup_policy::InstanceCrossBackupPolicy;
pub use xbak_protocol::actions::describe_cross_region_backup_db_instance::{
    DescribeCrossRegionBackupDBInstanceResponse, PolicyItems,
};

use crate::action::action;

/// The action's wire name.
pub const ACTION: &str = "DescribeCrossRegionBackupDBInstance";

action! {
    /// One page of the region's instances whose cross-region backup is on (`Items.Item[]`).
    fn describe_cross_region_backup_db_instance(ACTION) -> DescribeCrossRegionBackupDBInstanceResponse;

    /// Request parameters. `RegionId` falls back to the client's region when `None`.
    pub struct DescribeCrossRegionBackupDBInstanceRequest {
        /// A request for every instance of the client's region.
        new();
        /// `DBInstanceId`: up to 30 ids, comma-separated; all instances when `None`.
        db_instance_id: String = "DBInstanceId",
        /// `PageNumber` (from 1).
        page_number: u32 = "PageNumber",
        /// `PageSize` (1-100, default 30).
        page_size: u32 = "PageSize",
        /// `RegionId`: the instances' region.
        region_id: String = "RegionId",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_in_order_and_only_when_set() {
        assert!(DescribeCrossRegionBackupDBInstanceRequest::new()
            .to_params()
            .is_empty());
        let keys: Vec<String> = DescribeCrossRegionBackupDBInstanceRequest::new()
            .region_id("cn-hangzhou")
            .page_size(50)
            .page_number(2)
            .db_instance_id("rm-a,rm-b")
            .to_params()
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        assert_eq!(
            keys,
            [
                "DBInstanceId=rm-a,rm-b",
                "PageNumber=2",
                "PageSize=50",
                "RegionId=cn-hangzhou"
            ]
        );
    }
}
