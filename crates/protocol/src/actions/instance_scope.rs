//! The parameters every instance-scoped action shares (`DBInstanceId`, `RegionId` and the
//! caller's resource-owner fields), decoded once with the same rules and order for all of them.
//!
//! Blank values count as absent (the SDKs may send `k=`). Checks run in this order, first failure
//! wins, and before any action-specific check:
//!
//! 1. `DBInstanceId` absent -> `MissingDBInstanceId`; `RegionId` absent -> `MissingRegionId`;
//! 2. `RegionId` not `^[a-z0-9-]{1,64}$` -> `InvalidRegion.Format`.

use crate::error::ApiError;
use crate::params::RawParams;

/// Validated instance-scope parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceScope {
    /// `DBInstanceId` (required).
    pub db_instance_id: String,
    /// `RegionId` (required, `^[a-z0-9-]{1,64}$`): the instance's region.
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

impl InstanceScope {
    /// Validates the merged request params (see the module docs for the rules and their order).
    pub fn from_params(p: &RawParams) -> Result<Self, ApiError> {
        let owned = |k: &str| p.get_nonempty(k).map(str::to_owned);
        let db_instance_id = p
            .get_nonempty("DBInstanceId")
            .ok_or(ApiError::Missing("DBInstanceId"))?;
        let region_id = required_region(p)?;
        Ok(InstanceScope {
            db_instance_id: db_instance_id.to_owned(),
            region_id: region_id.to_owned(),
            resource_group_id: owned("ResourceGroupId"),
            owner_id: owned("OwnerId"),
            resource_owner_id: owned("ResourceOwnerId"),
            resource_owner_account: owned("ResourceOwnerAccount"),
        })
    }
}

/// `RegionId`: absent -> `MissingRegionId`, not a region id -> `InvalidRegion.Format`.
pub(crate) fn required_region(p: &RawParams) -> Result<&str, ApiError> {
    let region_id = p
        .get_nonempty("RegionId")
        .ok_or(ApiError::Missing("RegionId"))?;
    if !valid_region(region_id) {
        return Err(ApiError::InvalidRegionFormat);
    }
    Ok(region_id)
}

/// A region id as Alibaba spells them: `^[a-z0-9-]{1,64}$`.
pub(crate) fn valid_region(r: &str) -> bool {
    (1..=64).contains(&r.len())
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<InstanceScope, ApiError> {
        InstanceScope::from_params(&pairs.iter().copied().collect())
    }

    #[test]
    fn required_then_format_in_order() {
        assert_eq!(parse(&[]), Err(ApiError::Missing("DBInstanceId")));
        assert_eq!(
            parse(&[("DBInstanceId", ""), ("RegionId", "NOT A REGION")]),
            Err(ApiError::Missing("DBInstanceId"))
        );
        assert_eq!(
            parse(&[("DBInstanceId", "rm-a")]),
            Err(ApiError::Missing("RegionId"))
        );
        assert_eq!(
            parse(&[("DBInstanceId", "rm-a"), ("RegionId", "cn_hangzhou")]),
            Err(ApiError::InvalidRegionFormat)
        );
    }

    #[test]
    fn owner_fields_are_optional_and_blank_is_absent() {
        let scope = parse(&[
            ("DBInstanceId", "rm-a"),
            ("RegionId", "cn-hangzhou"),
            ("ResourceGroupId", "rg-1"),
            ("OwnerId", ""),
            ("ResourceOwnerAccount", "acct"),
        ])
        .unwrap();
        assert_eq!(
            scope,
            InstanceScope {
                db_instance_id: "rm-a".into(),
                region_id: "cn-hangzhou".into(),
                resource_group_id: Some("rg-1".into()),
                owner_id: None,
                resource_owner_id: None,
                resource_owner_account: Some("acct".into()),
            }
        );
    }

    #[test]
    fn region_ids() {
        assert!(valid_region("cn-hangzhou-finance-1"));
        assert!(valid_region(&"a".repeat(64)));
        for bad in ["", "CN-HANGZHOU", "cn hangzhou", "é", &"a".repeat(65)] {
            assert!(!valid_region(bad), "{bad:?}");
        }
    }
}
