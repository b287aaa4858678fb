//! Typed, validated request parameters. Blank values count as absent (the SDKs may send
//! `k=`). Checks run in this order, first failure wins:
//!
//! 1. the instance scope ([`InstanceScope`]): `MissingDBInstanceId`, `MissingRegionId`,
//!    `InvalidRegion.Format`;
//! 2. `CrossBackupId` not an Integer (int32, its API type) or `BackupId` not a Long (int64)
//!    -> `InvalidParameters.Format`;
//! 3. only one of `StartTime`/`EndTime`, or neither a time window nor `CrossBackupId`
//!    -> `ParameterAbsence`;
//! 4. `StartTime` / `EndTime` not `yyyy-MM-ddTHH:mm:ssZ` or `yyyy-MM-ddTHH:mmZ`
//!    -> `InvalidStartTime.Format` / `InvalidEndTime.Format`;
//! 5. `EndTime < StartTime` -> `InvalidStartTimeAndEndTime.Malformed` (equal is allowed);
//! 6. `PageSize` not 30/50/100, `PageNumber` not an integer in `1..=i32::MAX`
//!    -> `InvalidParameters.Format` (blank -> defaults 30 and 1).

use chrono::{DateTime, Utc};

use crate::actions::instance_scope::InstanceScope;
use crate::error::ApiError;
use crate::params::RawParams;

/// A time parameter as received (echoed in responses) and its instant.
pub type ReceivedTime = (String, DateTime<Utc>);

/// Page sizes the API accepts; the first is the default.
pub const PAGE_SIZES: [u32; 3] = [30, 50, 100];
/// Default `PageNumber`.
pub const DEFAULT_PAGE_NUMBER: u32 = 1;

/// Validated `DescribeCrossRegionBackups` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeCrossRegionBackupsParams {
    /// `DBInstanceId`, `RegionId` and the resource-owner fields.
    pub instance: InstanceScope,
    /// `CrossBackupId`.
    pub cross_backup_id: Option<i64>,
    /// `StartTime`: the string as received (echoed in the response) and its instant.
    pub start_time: Option<ReceivedTime>,
    /// `EndTime`: the string as received (echoed in the response) and its instant.
    pub end_time: Option<ReceivedTime>,
    /// `CrossBackupRegion` (exact-match filter, not validated).
    pub cross_backup_region: Option<String>,
    /// `BackupId` (the source backup set).
    pub backup_id: Option<i64>,
    /// `PageSize`: 30, 50 or 100 (default 30).
    pub page_size: u32,
    /// `PageNumber`: 1..=i32::MAX (default 1).
    pub page_number: u32,
}

impl DescribeCrossRegionBackupsParams {
    /// Validates the merged request params (see the module docs for the rules and their order).
    pub fn from_params(p: &RawParams) -> Result<Self, ApiError> {
        let get = |k: &str| p.get_nonempty(k);

        let instance = InstanceScope::from_params(p)?;
        let cross_backup_id = get("CrossBackupId").map(parse_int32).transpose()?;
        let backup_id = get("BackupId").map(parse_long).transpose()?;

        let (start, end) = (get("StartTime"), get("EndTime"));
        let window = match (start, end) {
            (Some(s), Some(e)) => Some((s, e)),
            (None, None) if cross_backup_id.is_some() => None,
            _ => return Err(ApiError::ParameterAbsence),
        };
        let (start_time, end_time) = match window {
            None => (None, None),
            Some((s, e)) => {
                let (st, et) = parse_window(s, e)?;
                (Some((s.to_owned(), st)), Some((e.to_owned(), et)))
            }
        };

        let (page_size, page_number) = parse_paging(p)?;

        Ok(DescribeCrossRegionBackupsParams {
            instance,
            cross_backup_id,
            start_time,
            end_time,
            cross_backup_region: get("CrossBackupRegion").map(str::to_owned),
            backup_id,
            page_size,
            page_number,
        })
    }
}

/// `StartTime` and `EndTime`: each `yyyy-MM-ddTHH:mm:ssZ` or `yyyy-MM-ddTHH:mmZ`, the end not
/// before the start.
pub(crate) fn parse_window(
    start: &str,
    end: &str,
) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    let st =
        crate::time::parse_utc_seconds_or_minutes(start).ok_or(ApiError::InvalidStartTimeFormat)?;
    let et =
        crate::time::parse_utc_seconds_or_minutes(end).ok_or(ApiError::InvalidEndTimeFormat)?;
    if et < st {
        return Err(ApiError::InvalidStartTimeAndEndTimeMalformed);
    }
    Ok((st, et))
}

/// `StartTime` and `EndTime`, both required (either absent: `ParameterAbsence`), as
/// [`parse_window`] checks them: each as received and its instant.
pub(crate) fn required_window(p: &RawParams) -> Result<(ReceivedTime, ReceivedTime), ApiError> {
    let (Some(start), Some(end)) = (p.get_nonempty("StartTime"), p.get_nonempty("EndTime")) else {
        return Err(ApiError::ParameterAbsence);
    };
    let (start_at, end_at) = parse_window(start, end)?;
    Ok(((start.to_owned(), start_at), (end.to_owned(), end_at)))
}

/// `PageSize` (30, 50 or 100; default 30) and `PageNumber` (1..=i32::MAX; default 1).
pub(crate) fn parse_paging(p: &RawParams) -> Result<(u32, u32), ApiError> {
    let page_size = match p.get_nonempty("PageSize") {
        None => PAGE_SIZES[0],
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| PAGE_SIZES.contains(n))
            .ok_or(ApiError::InvalidParametersFormat)?,
    };
    let page_number = match p.get_nonempty("PageNumber") {
        None => DEFAULT_PAGE_NUMBER,
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=i32::MAX as u32).contains(n))
            .ok_or(ApiError::InvalidParametersFormat)?,
    };
    Ok((page_size, page_number))
}

/// An `Integer` parameter: Alibaba's API type is int32, so a larger value is malformed rather
/// than an id that matches nothing.
fn parse_int32(v: &str) -> Result<i64, ApiError> {
    v.parse::<i32>()
        .map(i64::from)
        .map_err(|_| ApiError::InvalidParametersFormat)
}

/// A `Long` parameter (int64).
fn parse_long(v: &str) -> Result<i64, ApiError> {
    v.parse::<i64>()
        .map_err(|_| ApiError::InvalidParametersFormat)
}
