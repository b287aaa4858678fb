//! Typed, validated request parameters. Blank values count as absent (the SDKs may send
//! `k=`). Checks run in this order, first failure wins:
//!
//! 1. `DBInstanceId` absent -> `MissingDBInstanceId`; `RegionId` absent -> `MissingRegionId`;
//! 2. `RegionId` not `^[a-z0-9-]{1,64}$` -> `InvalidRegion.Format`;
//! 3. `CrossBackupId` / `BackupId` not an integer -> `InvalidParameters.Format`;
//! 4. only one of `StartTime`/`EndTime`, or neither a time window nor `CrossBackupId`
//!    -> `ParameterAbsence`;
//! 5. `StartTime` / `EndTime` not `yyyy-MM-ddTHH:mm:ssZ` or `yyyy-MM-ddTHH:mmZ`
//!    -> `InvalidStartTime.Format` / `InvalidEndTime.Format`;
//! 6. `EndTime < StartTime` -> `InvalidStartTimeAndEndTime.Malformed` (equal is allowed);
//! 7. `PageSize` not 30/50/100, `PageNumber` not an integer in `1..=i32::MAX`
//!    -> `InvalidParameters.Format` (blank -> defaults 30 and 1).

use chrono::{DateTime, Utc};

use crate::error::ApiError;
use crate::params::RawParams;

/// Page sizes the API accepts; the first is the default.
pub const PAGE_SIZES: [u32; 3] = [30, 50, 100];
/// Default `PageNumber`.
pub const DEFAULT_PAGE_NUMBER: u32 = 1;

/// Validated `DescribeCrossRegionBackups` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeCrossRegionBackupsParams {
    /// `DBInstanceId` (required).
    pub db_instance_id: String,
    /// `RegionId` (required, `^[a-z0-9-]{1,64}$`).
    pub region_id: String,
    /// `CrossBackupId`.
    pub cross_backup_id: Option<i64>,
    /// `StartTime`: the string as received (echoed in the response) and its instant.
    pub start_time: Option<(String, DateTime<Utc>)>,
    /// `EndTime`: the string as received (echoed in the response) and its instant.
    pub end_time: Option<(String, DateTime<Utc>)>,
    /// `CrossBackupRegion` (exact-match filter, not validated).
    pub cross_backup_region: Option<String>,
    /// `BackupId` (the source backup set).
    pub backup_id: Option<i64>,
    /// `PageSize`: 30, 50 or 100 (default 30).
    pub page_size: u32,
    /// `PageNumber`: 1..=i32::MAX (default 1).
    pub page_number: u32,
    /// `ResourceGroupId`.
    pub resource_group_id: Option<String>,
    /// `OwnerId`.
    pub owner_id: Option<String>,
    /// `ResourceOwnerId`.
    pub resource_owner_id: Option<String>,
    /// `ResourceOwnerAccount`.
    pub resource_owner_account: Option<String>,
}

impl DescribeCrossRegionBackupsParams {
    /// Validates the merged request params (see the module docs for the rules and their order).
    pub fn from_params(p: &RawParams) -> Result<Self, ApiError> {
        let get = |k: &str| p.get_nonempty(k);
        let owned = |k: &str| get(k).map(str::to_owned);

        let db_instance_id = get("DBInstanceId").ok_or(ApiError::Missing("DBInstanceId"))?;
        let region_id = get("RegionId").ok_or(ApiError::Missing("RegionId"))?;
        if !valid_region(region_id) {
            return Err(ApiError::InvalidRegionFormat);
        }
        let cross_backup_id = get("CrossBackupId").map(parse_int).transpose()?;
        let backup_id = get("BackupId").map(parse_int).transpose()?;

        let (start, end) = (get("StartTime"), get("EndTime"));
        let window = match (start, end) {
            (Some(s), Some(e)) => Some((s, e)),
            (None, None) if cross_backup_id.is_some() => None,
            _ => return Err(ApiError::ParameterAbsence),
        };
        let (start_time, end_time) = match window {
            None => (None, None),
            Some((s, e)) => {
                let st = crate::time::parse_utc_seconds_or_minutes(s)
                    .ok_or(ApiError::InvalidStartTimeFormat)?;
                let et = crate::time::parse_utc_seconds_or_minutes(e)
                    .ok_or(ApiError::InvalidEndTimeFormat)?;
                if et < st {
                    return Err(ApiError::InvalidStartTimeAndEndTimeMalformed);
                }
                (Some((s.to_owned(), st)), Some((e.to_owned(), et)))
            }
        };

        let page_size = match get("PageSize") {
            None => PAGE_SIZES[0],
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| PAGE_SIZES.contains(n))
                .ok_or(ApiError::InvalidParametersFormat)?,
        };
        let page_number = match get("PageNumber") {
            None => DEFAULT_PAGE_NUMBER,
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=i32::MAX as u32).contains(n))
                .ok_or(ApiError::InvalidParametersFormat)?,
        };

        Ok(DescribeCrossRegionBackupsParams {
            db_instance_id: db_instance_id.to_owned(),
            region_id: region_id.to_owned(),
            cross_backup_id,
            start_time,
            end_time,
            cross_backup_region: owned("CrossBackupRegion"),
            backup_id,
            page_size,
            page_number,
            resource_group_id: owned("ResourceGroupId"),
            owner_id: owned("OwnerId"),
            resource_owner_id: owned("ResourceOwnerId"),
            resource_owner_account: owned("ResourceOwnerAccount"),
        })
    }
}

fn parse_int(v: &str) -> Result<i64, ApiError> {
    v.parse::<i64>()
        .map_err(|_| ApiError::InvalidParametersFormat)
}

pub(crate) fn valid_region(r: &str) -> bool {
    (1..=64).contains(&r.len())
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}
