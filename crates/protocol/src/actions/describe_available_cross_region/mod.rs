//! `DescribeAvailableCrossRegion`: the destination regions a source region can copy to.
//!
//! [`params`] validates the request; [`response`] renders `Regions.Region[]`.

pub mod params;
pub mod response;

pub use params::DescribeAvailableCrossRegionParams;
pub use response::DescribeAvailableCrossRegionResponse;
