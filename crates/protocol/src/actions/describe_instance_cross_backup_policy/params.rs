//! Typed, validated request parameters: `DBInstanceId` absent -> `MissingDBInstanceId`;
//! `RegionId` absent -> `MissingRegionId`, not a region id -> `InvalidRegion.Format`.

use crate::actions::describe_cross_region_backups::params::valid_region;
use crate::error::ApiError;
use crate::params::RawParams;

/// Validated `DescribeInstanceCrossBackupPolicy` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeInstanceCrossBackupPolicyParams {
    /// `DBInstanceId` (required).
    pub db_instance_id: String,
    /// `RegionId` (required): the instance's region.
    pub region_id: String,
    /// `ResourceGroupId`.
    pub resource_group_id: Option<String>,
    /// `OwnerId`.
    pub owner_id: Option<String>,
    /// `ResourceOwnerId`.
    pub resource_owner_id: Option<String>,
    /// `ResourceOwnerAccount`.
    pub resource_owner_account: Option<String>,
}

impl DescribeInstanceCrossBackupPolicyParams {
    /// Validates the merged request params.
    pub fn from_params(p: &RawParams) -> Result<Self, ApiError> {
        let get = |k: &str| p.get_nonempty(k);
        let owned = |k: &str| get(k).map(str::to_owned);
        let db_instance_id = get("DBInstanceId").ok_or(ApiError::Missing("DBInstanceId"))?;
        let region_id = get("RegionId").ok_or(ApiError::Missing("RegionId"))?;
        if !valid_region(region_id) {
            return Err(ApiError::InvalidRegionFormat);
        }
        Ok(DescribeInstanceCrossBackupPolicyParams {
            db_instance_id: db_instance_id.to_owned(),
            region_id: region_id.to_owned(),
            resource_group_id: owned("ResourceGroupId"),
            owner_id: owned("OwnerId"),
            resource_owner_id: owned("ResourceOwnerId"),
            resource_owner_account: owned("ResourceOwnerAccount"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<DescribeInstanceCrossBackupPolicyParams, ApiError> {
        let mut raw = RawParams::default();
        for (k, v) in pairs {
            raw.push(*k, *v);
        }
        DescribeInstanceCrossBackupPolicyParams::from_params(&raw)
    }

    #[test]
    fn required_and_format() {
        let p = parse(&[
            ("DBInstanceId", "rm-a"),
            ("RegionId", "cn-hangzhou"),
            ("OwnerId", ""),
        ])
        .unwrap();
        assert_eq!(p.db_instance_id, "rm-a");
        assert_eq!(p.owner_id, None);
        assert_eq!(
            parse(&[("RegionId", "cn-hangzhou")]),
            Err(ApiError::Missing("DBInstanceId"))
        );
        assert_eq!(
            parse(&[("DBInstanceId", "rm-a"), ("RegionId", "")]),
            Err(ApiError::Missing("RegionId"))
        );
        assert_eq!(
            parse(&[("DBInstanceId", "rm-a"), ("RegionId", "cn hangzhou")]),
            Err(ApiError::InvalidRegionFormat)
        );
    }
}
