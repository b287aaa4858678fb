//! `DescribeCrossRegionBackupDBInstance`: the caller's instances in a region whose cross-region
//! backup is on, each with its policy (the fields of `DescribeInstanceCrossBackupPolicy`), one
//! page at a time.
//!
//! [`params`] validates the request; [`response`] renders the page.

pub mod params;
pub mod response;

pub use params::DescribeCrossRegionBackupDBInstanceParams;
pub use response::{DescribeCrossRegionBackupDBInstanceResponse, PolicyItems};
