//! Typed, validated request parameters. Blank values count as absent. Checks run in this order,
//! first failure wins:
//!
//! 1. the instance scope ([`InstanceScope`]): `MissingDBInstanceId`, `MissingRegionId`,
//!    `InvalidRegion.Format`;
//! 2. `BackupEnabled` / `LogBackupEnabled` not `0`/`1` -> `InvalidParameters.Format`;
//! 3. `LogBackupEnabled=1` with `BackupEnabled=0` -> `InvalidParameters.Format` (log backup only
//!    rides on data backup);
//! 4. `BackupEnabled=1` without `CrossBackupRegion` -> `MissingCrossBackupRegion`;
//!    `CrossBackupRegion` not a region id -> `InvalidParameters.Format`;
//! 5. `CrossBackupType` other than `1`, `RetentType` other than `1`, `Retention` not an integer in
//!    7..=1825 -> `InvalidParameters.Format`.
//!
//! Absent optional values mean "keep what is stored" (the server merges them).

use crate::actions::instance_scope::{valid_region, InstanceScope};
use crate::error::ApiError;
use crate::params::RawParams;

/// The only `CrossBackupType` (keep every copied set) and `RetentType` (by days) Alibaba accepts.
pub const ONLY_TYPE: &str = "1";

/// Validated `ModifyInstanceCrossBackupPolicy` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModifyInstanceCrossBackupPolicyParams {
    /// `DBInstanceId`, `RegionId` and the resource-owner fields.
    pub instance: InstanceScope,
    /// `BackupEnabled`: `0`/`1`; `None` keeps the stored value.
    pub backup_enabled: Option<bool>,
    /// `LogBackupEnabled`: `0`/`1`; `None` keeps the stored value.
    pub log_backup_enabled: Option<bool>,
    /// `CrossBackupRegion`: the destination; required when enabling.
    pub cross_backup_region: Option<String>,
    /// `Retention` in days, 7..=1825; `None` keeps the stored value (default 7).
    pub retention: Option<i64>,
}

impl ModifyInstanceCrossBackupPolicyParams {
    /// Validates the merged request params (see the module docs for the rules and their order).
    pub fn from_params(p: &RawParams) -> Result<Self, ApiError> {
        let get = |k: &str| p.get_nonempty(k);

        let instance = InstanceScope::from_params(p)?;
        let backup_enabled = get("BackupEnabled").map(flag).transpose()?;
        let log_backup_enabled = get("LogBackupEnabled").map(flag).transpose()?;
        if backup_enabled == Some(false) && log_backup_enabled == Some(true) {
            return Err(ApiError::InvalidParametersFormat);
        }
        let cross_backup_region = get("CrossBackupRegion");
        if backup_enabled == Some(true) && cross_backup_region.is_none() {
            return Err(ApiError::Missing("CrossBackupRegion"));
        }
        if cross_backup_region.is_some_and(|r| !valid_region(r)) {
            return Err(ApiError::InvalidParametersFormat);
        }
        for key in ["CrossBackupType", "RetentType"] {
            if get(key).is_some_and(|v| v != ONLY_TYPE) {
                return Err(ApiError::InvalidParametersFormat);
            }
        }
        let retention = get("Retention")
            .map(|v| {
                v.parse::<i64>()
                    .ok()
                    .filter(|d| xbak_retention_days().contains(d))
                    .ok_or(ApiError::InvalidParametersFormat)
            })
            .transpose()?;

        Ok(ModifyInstanceCrossBackupPolicyParams {
            instance,
            backup_enabled,
            log_backup_enabled,
            cross_backup_region: cross_backup_region.map(str::to_owned),
            retention,
        })
    }
}

/// Alibaba's retention range in days (the protocol crate does not depend on the domain crate).
fn xbak_retention_days() -> std::ops::RangeInclusive<i64> {
    7..=1825
}

fn flag(v: &str) -> Result<bool, ApiError> {
    match v {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err(ApiError::InvalidParametersFormat),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<ModifyInstanceCrossBackupPolicyParams, ApiError> {
        ModifyInstanceCrossBackupPolicyParams::from_params(&pairs.iter().copied().collect())
    }

    const BASE: [(&str, &str); 2] = [("DBInstanceId", "rm-a"), ("RegionId", "cn-hangzhou")];

    fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        BASE.iter().chain(extra).copied().collect()
    }

    #[test]
    fn full_enable_is_typed() {
        let p = parse(&with(&[
            ("BackupEnabled", "1"),
            ("LogBackupEnabled", "1"),
            ("CrossBackupRegion", "cn-shanghai"),
            ("CrossBackupType", "1"),
            ("RetentType", "1"),
            ("Retention", "30"),
            ("OwnerId", "7"),
        ]))
        .unwrap();
        assert_eq!(p.backup_enabled, Some(true));
        assert_eq!(p.log_backup_enabled, Some(true));
        assert_eq!(p.cross_backup_region.as_deref(), Some("cn-shanghai"));
        assert_eq!(p.retention, Some(30));
        assert_eq!(p.instance.owner_id.as_deref(), Some("7"));
    }

    #[test]
    fn absent_values_are_kept_and_blank_is_absent() {
        let p = parse(&with(&[("BackupEnabled", ""), ("Retention", "")])).unwrap();
        assert_eq!(p.backup_enabled, None);
        assert_eq!(p.retention, None);
        assert_eq!(p.log_backup_enabled, None);
    }

    #[test]
    fn refusals_in_order() {
        assert_eq!(
            parse(&[("RegionId", "cn-hangzhou")]),
            Err(ApiError::Missing("DBInstanceId"))
        );
        assert_eq!(
            parse(&[("DBInstanceId", "rm-a")]),
            Err(ApiError::Missing("RegionId"))
        );
        assert_eq!(
            parse(&[("DBInstanceId", "rm-a"), ("RegionId", "CN_X")]),
            Err(ApiError::InvalidRegionFormat)
        );
        let bad = ApiError::InvalidParametersFormat;
        for extra in [
            &[("BackupEnabled", "true")][..],
            &[("LogBackupEnabled", "2")],
            &[("BackupEnabled", "0"), ("LogBackupEnabled", "1")],
            &[("CrossBackupRegion", "Not A Region")],
            &[("CrossBackupType", "2")],
            &[("RetentType", "0")],
            &[("Retention", "6")],
            &[("Retention", "1826")],
            &[("Retention", "7.5")],
        ] {
            assert_eq!(parse(&with(extra)), Err(bad.clone()), "{extra:?}");
        }
        assert_eq!(
            parse(&with(&[("BackupEnabled", "1")])),
            Err(ApiError::Missing("CrossBackupRegion"))
        );
        assert!(parse(&with(&[("Retention", "7")])).is_ok());
        assert!(parse(&with(&[("Retention", "1825")])).is_ok());
        assert!(parse(&with(&[("BackupEnabled", "0")])).is_ok());
    }
}
