//! An instance's cross-region backup policy as the describe actions report it: the body of
//! `DescribeInstanceCrossBackupPolicy` (beside `RequestId` and `RegionId`) and each item of
//! `DescribeCrossRegionBackupDBInstance` carry the same fields with the same types.
//!
//! `BackupEnabled`/`LogBackupEnabled` are `"Enable"`/`"Disable"`; the enable times are
//! `yyyy-MM-ddTHH:mm:ssZ` (empty when never enabled); `RetentType` and `Retention` are integers,
//! everything else strings.

use serde::{Deserialize, Serialize};

/// `"Enable"` / `"Disable"`, the describe actions' spelling of a switch.
pub fn enable_word(on: bool) -> &'static str {
    if on {
        "Enable"
    } else {
        "Disable"
    }
}

/// One instance's policy fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct InstanceCrossBackupPolicy {
    /// `DBInstanceId`.
    #[serde(rename = "DBInstanceId")]
    pub db_instance_id: String,
    /// `BackupEnabled`: `Enable` / `Disable`.
    pub backup_enabled: String,
    /// `BackupEnabledTime`: when data backup copies were last turned on.
    pub backup_enabled_time: String,
    /// `LogBackupEnabled`: `Enable` / `Disable`.
    pub log_backup_enabled: String,
    /// `LogBackupEnabledTime`: when log backup copies were last turned on.
    pub log_backup_enabled_time: String,
    /// `CrossBackupRegion`: the destination (empty when no policy was ever set).
    pub cross_backup_region: String,
    /// `CrossBackupType`: `"1"`.
    pub cross_backup_type: String,
    /// `RetentType`: 1.
    pub retent_type: i64,
    /// `Retention` in days.
    pub retention: i64,
    /// `Engine`.
    pub engine: String,
    /// `EngineVersion`.
    pub engine_version: String,
    /// `DBInstanceStatus`: `Running`.
    #[serde(rename = "DBInstanceStatus")]
    pub db_instance_status: String,
    /// `LockMode`: `Unlock`.
    pub lock_mode: String,
    /// `DBInstanceDescription`.
    #[serde(rename = "DBInstanceDescription")]
    pub db_instance_description: String,
}

#[cfg(test)]
pub(crate) fn sample() -> InstanceCrossBackupPolicy {
    InstanceCrossBackupPolicy {
        db_instance_id: "rm-a".into(),
        backup_enabled: enable_word(true).into(),
        backup_enabled_time: "2026-11-27T10:00:00Z".into(),
        log_backup_enabled: enable_word(false).into(),
        log_backup_enabled_time: String::new(),
        cross_backup_region: "cn-shanghai".into(),
        cross_backup_type: "1".into(),
        retent_type: 1,
        retention: 7,
        engine: "MySQL".into(),
        engine_version: "5.7".into(),
        db_instance_status: "Running".into(),
        lock_mode: "Unlock".into(),
        db_instance_description: "a & b".into(),
    }
}
