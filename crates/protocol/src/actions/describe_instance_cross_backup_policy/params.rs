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

    /// The scope's own rules and their order are `instance_scope`'s tests; here: that they are
    /// this action's, refusals included.
    #[test]
    fn the_instance_scope_is_all_it_takes() {
        let raw: RawParams = [
            ("DBInstanceId", "rm-a"),
            ("RegionId", "cn-hangzhou"),
            ("OwnerId", ""),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            DescribeInstanceCrossBackupPolicyParams::from_params(&raw)
                .unwrap()
                .instance,
            InstanceScope::from_params(&raw).unwrap()
        );
        let raw: RawParams = [("DBInstanceId", "rm-a"), ("RegionId", "cn hangzhou")]
            .into_iter()
            .collect();
        assert_eq!(
            DescribeInstanceCrossBackupPolicyParams::from_params(&raw),
            Err(ApiError::InvalidRegionFormat)
        );
    }
}
