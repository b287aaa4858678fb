//! `DescribeAvailableCrossRegion`: typed request and the response model of the protocol crate.
//! Lists the destination regions a source region can copy backups to.

pub use xbak_protocol::actions::describe_available_cross_region::response::RegionList;
pub use xbak_protocol::actions::describe_available_cross_region::DescribeAvailableCrossRegionResponse;

use crate::action::action;

/// The action's wire name.
pub const ACTION: &str = "DescribeAvailableCrossRegion";

action! {
    /// The regions backups of `RegionId` can be copied to (`Regions.Region[]`).
    fn describe_available_cross_region(ACTION) -> DescribeAvailableCrossRegionResponse;

    /// Request parameters. `RegionId` (the source region) falls back to the client's region when
    /// `None`.
    pub struct DescribeAvailableCrossRegionRequest {
        /// A request for the client's region.
        new();
        /// `RegionId`: the source region.
        region_id: String = "RegionId",
    }
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
