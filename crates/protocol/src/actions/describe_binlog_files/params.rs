//! Typed, validated request parameters. Blank values count as absent. Checks run in this order,
//! first failure wins:
//!
//! 1. `DBInstanceId` absent -> `MissingDBInstanceId`; `RegionId` (optional: the SDK models
//!    have none) not a region id -> `InvalidRegion.Format`;
//! 2. `StartTime` or `EndTime` absent -> `ParameterAbsence`;
//! 3. either not `yyyy-MM-ddTHH:mm:ssZ` or `yyyy-MM-ddTHH:mmZ` -> `InvalidStartTime.Format` /
//!    `InvalidEndTime.Format`; `EndTime < StartTime` -> `InvalidStartTimeAndEndTime.Malformed`;
//! 4. `PageSize` not 30/50/100, `PageNumber` not an integer in `1..=i32::MAX`
//!    -> `InvalidParameters.Format` (absent -> 30 and 1).
//!
//! The resource-owner fields are accepted and not used. The rules are those of
//! `DescribeCrossRegionBackups`' window and paging.

use chrono::{DateTime, Utc};

use crate::actions::describe_cross_region_backups::params::{parse_paging, required_window};
use crate::actions::instance_scope::valid_region;
use crate::error::ApiError;
use crate::params::RawParams;

/// Validated `DescribeBinlogFiles` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeBinlogFilesParams {
    /// `DBInstanceId` (required).
    pub db_instance_id: String,
    /// `RegionId`, when sent: the instance must be there.
    pub region_id: Option<String>,
    /// `StartTime` and `EndTime` (inclusive): files whose events overlap them are listed.
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    /// `PageSize`: 30, 50 or 100 (default 30).
    pub page_size: u32,
    /// `PageNumber`: 1..=i32::MAX (default 1).
    pub page_number: u32,
}

impl DescribeBinlogFilesParams {
    /// Validates the merged request params (see the module docs for the rules and their order).
    pub fn from_params(p: &RawParams) -> Result<Self, ApiError> {
        let get = |k: &str| p.get_nonempty(k);
        let db_instance_id = get("DBInstanceId").ok_or(ApiError::Missing("DBInstanceId"))?;
        let region_id = get("RegionId");
        if region_id.is_some_and(|r| !valid_region(r)) {
            return Err(ApiError::InvalidRegionFormat);
        }
        let ((_, start_time), (_, end_time)) = required_window(p)?;
        let (page_size, page_number) = parse_paging(p)?;
        Ok(DescribeBinlogFilesParams {
            db_instance_id: db_instance_id.to_owned(),
            region_id: region_id.map(str::to_owned),
            start_time,
            end_time,
            page_size,
            page_number,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<DescribeBinlogFilesParams, ApiError> {
        DescribeBinlogFilesParams::from_params(&pairs.iter().copied().collect())
    }

    const WINDOW: [(&str, &str); 3] = [
        ("DBInstanceId", "rm-a"),
        ("StartTime", "2026-01-01T00:00:00Z"),
        ("EndTime", "2026-01-02T00:00Z"),
    ];

    #[test]
    fn defaults_and_window() {
        let p = parse(&WINDOW).unwrap();
        assert_eq!((p.page_size, p.page_number), (30, 1));
        assert_eq!(p.region_id, None);
        assert_eq!((p.end_time - p.start_time).num_hours(), 24);
        let mut paged = WINDOW.to_vec();
        paged.extend([
            ("PageSize", "50"),
            ("PageNumber", "3"),
            ("RegionId", "cn-hangzhou"),
        ]);
        let p = parse(&paged).unwrap();
        assert_eq!(
            (p.page_size, p.page_number, p.region_id.as_deref()),
            (50, 3, Some("cn-hangzhou"))
        );
    }

    #[test]
    fn refusals_in_order() {
        assert_eq!(parse(&[]), Err(ApiError::Missing("DBInstanceId")));
        assert_eq!(
            parse(&[("DBInstanceId", "rm-a"), ("RegionId", "CN")]),
            Err(ApiError::InvalidRegionFormat)
        );
        assert_eq!(
            parse(&WINDOW[..2]),
            Err(ApiError::ParameterAbsence),
            "EndTime missing"
        );
        let with = |k: &str, v: &str| {
            let mut w: Vec<(&str, &str)> =
                WINDOW.iter().copied().filter(|(n, _)| *n != k).collect();
            w.push((k, v));
            parse(&w.iter().map(|(a, b)| (*a, *b)).collect::<Vec<_>>())
        };
        assert_eq!(
            with("StartTime", "2026-01-01"),
            Err(ApiError::InvalidStartTimeFormat)
        );
        assert_eq!(
            with("EndTime", "yesterday"),
            Err(ApiError::InvalidEndTimeFormat)
        );
        assert_eq!(
            with("EndTime", "2025-12-31T00:00:00Z"),
            Err(ApiError::InvalidStartTimeAndEndTimeMalformed)
        );
        for (k, v) in [
            ("PageSize", "31"),
            ("PageSize", "ten"),
            ("PageNumber", "0"),
            ("PageNumber", "2147483648"),
        ] {
            assert_eq!(
                with(k, v),
                Err(ApiError::InvalidParametersFormat),
                "{k}={v}"
            );
        }
    }
}
