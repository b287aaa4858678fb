//! Typed, validated request parameters. Blank values count as absent. Checks run in this order,
//! first failure wins:
//!
//! 1. the instance scope ([`InstanceScope`]): `MissingDBInstanceId`, `MissingRegionId`,
//!    `InvalidRegion.Format`;
//! 2. `StartTime` or `EndTime` absent -> `ParameterAbsence`;
//! 3. either not `yyyy-MM-ddTHH:mm:ssZ` or `yyyy-MM-ddTHH:mmZ` -> `InvalidStartTime.Format` /
//!    `InvalidEndTime.Format`; `EndTime < StartTime` -> `InvalidStartTimeAndEndTime.Malformed`;
//! 4. `PageSize` not 30/50/100, `PageNumber` not an integer in `1..=i32::MAX`
//!    -> `InvalidParameters.Format` (absent -> 30 and 1).
//!
//! `CrossBackupRegion` is an exact-match filter on the copy's region (not validated, as in
//! `DescribeCrossRegionBackups`); without it, copies in every other region are listed.

use crate::actions::describe_cross_region_backups::params::{
    parse_paging, required_window, ReceivedTime,
};
use crate::actions::instance_scope::InstanceScope;
use crate::error::ApiError;
use crate::params::RawParams;

/// Validated `DescribeCrossRegionLogBackupFiles` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeCrossRegionLogBackupFilesParams {
    /// `DBInstanceId`, `RegionId` (both required) and the resource-owner fields.
    pub instance: InstanceScope,
    /// `StartTime` and `EndTime`: each as received (echoed in the response) and its instant;
    /// files whose events overlap them are listed.
    pub start_time: ReceivedTime,
    pub end_time: ReceivedTime,
    /// `CrossBackupRegion`: only copies in this region.
    pub cross_backup_region: Option<String>,
    /// `PageSize` (30, 50 or 100) and `PageNumber` (from 1).
    pub page_size: u32,
    pub page_number: u32,
}

impl DescribeCrossRegionLogBackupFilesParams {
    /// Validates the merged request params (see the module docs for the rules and their order).
    pub fn from_params(p: &RawParams) -> Result<Self, ApiError> {
        let instance = InstanceScope::from_params(p)?;
        let (start_time, end_time) = required_window(p)?;
        let (page_size, page_number) = parse_paging(p)?;
        Ok(Self {
            instance,
            start_time,
            end_time,
            cross_backup_region: p.get_nonempty("CrossBackupRegion").map(str::to_owned),
            page_size,
            page_number,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCOPE: [(&str, &str); 2] = [("DBInstanceId", "rm-a"), ("RegionId", "cn-hangzhou")];

    #[test]
    fn scope_then_window_then_paging() {
        let decode = |pairs: &[(&str, &str)]| {
            DescribeCrossRegionLogBackupFilesParams::from_params(&pairs.iter().copied().collect())
        };
        assert_eq!(decode(&[]), Err(ApiError::Missing("DBInstanceId")));
        assert_eq!(
            decode(&[("DBInstanceId", "rm-a")]),
            Err(ApiError::Missing("RegionId"))
        );
        assert_eq!(decode(&SCOPE), Err(ApiError::ParameterAbsence));
        let window = |start, end| [SCOPE[0], SCOPE[1], ("StartTime", start), ("EndTime", end)];
        assert_eq!(
            decode(&window("2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z")),
            Err(ApiError::InvalidStartTimeAndEndTimeMalformed)
        );
        assert_eq!(
            decode(&window("yesterday", "2026-01-01T00:00:00Z")),
            Err(ApiError::InvalidStartTimeFormat)
        );
        let good = window("2026-01-01T00:00Z", "2026-01-02T00:00:00Z");
        let mut paged = good.to_vec();
        paged.push(("PageSize", "20"));
        assert_eq!(decode(&paged), Err(ApiError::InvalidParametersFormat));
        let p = decode(&good).unwrap();
        assert_eq!(
            (p.start_time.0.as_str(), p.page_size, p.page_number),
            ("2026-01-01T00:00Z", 30, 1)
        );
        assert_eq!(p.cross_backup_region, None);
    }
}
