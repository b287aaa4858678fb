//! Typed, validated request parameters. Blank values count as absent. Checks run in this order,
//! first failure wins:
//!
//! 1. `CrossBackupId` absent -> `MissingCrossBackupId`; not an Integer (int32, its API type)
//!    -> `InvalidParameters.Format`;
//! 2. `RegionId` (optional), when sent, not a region id -> `InvalidRegion.Format`.
//!
//! `DBInstanceId` is optional; when sent (as `RegionId`), the copy must be of that instance.
//! The resource-owner fields are accepted and not used.

use crate::actions::instance_scope::valid_region;
use crate::error::ApiError;
use crate::params::RawParams;

/// Validated `DescribeAvailableRecoveryTime` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeAvailableRecoveryTimeParams {
    /// `CrossBackupId` (required).
    pub cross_backup_id: i64,
    /// `DBInstanceId` and `RegionId`, when sent: the copy's instance and its region.
    pub db_instance_id: Option<String>,
    pub region_id: Option<String>,
}

impl DescribeAvailableRecoveryTimeParams {
    /// Validates the merged request params (see the module docs for the rules and their order).
    pub fn from_params(p: &RawParams) -> Result<Self, ApiError> {
        let id = p
            .get_nonempty("CrossBackupId")
            .ok_or(ApiError::Missing("CrossBackupId"))?;
        let cross_backup_id = id
            .parse::<i32>()
            .map_err(|_| ApiError::InvalidParametersFormat)?;
        let region_id = p.get_nonempty("RegionId");
        if region_id.is_some_and(|r| !valid_region(r)) {
            return Err(ApiError::InvalidRegionFormat);
        }
        Ok(Self {
            cross_backup_id: cross_backup_id.into(),
            db_instance_id: p.get_nonempty("DBInstanceId").map(str::to_owned),
            region_id: region_id.map(str::to_owned),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_is_required_and_an_int32() {
        let decode = |pairs: &[(&str, &str)]| {
            DescribeAvailableRecoveryTimeParams::from_params(&pairs.iter().copied().collect())
        };
        assert_eq!(decode(&[]), Err(ApiError::Missing("CrossBackupId")));
        for bad in ["x", "2147483648", "1.5"] {
            let got = decode(&[("CrossBackupId", bad)]);
            assert_eq!(got, Err(ApiError::InvalidParametersFormat), "{bad}");
        }
        let bad_region = decode(&[("CrossBackupId", "7"), ("RegionId", "Hangzhou!")]);
        assert_eq!(bad_region, Err(ApiError::InvalidRegionFormat));
        let p = decode(&[("CrossBackupId", "7"), ("DBInstanceId", "rm-a")]).unwrap();
        assert_eq!(
            (p.cross_backup_id, p.db_instance_id.as_deref()),
            (7, Some("rm-a"))
        );
        assert_eq!(p.region_id, None);
    }
}
