//! `DescribeCrossRegionBackups`: list an instance's cross-region data backups
//! (seed: `shared/seed/DescribeCrossRegionBackups.md`).
//!
//! [`params`] validates the request (PROTOCOL §7 "Recommended mapping"); [`response`] holds the
//! response model and renders it to JSON and XML with the seed's names and nesting.

pub mod params;
pub mod response;

pub use params::DescribeCrossRegionBackupsParams;
pub use response::{CrossRegionBackupItem, DescribeCrossRegionBackupsResponse};
