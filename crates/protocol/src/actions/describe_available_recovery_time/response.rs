//! The response model: `RequestId`, `RegionId` (the source instance's region), `CrossBackupId`
//! (a number), `RecoveryBeginTime` and `RecoveryEndTime` (`yyyy-MM-ddTHH:mm:ssZ`).

use serde::{Deserialize, Serialize};

/// The body of a successful `DescribeAvailableRecoveryTime` call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeAvailableRecoveryTimeResponse {
    /// `RequestId`.
    pub request_id: String,
    /// `RegionId`: the source instance's region.
    pub region_id: String,
    /// `CrossBackupId`, echoed.
    pub cross_backup_id: i64,
    /// `RecoveryBeginTime` / `RecoveryEndTime`: the window a restore of the copy can reach.
    pub recovery_begin_time: String,
    pub recovery_end_time: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::body::rendered;

    #[test]
    fn the_id_is_a_number() {
        let r = DescribeAvailableRecoveryTimeResponse {
            request_id: "R".into(),
            region_id: "cn-hangzhou".into(),
            cross_backup_id: 14377,
            recovery_begin_time: "2019-06-12T05:22:29Z".into(),
            recovery_end_time: "2019-06-12T07:33:12Z".into(),
        };
        let (json, xml) = rendered(&r);
        assert_eq!(
            json,
            r#"{"RequestId":"R","RegionId":"cn-hangzhou","CrossBackupId":14377,"RecoveryBeginTime":"2019-06-12T05:22:29Z","RecoveryEndTime":"2019-06-12T07:33:12Z"}"#
        );
        assert!(
            xml.contains("<CrossBackupId>14377</CrossBackupId><RecoveryBeginTime>"),
            "{xml}"
        );
    }
}
