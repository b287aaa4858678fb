//! Typed, validated request parameters. Blank values count as absent. Checks run in this order,
//! first failure wins:
//!
//! 1. `RegionId` absent -> `MissingRegionId`, not a region id -> `InvalidRegion.Format`;
//! 2. `DBInstanceId` (optional) holds more than [`MAX_INSTANCE_IDS`] comma-separated ids
//!    -> `InvalidParameters.Format`;
//! 3. `PageSize` not an integer in `1..=100`, `PageNumber` not an integer in `1..=i32::MAX`
//!    -> `InvalidParameters.Format` (absent -> 30 and 1).
//!
//! The resource-owner fields are accepted and not used.

use crate::actions::instance_scope::required_region;
use crate::error::ApiError;
use crate::params::RawParams;

/// Most instance ids one request may name (Alibaba's documented limit).
pub const MAX_INSTANCE_IDS: usize = 30;
/// Default `PageSize`.
pub const DEFAULT_PAGE_SIZE: u32 = 30;
/// Largest `PageSize`.
pub const MAX_PAGE_SIZE: u32 = 100;

/// Validated `DescribeCrossRegionBackupDBInstance` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeCrossRegionBackupDBInstanceParams {
    /// `RegionId` (required): the instances' region.
    pub region_id: String,
    /// `DBInstanceId`: the ids it names (comma-separated on the wire, blanks dropped, duplicates
    /// kept once); empty means every instance.
    pub db_instance_ids: Vec<String>,
    /// `PageSize`: 1..=100 (default 30).
    pub page_size: u32,
    /// `PageNumber`: 1..=i32::MAX (default 1).
    pub page_number: u32,
}

impl DescribeCrossRegionBackupDBInstanceParams {
    /// Validates the merged request params (see the module docs for the rules and their order).
    pub fn from_params(p: &RawParams) -> Result<Self, ApiError> {
        let region_id = required_region(p)?.to_owned();
        let mut db_instance_ids: Vec<String> = Vec::new();
        for id in p.get_nonempty("DBInstanceId").unwrap_or("").split(',') {
            let id = id.trim();
            if !id.is_empty() && !db_instance_ids.iter().any(|known| known == id) {
                db_instance_ids.push(id.to_owned());
            }
        }
        if db_instance_ids.len() > MAX_INSTANCE_IDS {
            return Err(ApiError::InvalidParametersFormat);
        }
        let int_in = |key: &str, default: u32, max: u32| match p.get_nonempty(key) {
            None => Ok(default),
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or(ApiError::InvalidParametersFormat),
        };
        Ok(DescribeCrossRegionBackupDBInstanceParams {
            region_id,
            db_instance_ids,
            page_size: int_in("PageSize", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?,
            page_number: int_in("PageNumber", 1, i32::MAX as u32)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(
        pairs: &[(&str, &str)],
    ) -> Result<DescribeCrossRegionBackupDBInstanceParams, ApiError> {
        DescribeCrossRegionBackupDBInstanceParams::from_params(&pairs.iter().copied().collect())
    }

    #[test]
    fn defaults_and_id_list() {
        let p = parse(&[("RegionId", "cn-hangzhou")]).unwrap();
        assert_eq!((p.page_size, p.page_number), (30, 1));
        assert!(p.db_instance_ids.is_empty());
        let p = parse(&[
            ("RegionId", "cn-hangzhou"),
            ("DBInstanceId", " rm-a,,rm-b ,rm-a"),
            ("PageSize", "100"),
            ("PageNumber", "3"),
        ])
        .unwrap();
        assert_eq!(p.db_instance_ids, ["rm-a", "rm-b"]);
        assert_eq!((p.page_size, p.page_number), (100, 3));
    }

    #[test]
    fn refusals_in_order() {
        assert_eq!(parse(&[]), Err(ApiError::Missing("RegionId")));
        assert_eq!(
            parse(&[("RegionId", "CN"), ("PageSize", "0")]),
            Err(ApiError::InvalidRegionFormat)
        );
        let many: Vec<String> = (0..31).map(|i| format!("rm-{i}")).collect();
        let many = many.join(",");
        assert_eq!(
            parse(&[("RegionId", "cn-hangzhou"), ("DBInstanceId", many.as_str())]),
            Err(ApiError::InvalidParametersFormat)
        );
        for (k, v) in [
            ("PageSize", "0"),
            ("PageSize", "101"),
            ("PageSize", "ten"),
            ("PageNumber", "0"),
            ("PageNumber", "2147483648"),
            ("PageNumber", "-1"),
        ] {
            assert_eq!(
                parse(&[("RegionId", "cn-hangzhou"), (k, v)]),
                Err(ApiError::InvalidParametersFormat),
                "{k}={v}"
            );
        }
    }
}
