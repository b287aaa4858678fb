//! `ModifyInstanceCrossBackupPolicy`: typed request and the response model of the protocol
//! crate. Turns an instance's cross-region backup on or off and sets its destination region and
//! retention; the answer echoes the policy as stored.

pub use xbak_protocol::actions::modify_instance_cross_backup_policy::ModifyInstanceCrossBackupPolicyResponse;

use crate::action::action;

/// The action's wire name.
pub const ACTION: &str = "ModifyInstanceCrossBackupPolicy";

action! {
    /// Changes an instance's cross-region backup policy; returns the policy as stored.
    fn modify_instance_cross_backup_policy(ACTION) -> ModifyInstanceCrossBackupPolicyResponse;

    /// Request parameters. `RegionId` falls back to the client's region when `None`. Every other
    /// optional value left `None` keeps what the service has stored. Enabling
    /// (`BackupEnabled=1`) needs a `CrossBackupRegion`; `Retention` is 7..=1825 days.
    pub struct ModifyInstanceCrossBackupPolicyRequest: InstanceScope {
        /// `BackupEnabled`: sent as `1`/`0`.
        backup_enabled: bool = "BackupEnabled",
        /// `LogBackupEnabled`: sent as `1`/`0` (log copies need data copies on).
        log_backup_enabled: bool = "LogBackupEnabled",
        /// `CrossBackupRegion`: the destination region.
        cross_backup_region: String = "CrossBackupRegion",
        /// `CrossBackupType`: only `1` (keep every copied set) is accepted.
        cross_backup_type: String = "CrossBackupType",
        /// `RetentType`: only `1` (by days) is accepted.
        retent_type: u32 = "RetentType",
        /// `Retention` in days, 7..=1825.
        retention: u32 = "Retention",
    }
}

impl ModifyInstanceCrossBackupPolicyRequest {
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
