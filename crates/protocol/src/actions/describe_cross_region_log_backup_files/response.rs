//! The response model: `RequestId`, `RegionId`, `DBInstanceId`, `StartTime` and `EndTime` (as
//! received), `TotalRecordCount`, `PageNumber`, `PageRecordCount` (numbers) and `Items.Item[]`,
//! whose wrapper object is always present. In each item `CrossLogBackupId`,
//! `CrossLogBackupSize` and `InstanceId` are numbers, the rest strings (the SDK models' types).

use serde::{Deserialize, Serialize};

/// The body of a successful `DescribeCrossRegionLogBackupFiles` call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeCrossRegionLogBackupFilesResponse {
    /// `RequestId`.
    pub request_id: String,
    /// `RegionId`: the instance's region.
    pub region_id: String,
    /// `DBInstanceId`.
    #[serde(rename = "DBInstanceId")]
    pub db_instance_id: String,
    /// `StartTime` / `EndTime`, echoed as received.
    pub start_time: String,
    pub end_time: String,
    /// `TotalRecordCount`: all matching copies.
    pub total_record_count: u64,
    /// `PageNumber`, echoed (default 1).
    pub page_number: u32,
    /// `PageRecordCount`: copies on this page.
    pub page_record_count: u32,
    /// `Items`.
    pub items: CrossLogBackupItems,
}

/// The `Items` wrapper object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CrossLogBackupItems {
    /// `Item[]`.
    pub item: Vec<CrossLogBackupItem>,
}

/// One binlog file copied to another region.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CrossLogBackupItem {
    /// `CrossLogBackupId`: the copy's id.
    pub cross_log_backup_id: i64,
    /// `CrossBackupRegion`: the region holding the copy.
    pub cross_backup_region: String,
    /// `LogFileName`: the source's file name.
    pub log_file_name: String,
    /// `CrossLogBackupSize`: bytes.
    pub cross_log_backup_size: i64,
    /// `LogBeginTime` / `LogEndTime`: first and last event time, `yyyy-MM-ddTHH:mm:ssZ`.
    pub log_begin_time: String,
    pub log_end_time: String,
    /// `InstanceId`: the number of the node that wrote the file.
    pub instance_id: i64,
    /// `CrossDownloadLink` / `CrossIntranetDownloadLink`: signed, expiring URLs of the copy.
    pub cross_download_link: String,
    pub cross_intranet_download_link: String,
    /// `LinkExpiredTime`: when the links expire.
    pub link_expired_time: String,
}
