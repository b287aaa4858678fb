//! The response model and its JSON/XML rendering: `RequestId`, `RegionId`, `PageNumber`,
//! `PageSize`, `ItemsNumbers` (items on this page), `TotalRecords` (all matching instances; all
//! five counts are JSON numbers) and `Items.Item[]`, whose wrapper object is always present
//! (`"Items":{"Item":[]}`, `<Items></Items>`). No `Code` field.

use serde::{Deserialize, Serialize};

use crate::actions::body::render_success;
use crate::actions::cross_backup_policy::{self, InstanceCrossBackupPolicy};
use crate::format::Format;
use crate::xml;

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

/// The XML root element: `<Action>Response`.
pub(crate) const ROOT: &str = "DescribeCrossRegionBackupDBInstanceResponse";

/// Renders the success body in `format`.
pub fn render(r: &DescribeCrossRegionBackupDBInstanceResponse, format: Format) -> Vec<u8> {
    let capacity = 256 + r.items.item.len() * 640;
    render_success(r, format, ROOT, capacity, |o| {
        xml::text_element(o, "RequestId", &r.request_id);
        xml::text_element(o, "RegionId", &r.region_id);
        xml::num_element(o, "PageNumber", r.page_number);
        xml::num_element(o, "PageSize", r.page_size);
        xml::num_element(o, "ItemsNumbers", r.items_numbers);
        xml::num_element(o, "TotalRecords", r.total_records);
        xml::open(o, "Items");
        for item in &r.items.item {
            xml::open(o, "Item");
            cross_backup_policy::render_xml(o, item);
            xml::close(o, "Item");
        }
        xml::close(o, "Items");
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let json = String::from_utf8(render(&r, Format::Json)).unwrap();
        assert_eq!(
            json,
            r#"{"RequestId":"R","RegionId":"cn-hangzhou","PageNumber":2,"PageSize":30,"ItemsNumbers":0,"TotalRecords":1,"Items":{"Item":[]}}"#
        );
        let xml = String::from_utf8(render(&r, Format::Xml)).unwrap();
        assert!(xml.ends_with("<DescribeCrossRegionBackupDBInstanceResponse><RequestId>R</RequestId><RegionId>cn-hangzhou</RegionId><PageNumber>2</PageNumber><PageSize>30</PageSize><ItemsNumbers>0</ItemsNumbers><TotalRecords>1</TotalRecords><Items></Items></DescribeCrossRegionBackupDBInstanceResponse>"), "{xml}");
    }

    #[test]
    fn items_carry_the_policy_fields() {
        let r = DescribeCrossRegionBackupDBInstanceResponse {
            items_numbers: 1,
            total_records: 1,
            items: PolicyItems {
                item: vec![cross_backup_policy::sample()],
            },
            ..Default::default()
        };
        let v: serde_json::Value = serde_json::from_slice(&render(&r, Format::Json)).unwrap();
        let item = &v["Items"]["Item"][0];
        assert_eq!(item["DBInstanceId"], "rm-a");
        assert_eq!(item["Retention"], 7);
        assert_eq!(item["CrossBackupType"], "1");
        let xml = String::from_utf8(render(&r, Format::Xml)).unwrap();
        assert!(xml.contains("<Items><Item><DBInstanceId>rm-a</DBInstanceId><BackupEnabled>Enable</BackupEnabled>"), "{xml}");
        assert!(
            xml.contains("<DBInstanceDescription>a &amp; b</DBInstanceDescription></Item></Items>"),
            "{xml}"
        );
        let back: DescribeCrossRegionBackupDBInstanceResponse = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
    }
}
