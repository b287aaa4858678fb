//! `DescribeBinlogFiles`: typed request and the response model of the protocol crate. Lists an
//! instance's binlog files stored whole in its own region whose events overlap a time window,
//! with signed links to their bytes.

pub use xbak_protocol::actions::describe_binlog_files::{
    BinLogFile, BinLogFiles, DescribeBinlogFilesResponse,
};

use crate::action::action;

/// The action's wire name.
pub const ACTION: &str = "DescribeBinlogFiles";

action! {
    /// An instance's stored binlog files (`Items.BinLogFile[]`).
    fn describe_binlog_files(ACTION) -> DescribeBinlogFilesResponse;

    /// Request parameters.
    pub struct DescribeBinlogFilesRequest {
        /// A request for `db_instance_id`'s files with events between `start_time` and
        /// `end_time` (`yyyy-MM-ddTHH:mm:ssZ`).
        new(db_instance_id: String = "DBInstanceId", start_time: String = "StartTime", end_time: String = "EndTime");
        /// `PageNumber` (from 1).
        page_number: u32 = "PageNumber",
        /// `PageSize`: 30, 50 or 100.
        page_size: u32 = "PageSize",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_in_order_and_only_when_set() {
        let keys: Vec<String> =
            DescribeBinlogFilesRequest::new("rm-a", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z")
                .page_size(50)
                .to_params()
                .into_iter()
                .map(|(k, _)| k)
                .collect();
        assert_eq!(keys, ["DBInstanceId", "StartTime", "EndTime", "PageSize"]);
    }
}
