//! Typed, validated request parameters: `RegionId` absent -> `MissingRegionId`, not a region id
//! -> `InvalidRegion.Format`.

use crate::actions::instance_scope::required_region;
use crate::error::ApiError;
use crate::params::RawParams;

/// Validated `DescribeAvailableCrossRegion` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeAvailableCrossRegionParams {
    /// `RegionId` (required): the source region.
    pub region_id: String,
    /// `ResourceOwnerId`.
    pub resource_owner_id: Option<String>,
}

impl DescribeAvailableCrossRegionParams {
    /// Validates the merged request params.
    pub fn from_params(p: &RawParams) -> Result<Self, ApiError> {
        let region_id = required_region(p)?;
        Ok(DescribeAvailableCrossRegionParams {
            region_id: region_id.to_owned(),
            resource_owner_id: p.get_nonempty("ResourceOwnerId").map(str::to_owned),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_is_required_and_checked() {
        let mut raw = RawParams::default();
        assert_eq!(
            DescribeAvailableCrossRegionParams::from_params(&raw),
            Err(ApiError::Missing("RegionId"))
        );
        raw.push("RegionId", "Cn/Hangzhou");
        assert_eq!(
            DescribeAvailableCrossRegionParams::from_params(&raw),
            Err(ApiError::InvalidRegionFormat)
        );
        let mut raw = RawParams::default();
        raw.push("RegionId", "cn-hangzhou");
        assert_eq!(
            DescribeAvailableCrossRegionParams::from_params(&raw)
                .unwrap()
                .region_id,
            "cn-hangzhou"
        );
    }
}
