//! `DescribeBinlogFiles`: an instance's binlog files stored in its own region (the same-region
//! sibling of the cross-region log listing), one page at a time, each with a download link.
//!
//! [`params`] validates the request; [`response`] renders the page.

pub mod params;
pub mod response;

pub use params::DescribeBinlogFilesParams;
pub use response::{BinLogFile, BinLogFiles, DescribeBinlogFilesResponse};
