//! `ModifyInstanceCrossBackupPolicy`: typed request and the response model of the protocol
//! crate. Turns an instance's cross-region backup on or off and sets its destination region and
//! retention; the answer echoes the policy as stored.

pub use xbak_protocol::actions::modify_instance_cross_backup_policy::ModifyInstanceCrossBackupPolicyResponse;

use crate::action::{action, Params};
use crate::setters::setters;

/// The action's wire name.
pub const ACTION: &str = "ModifyInstanceCrossBackupPolicy";

/// Request parameters. `RegionId` falls back to the client's region when `None`. Every other
/// optional value left `None` keeps what the service has stored. Enabling
/// (`BackupEnabled=1`) needs a `CrossBackupRegion`; `Retention` is 7..=1825 days.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModifyInstanceCrossBackupPolicyRequest {
    /// `DBInstanceId` (required).
    pub db_instance_id: String,
    /// `RegionId`: the instance's region.
    pub region_id: Option<String>,
    /// `BackupEnabled`: sent as `1`/`0`.
    pub backup_enabled: Option<bool>,
    /// `LogBackupEnabled`: sent as `1`/`0` (log copies need data copies on).
    pub log_backup_enabled: Option<bool>,
    /// `CrossBackupRegion`: the destination region.
    pub cross_backup_region: Option<String>,
    /// `CrossBackupType`: only `1` (keep every copied set) is accepted.
    pub cross_backup_type: Option<String>,
    /// `RetentType`: only `1` (by days) is accepted.
    pub retent_type: Option<u32>,
    /// `Retention` in days, 7..=1825.
    pub retention: Option<u32>,
    /// `ResourceGroupId`.
    pub resource_group_id: Option<String>,
}

impl ModifyInstanceCrossBackupPolicyRequest {
    /// A request for `db_instance_id` that changes nothing yet.
    pub fn new(db_instance_id: impl Into<String>) -> Self {
        ModifyInstanceCrossBackupPolicyRequest {
            db_instance_id: db_instance_id.into(),
            ..Default::default()
        }
    }
    /// Turns data backup copies on towards `cross_backup_region` (`BackupEnabled=1`,
    /// `CrossBackupRegion`).
    pub fn enable(self, cross_backup_region: impl Into<String>) -> Self {
        self.backup_enabled(true)
            .cross_backup_region(cross_backup_region)
    }
    /// Turns data and log backup copies off (`BackupEnabled=0`, `LogBackupEnabled=0`).
    pub fn disable(self) -> Self {
        self.backup_enabled(false).log_backup_enabled(false)
    }
    setters! {
        /// `RegionId`.
        region_id: into String;
        /// `BackupEnabled`.
        backup_enabled: bool;
        /// `LogBackupEnabled`.
        log_backup_enabled: bool;
        /// `CrossBackupRegion`.
        cross_backup_region: into String;
        /// `CrossBackupType`.
        cross_backup_type: into String;
        /// `RetentType`.
        retent_type: u32;
        /// `Retention` in days.
        retention: u32;
        /// `ResourceGroupId`.
        resource_group_id: into String;
    }

    /// The wire parameters, in the order the official SDKs send them.
    pub fn to_params(&self) -> Vec<(String, String)> {
        Params::new()
            .put("DBInstanceId", Some(&self.db_instance_id))
            .put("RegionId", self.region_id.as_ref())
            .flag("BackupEnabled", self.backup_enabled)
            .flag("LogBackupEnabled", self.log_backup_enabled)
            .put("CrossBackupRegion", self.cross_backup_region.as_ref())
            .put("CrossBackupType", self.cross_backup_type.as_ref())
            .put("RetentType", self.retent_type)
            .put("Retention", self.retention)
            .put("ResourceGroupId", self.resource_group_id.as_ref())
            .into_vec()
    }
}

action! {
    ModifyInstanceCrossBackupPolicyRequest => ModifyInstanceCrossBackupPolicyResponse, ACTION;
    /// Changes an instance's cross-region backup policy; returns the policy as stored.
    fn modify_instance_cross_backup_policy;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_in_order_and_only_when_set() {
        let r = ModifyInstanceCrossBackupPolicyRequest::new("rm-1")
            .enable("cn-shanghai")
            .log_backup_enabled(true)
            .retention(30);
        assert_eq!(
            r.to_params(),
            [
                ("DBInstanceId", "rm-1"),
                ("BackupEnabled", "1"),
                ("LogBackupEnabled", "1"),
                ("CrossBackupRegion", "cn-shanghai"),
                ("Retention", "30"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        let r = ModifyInstanceCrossBackupPolicyRequest::new("rm-1")
            .region_id("cn-hangzhou")
            .disable();
        let keys: Vec<String> = r.to_params().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "DBInstanceId",
                "RegionId",
                "BackupEnabled",
                "LogBackupEnabled"
            ]
        );
        assert_eq!(r.to_params()[2].1, "0");
    }
}
