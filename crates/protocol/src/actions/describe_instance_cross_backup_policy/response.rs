//! The response model and its JSON/XML rendering: `RequestId`, `RegionId` and the instance's
//! policy fields ([`InstanceCrossBackupPolicy`], flattened into the body). No `Code` field.

use serde::{Deserialize, Serialize};

use crate::actions::cross_backup_policy::InstanceCrossBackupPolicy;

pub use crate::actions::cross_backup_policy::enable_word;

/// The body of a successful `DescribeInstanceCrossBackupPolicy` call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeInstanceCrossBackupPolicyResponse {
    /// `RequestId`.
    pub request_id: String,
    /// `RegionId`: the instance's region.
    pub region_id: String,
    /// `DBInstanceId`, the switches, destination, retention and instance details.
    #[serde(flatten)]
    pub policy: InstanceCrossBackupPolicy,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::body::rendered;

    fn sample() -> DescribeInstanceCrossBackupPolicyResponse {
        DescribeInstanceCrossBackupPolicyResponse {
            request_id: "R".into(),
            region_id: "cn-hangzhou".into(),
            policy: crate::actions::cross_backup_policy::sample(),
        }
    }

    #[test]
    fn json_names_and_types_and_the_xml_order() {
        let (json, xml) = rendered(&sample());
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let want = serde_json::json!({
            "RegionId": "cn-hangzhou", "DBInstanceId": "rm-a", "BackupEnabled": "Enable",
            "LogBackupEnabled": "Disable", "BackupEnabledTime": "2026-11-27T10:00:00Z",
            "DBInstanceStatus": "Running", "DBInstanceDescription": "a & b",
            "RetentType": 1, "Retention": 7,
        });
        for (name, value) in want.as_object().unwrap() {
            assert_eq!(&v[name], value, "{name}");
        }
        assert!(v.get("Code").is_none() && v.get("Policy").is_none());
        let back: DescribeInstanceCrossBackupPolicyResponse = serde_json::from_str(&json).unwrap();
        assert_eq!(back, sample());
        // XML: the same fields in the model's order, escaped.
        assert!(xml.starts_with("<?xml version='1.0' encoding='UTF-8'?><DescribeInstanceCrossBackupPolicyResponse><RequestId>R</RequestId><RegionId>cn-hangzhou</RegionId><DBInstanceId>rm-a</DBInstanceId>"), "{xml}");
        assert!(xml.contains("<BackupEnabled>Enable</BackupEnabled><BackupEnabledTime>2026-11-27T10:00:00Z</BackupEnabledTime><LogBackupEnabled>Disable</LogBackupEnabled><LogBackupEnabledTime></LogBackupEnabledTime>"), "{xml}");
        assert!(xml.ends_with("<DBInstanceDescription>a &amp; b</DBInstanceDescription></DescribeInstanceCrossBackupPolicyResponse>"), "{xml}");
    }
}
