//! `DescribeCrossRegionBackupDBInstance`: typed request and the response model of the protocol
//! crate. Lists the instances of a region whose cross-region backup is on, with their policies.

pub use xbak_protocol::actions::cross_backup_policy::InstanceCrossBackupPolicy;
pub use xbak_protocol::actions::describe_cross_region_backup_db_instance::{
    DescribeCrossRegionBackupDBInstanceResponse, PolicyItems,
};

use crate::action::{action, Params};
use crate::setters::setters;

/// The action's wire name.
pub const ACTION: &str = "DescribeCrossRegionBackupDBInstance";

/// Request parameters. `RegionId` falls back to the client's region when `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DescribeCrossRegionBackupDBInstanceRequest {
    /// `DBInstanceId`: up to 30 ids, comma-separated; all instances when `None`.
    pub db_instance_id: Option<String>,
    /// `RegionId`: the instances' region.
    pub region_id: Option<String>,
    /// `PageSize` (1-100, default 30).
    pub page_size: Option<u32>,
    /// `PageNumber` (from 1).
    pub page_number: Option<u32>,
}

impl DescribeCrossRegionBackupDBInstanceRequest {
    /// A request for every instance of the client's region.
    pub fn new() -> Self {
        Self::default()
    }
    setters! {
        /// `DBInstanceId` (comma-separated ids).
        db_instance_id: into String;
        /// `RegionId`.
        region_id: into String;
        /// `PageSize`.
        page_size: u32;
        /// `PageNumber`.
        page_number: u32;
    }

    /// The wire parameters, in the order the official SDKs send them.
    pub fn to_params(&self) -> Vec<(String, String)> {
        Params::new()
            .put("DBInstanceId", self.db_instance_id.as_ref())
            .put("PageNumber", self.page_number)
            .put("PageSize", self.page_size)
            .put("RegionId", self.region_id.as_ref())
            .into_vec()
    }
}

action! {
    DescribeCrossRegionBackupDBInstanceRequest => DescribeCrossRegionBackupDBInstanceResponse, ACTION;
    /// One page of the region's instances whose cross-region backup is on (`Items.Item[]`).
    fn describe_cross_region_backup_db_instance;
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
