//! `DescribeCrossRegionLogBackupFiles`: typed request and the response model of the protocol
//! crate. Lists an instance's binlog files copied to other regions whose events overlap a time
//! window, with signed links to the copies.

pub use xbak_protocol::actions::describe_cross_region_log_backup_files::{
    CrossLogBackupItem, CrossLogBackupItems, DescribeCrossRegionLogBackupFilesResponse,
};

use crate::action::action;

/// The action's wire name.
pub const ACTION: &str = "DescribeCrossRegionLogBackupFiles";

action! {
    /// One page of an instance's binlog files copied to other regions (`Items.Item[]`).
    fn describe_cross_region_log_backup_files(ACTION) -> DescribeCrossRegionLogBackupFilesResponse;

    /// Request parameters; all four of `new` are required by the service.
    pub struct DescribeCrossRegionLogBackupFilesRequest {
        /// Copies of `db_instance_id` (an instance of `region_id`) with events between
        /// `start_time` and `end_time` (`yyyy-MM-ddTHH:mm:ssZ`).
        new(db_instance_id: String = "DBInstanceId", region_id: String = "RegionId", start_time: String = "StartTime", end_time: String = "EndTime");
        /// `CrossBackupRegion`: only the copies in this region.
        cross_backup_region: String = "CrossBackupRegion",
        /// `PageSize`: 30, 50 or 100.
        page_size: u32 = "PageSize",
        /// `PageNumber` (from 1).
        page_number: u32 = "PageNumber",
    }
}
