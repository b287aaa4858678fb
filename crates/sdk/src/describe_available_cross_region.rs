//! `DescribeAvailableCrossRegion`: typed request and the response model of the protocol crate.
//! Lists the destination regions a source region can copy backups to.

pub use xbak_protocol::actions::describe_available_cross_region::response::RegionList;
pub use xbak_protocol::actions::describe_available_cross_region::DescribeAvailableCrossRegionResponse;

use crate::client::Client;
use crate::error::SdkError;

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
    /// `RegionId`.
    pub fn region_id(mut self, r: impl Into<String>) -> Self {
        self.region_id = Some(r.into());
        self
    }

    /// The wire parameters.
    pub fn to_params(&self) -> Vec<(String, String)> {
        self.region_id
            .iter()
            .map(|r| ("RegionId".to_owned(), r.clone()))
            .collect()
    }
}

impl Client {
    /// The regions backups of `RegionId` can be copied to (`Regions.Region[]`).
    pub async fn describe_available_cross_region(
        &self,
        req: &DescribeAvailableCrossRegionRequest,
    ) -> Result<DescribeAvailableCrossRegionResponse, SdkError> {
        self.call_typed(ACTION, &req.to_params()).await
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
