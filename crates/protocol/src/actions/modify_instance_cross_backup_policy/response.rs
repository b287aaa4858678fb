//! The response model and its JSON/XML rendering. Types follow Alibaba's response model
//! (`alibabacloud_rds20140815` `ModifyInstanceCrossBackupPolicyResponseBody`): `BackupEnabled` /
//! `LogBackupEnabled` are `"Enable"`/`"Disable"` (the request takes `1`/`0`), `CrossBackupType`
//! the string `"1"`, `RetentType` and `Retention` integers. No `Code` field (pop-core treats one
//! as an error).

use serde::{Deserialize, Serialize};

/// The body of a successful `ModifyInstanceCrossBackupPolicy` call: the policy as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ModifyInstanceCrossBackupPolicyResponse {
    /// `RequestId`.
    pub request_id: String,
    /// `DBInstanceId`.
    #[serde(rename = "DBInstanceId")]
    pub db_instance_id: String,
    /// `RegionId`: the instance's region.
    pub region_id: String,
    /// `BackupEnabled`: `"Enable"` or `"Disable"`.
    pub backup_enabled: String,
    /// `LogBackupEnabled`: `"Enable"` or `"Disable"`.
    pub log_backup_enabled: String,
    /// `CrossBackupRegion`: the destination region.
    pub cross_backup_region: String,
    /// `CrossBackupType`: always `"1"`.
    pub cross_backup_type: String,
    /// `RetentType`: always 1.
    pub retent_type: i64,
    /// `Retention` in days.
    pub retention: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::body::rendered;

    fn sample() -> ModifyInstanceCrossBackupPolicyResponse {
        ModifyInstanceCrossBackupPolicyResponse {
            request_id: "R".into(),
            db_instance_id: "rm-a".into(),
            region_id: "cn-hangzhou".into(),
            backup_enabled: "Enable".into(),
            log_backup_enabled: "Disable".into(),
            cross_backup_region: "cn-shanghai".into(),
            cross_backup_type: "1".into(),
            retent_type: 1,
            retention: 30,
        }
    }

    #[test]
    fn json_types_match_alibaba() {
        let json = rendered(&sample()).0;
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["DBInstanceId"], "rm-a");
        assert_eq!(v["BackupEnabled"], "Enable");
        assert_eq!(v["LogBackupEnabled"], "Disable");
        assert_eq!(v["CrossBackupType"], "1");
        assert_eq!(v["RetentType"], 1);
        assert_eq!(v["Retention"], 30);
        assert!(v.get("Code").is_none());
        let back: ModifyInstanceCrossBackupPolicyResponse = serde_json::from_str(&json).unwrap();
        assert_eq!(back, sample());
    }

    #[test]
    fn xml_has_the_root_and_every_field() {
        let xml = rendered(&sample()).1;
        assert!(xml.starts_with("<?xml version='1.0' encoding='UTF-8'?><ModifyInstanceCrossBackupPolicyResponse><RequestId>R</RequestId><DBInstanceId>rm-a</DBInstanceId>"), "{xml}");
        assert!(xml.contains("<BackupEnabled>Enable</BackupEnabled><LogBackupEnabled>Disable</LogBackupEnabled><CrossBackupRegion>cn-shanghai</CrossBackupRegion><CrossBackupType>1</CrossBackupType><RetentType>1</RetentType><Retention>30</Retention></ModifyInstanceCrossBackupPolicyResponse>"), "{xml}");
    }
}
