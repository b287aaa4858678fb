//! The response model and its JSON/XML rendering: `RequestId`, `RegionId`, `PageNumber`,
//! `PageSize`, `ItemsNumbers` (items on this page), `TotalRecords` (all matching instances; all
//! five counts are JSON numbers) and `Items.Item[]`, whose wrapper object is always present
//! (`"Items":{"Item":[]}`, `<Items></Items>`). No `Code` field.

use serde::{Deserialize, Serialize};

use crate::actions::cross_backup_policy::InstanceCrossBackupPolicy;

/// The body of a successful `DescribeCrossRegionBackupDBInstance` call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeCrossRegionBackupDBInstanceResponse {
    /// `RequestId`.
    pub request_id: String,
    /// `RegionId`, echoed from the request.
    pub region_id: String,
    /// `PageNumber`, echoed (default 1).
    pub page_number: u32,
    /// `PageSize`, echoed (default 30).
    pub page_size: u32,
    /// `ItemsNumbers`: items on this page.
    pub items_numbers: u32,
    /// `TotalRecords`: all matching instances.
    pub total_records: u64,
    /// `Items`.
    pub items: PolicyItems,
}

/// The `Items` wrapper object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PolicyItems {
    /// `Item[]`: one instance's policy each.
    pub item: Vec<InstanceCrossBackupPolicy>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::body::rendered;

    #[test]
    fn empty_page_keeps_its_wrapper() {
        let r = DescribeCrossRegionBackupDBInstanceResponse {
            request_id: "R".into(),
            region_id: "cn-hangzhou".into(),
            page_number: 2,
            page_size: 30,
            items_numbers: 0,
            total_records: 1,
            items: PolicyItems::default(),
        };
        let (json, xml) = rendered(&r);
        assert_eq!(
            json,
            r#"{"RequestId":"R","RegionId":"cn-hangzhou","PageNumber":2,"PageSize":30,"ItemsNumbers":0,"TotalRecords":1,"Items":{"Item":[]}}"#
        );
        assert!(xml.ends_with("<DescribeCrossRegionBackupDBInstanceResponse><RequestId>R</RequestId><RegionId>cn-hangzhou</RegionId><PageNumber>2</PageNumber><PageSize>30</PageSize><ItemsNumbers>0</ItemsNumbers><TotalRecords>1</TotalRecords><Items></Items></DescribeCrossRegionBackupDBInstanceResponse>"), "{xml}");
    }

    #[test]
    fn items_carry_the_policy_fields() {
        let r = DescribeCrossRegionBackupDBInstanceResponse {
            items_numbers: 1,
            total_records: 1,
            items: PolicyItems {
                item: vec![crate::actions::cross_backup_policy::sample()],
            },
            ..Default::default()
        };
        let (json, xml) = rendered(&r);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let item = &v["Items"]["Item"][0];
        assert_eq!(item["DBInstanceId"], "rm-a");
        assert_eq!(item["Retention"], 7);
        assert_eq!(item["CrossBackupType"], "1");
        assert!(xml.contains("<Items><Item><DBInstanceId>rm-a</DBInstanceId><BackupEnabled>Enable</BackupEnabled>"), "{xml}");
        assert!(
            xml.contains("<DBInstanceDescription>a &amp; b</DBInstanceDescription></Item></Items>"),
            "{xml}"
        );
        let back: DescribeCrossRegionBackupDBInstanceResponse = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
    }
}
