//! Typed, validated request parameters: the instance scope alone ([`InstanceScope`]:
//! `DBInstanceId` absent -> `MissingDBInstanceId`; `RegionId` absent -> `MissingRegionId`, not a
//! region id -> `InvalidRegion.Format`).

use crate::actions::instance_scope::InstanceScope;
use crate::error::ApiError;
use crate::params::RawParams;

/// Validated `DescribeInstanceCrossBackupPolicy` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeInstanceCrossBackupPolicyParams {
    /// `DBInstanceId`, `RegionId` and the resource-owner fields: all this action takes.
    pub instance: InstanceScope,
}

impl DescribeInstanceCrossBackupPolicyParams {
    /// Validates the merged request params.
    pub fn from_params(p: &RawParams) -> Result<Self, ApiError> {
        Ok(DescribeInstanceCrossBackupPolicyParams {
            instance: InstanceScope::from_params(p)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<DescribeInstanceCrossBackupPolicyParams, ApiError> {
        DescribeInstanceCrossBackupPolicyParams::from_params(&pairs.iter().copied().collect())
    }

    #[test]
    fn required_and_format() {
        let p = parse(&[
            ("DBInstanceId", "rm-a"),
            ("RegionId", "cn-hangzhou"),
            ("OwnerId", ""),
        ])
        .unwrap();
        assert_eq!(p.instance.db_instance_id, "rm-a");
        assert_eq!(p.instance.owner_id, None);
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
