//! `ModifyInstanceCrossBackupPolicy`: typed request and the response model of the protocol
//! crate. Turns an instance's cross-region backup on or off and sets its destination region and
//! retention; the answer echoes the policy as stored.

pub use xbak_protocol::actions::modify_instance_cross_backup_policy::ModifyInstanceCrossBackupPolicyResponse;

use crate::client::Client;
use crate::error::SdkError;

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
    /// `RegionId`.
    pub fn region_id(mut self, r: impl Into<String>) -> Self {
        self.region_id = Some(r.into());
        self
    }
    /// `BackupEnabled`.
    pub fn backup_enabled(mut self, on: bool) -> Self {
        self.backup_enabled = Some(on);
        self
    }
    /// `LogBackupEnabled`.
    pub fn log_backup_enabled(mut self, on: bool) -> Self {
        self.log_backup_enabled = Some(on);
        self
    }
    /// `CrossBackupRegion`.
    pub fn cross_backup_region(mut self, r: impl Into<String>) -> Self {
        self.cross_backup_region = Some(r.into());
        self
    }
    /// `CrossBackupType`.
    pub fn cross_backup_type(mut self, t: impl Into<String>) -> Self {
        self.cross_backup_type = Some(t.into());
        self
    }
    /// `RetentType`.
    pub fn retent_type(mut self, t: u32) -> Self {
        self.retent_type = Some(t);
        self
    }
    /// `Retention` in days.
    pub fn retention(mut self, days: u32) -> Self {
        self.retention = Some(days);
        self
    }
    /// `ResourceGroupId`.
    pub fn resource_group_id(mut self, g: impl Into<String>) -> Self {
        self.resource_group_id = Some(g.into());
        self
    }

    /// The wire parameters, in the order the official SDKs send them.
    pub fn to_params(&self) -> Vec<(String, String)> {
        let flag = |b: bool| if b { "1" } else { "0" }.to_owned();
        let mut p: Vec<(String, String)> = Vec::new();
        let mut put = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                p.push((k.to_owned(), v));
            }
        };
        put("DBInstanceId", Some(self.db_instance_id.clone()));
        put("RegionId", self.region_id.clone());
        put("BackupEnabled", self.backup_enabled.map(flag));
        put("LogBackupEnabled", self.log_backup_enabled.map(flag));
        put("CrossBackupRegion", self.cross_backup_region.clone());
        put("CrossBackupType", self.cross_backup_type.clone());
        put("RetentType", self.retent_type.map(|v| v.to_string()));
        put("Retention", self.retention.map(|v| v.to_string()));
        put("ResourceGroupId", self.resource_group_id.clone());
        p
    }
}

impl Client {
    /// Changes an instance's cross-region backup policy; returns the policy as stored.
    pub async fn modify_instance_cross_backup_policy(
        &self,
        req: &ModifyInstanceCrossBackupPolicyRequest,
    ) -> Result<ModifyInstanceCrossBackupPolicyResponse, SdkError> {
        self.call_typed(ACTION, &req.to_params()).await
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
