//! `DescribeAvailableCrossRegion`: typed request and the response model of the protocol crate.
//! Lists the destination regions a source region can copy backups to.

pub use xbak_protocol::actions::describe_available_cross_region::response::RegionList;
pub use xbak_protocol::actions::describe_available_cross_region::DescribeAvailableCrossRegionResponse;

use crate::action::{action, Params};
use crate::setters::setters;

/// The action's wire name.
pub const ACTION: &str = "DescribeAvailableCrossRegion";

/// Request parameters. `RegionId` (the source region) falls back to the client's region when
/// `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DescribeAvailableCrossRegionRequest {
    /// `RegionId`: the source region.
    pub region_id: Option<String>,
}

impl DescribeAvailableCrossRegionRequest {
    /// A request for the client's region.
    pub fn new() -> Self {
        Self::default()
    }
    setters! {
        /// `RegionId`.
        region_id: into String;
    }

    /// The wire parameters.
    pub fn to_params(&self) -> Vec<(String, String)> {
        Params::new()
            .put("RegionId", self.region_id.as_ref())
            .into_vec()
    }
}

action! {
    DescribeAvailableCrossRegionRequest => DescribeAvailableCrossRegionResponse, ACTION;
    /// The regions backups of `RegionId` can be copied to (`Regions.Region[]`).
    fn describe_available_cross_region;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_only_when_set() {
        assert!(DescribeAvailableCrossRegionRequest::new()
            .to_params()
            .is_empty());
        assert_eq!(
            DescribeAvailableCrossRegionRequest::new()
                .region_id("cn-hangzhou")
                .to_params(),
            vec![("RegionId".to_owned(), "cn-hangzhou".to_owned())]
        );
    }
}
