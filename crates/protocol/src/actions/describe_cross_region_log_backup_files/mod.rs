//! `DescribeCrossRegionLogBackupFiles`: the binlog files of an instance copied to another region
//! (the cross-region sibling of `DescribeBinlogFiles`), one page at a time, each with a download
//! link in the region that holds the copy.
//!
//! [`params`] validates the request; [`response`] is the page's model.

pub mod params;
pub mod response;

pub use params::DescribeCrossRegionLogBackupFilesParams;
pub use response::{
    CrossLogBackupItem, CrossLogBackupItems, DescribeCrossRegionLogBackupFilesResponse,
};
