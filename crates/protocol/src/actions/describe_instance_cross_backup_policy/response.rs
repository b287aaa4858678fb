//! The response model and its JSON/XML rendering. `BackupEnabled`/`LogBackupEnabled` are
//! `"Enable"`/`"Disable"`; the enable times are `yyyy-MM-ddTHH:mm:ssZ` (empty when never
//! enabled); `RetentType` and `Retention` are integers, everything else strings. No `Code` field.

use serde::{Deserialize, Serialize};

use crate::actions::body::render_success;
use crate::format::Format;
use crate::xml;

/// `"Enable"` / `"Disable"`, the describe action's spelling of a switch.
pub fn enable_word(on: bool) -> &'static str {
    if on {
        "Enable"
    } else {
        "Disable"
    }
}

/// The body of a successful `DescribeInstanceCrossBackupPolicy` call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeInstanceCrossBackupPolicyResponse {
    /// `RequestId`.
    pub request_id: String,
    /// `DBInstanceId`.
    #[serde(rename = "DBInstanceId")]
    pub db_instance_id: String,
    /// `RegionId`: the instance's region.
    pub region_id: String,
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

/// The XML root element: `<Action>Response`.
pub(crate) const ROOT: &str = "DescribeInstanceCrossBackupPolicyResponse";

/// Renders the success body in `format`.
pub fn render(r: &DescribeInstanceCrossBackupPolicyResponse, format: Format) -> Vec<u8> {
    render_success(r, format, ROOT, 768, |o| {
        xml::text_element(o, "RequestId", &r.request_id);
        xml::text_element(o, "DBInstanceId", &r.db_instance_id);
        xml::text_element(o, "RegionId", &r.region_id);
        xml::text_element(o, "BackupEnabled", &r.backup_enabled);
        xml::text_element(o, "BackupEnabledTime", &r.backup_enabled_time);
        xml::text_element(o, "LogBackupEnabled", &r.log_backup_enabled);
        xml::text_element(o, "LogBackupEnabledTime", &r.log_backup_enabled_time);
        xml::text_element(o, "CrossBackupRegion", &r.cross_backup_region);
        xml::text_element(o, "CrossBackupType", &r.cross_backup_type);
        xml::num_element(o, "RetentType", r.retent_type);
        xml::num_element(o, "Retention", r.retention);
        xml::text_element(o, "Engine", &r.engine);
        xml::text_element(o, "EngineVersion", &r.engine_version);
        xml::text_element(o, "DBInstanceStatus", &r.db_instance_status);
        xml::text_element(o, "LockMode", &r.lock_mode);
        xml::text_element(o, "DBInstanceDescription", &r.db_instance_description);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> DescribeInstanceCrossBackupPolicyResponse {
        DescribeInstanceCrossBackupPolicyResponse {
            request_id: "R".into(),
            db_instance_id: "rm-a".into(),
            region_id: "cn-hangzhou".into(),
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

    #[test]
    fn json_names_and_types() {
        let json = String::from_utf8(render(&sample(), Format::Json)).unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["BackupEnabled"], "Enable");
        assert_eq!(v["LogBackupEnabled"], "Disable");
        assert_eq!(v["BackupEnabledTime"], "2026-11-27T10:00:00Z");
        assert_eq!(v["DBInstanceStatus"], "Running");
        assert_eq!(v["DBInstanceDescription"], "a & b");
        assert_eq!(v["RetentType"], 1);
        assert_eq!(v["Retention"], 7);
        assert!(v.get("Code").is_none());
        let back: DescribeInstanceCrossBackupPolicyResponse = serde_json::from_str(&json).unwrap();
        assert_eq!(back, sample());
    }

    #[test]
    fn xml_escapes_and_orders() {
        let xml = String::from_utf8(render(&sample(), Format::Xml)).unwrap();
        assert!(xml.starts_with("<?xml version='1.0' encoding='UTF-8'?><DescribeInstanceCrossBackupPolicyResponse><RequestId>R</RequestId>"), "{xml}");
        assert!(xml.contains("<BackupEnabled>Enable</BackupEnabled><BackupEnabledTime>2026-11-27T10:00:00Z</BackupEnabledTime><LogBackupEnabled>Disable</LogBackupEnabled><LogBackupEnabledTime></LogBackupEnabledTime>"), "{xml}");
        assert!(xml.ends_with("<DBInstanceDescription>a &amp; b</DBInstanceDescription></DescribeInstanceCrossBackupPolicyResponse>"), "{xml}");
    }
}
