//! The response model and its JSON/XML rendering (PROTOCOL §5.1, §5.2).
//!
//! The `Items.Item[]` and `RestoreRegions.RestoreRegion[]` wrapper objects are always present,
//! even when empty (`"Items":{"Item":[]}`, `<Items></Items>`): the Tea models crash on a bare
//! list. Integers are JSON numbers, everything else strings; there is no `Code` field (pop-core
//! treats any `Code` as an error). `StartTime`/`EndTime` are omitted when `None`.
//!
//! The model also deserializes from the JSON shape (missing fields default), for clients.

use serde::{Deserialize, Serialize};

use crate::actions::body::render_success;
use crate::format::Format;
use crate::xml;

/// The body of a successful `DescribeCrossRegionBackups` call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeCrossRegionBackupsResponse {
    /// `RequestId`.
    pub request_id: String,
    /// `RegionId`, echoed from the request.
    pub region_id: String,
    /// `StartTime`, echoed as received; omitted when the request had none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// `EndTime`, echoed as received; omitted when the request had none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// `TotalRecordCount`: size of the filtered set.
    pub total_record_count: u64,
    /// `PageNumber`, echoed (default 1).
    pub page_number: u32,
    /// `PageRecordCount`: number of items on this page.
    pub page_record_count: u32,
    /// `Items.Item[]`.
    #[serde(with = "items_wire")]
    pub items: Vec<CrossRegionBackupItem>,
}

/// One cross-region backup set (`Items.Item[]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CrossRegionBackupItem {
    /// `BackupEndTime`, `yyyy-MM-ddTHH:mm:ssZ`.
    pub backup_end_time: String,
    /// `BackupMethod`: `L` logical, `P` physical.
    pub backup_method: String,
    /// `BackupSetScale`: 0 instance, 1 single database.
    pub backup_set_scale: i64,
    /// `BackupSetStatus`: 0 complete, 1 failed.
    pub backup_set_status: i64,
    /// `BackupStartTime`, `yyyy-MM-ddTHH:mm:ssZ`.
    pub backup_start_time: String,
    /// `BackupType`: `F` full, `I` incremental.
    pub backup_type: String,
    /// `Category`: `Basic`, `HighAvailability`, `Finance`.
    pub category: String,
    /// `ConsistentTime`: point in time of the data.
    pub consistent_time: String,
    /// `CrossBackupDownloadLink`: download URL.
    pub cross_backup_download_link: String,
    /// `CrossBackupId`.
    pub cross_backup_id: i64,
    /// `CrossBackupRegion`: destination region.
    pub cross_backup_region: String,
    /// `CrossBackupSetFile`: archive name.
    pub cross_backup_set_file: String,
    /// `CrossBackupSetLocation`, e.g. `oss`.
    pub cross_backup_set_location: String,
    /// `CrossBackupSetSize` in bytes.
    pub cross_backup_set_size: i64,
    /// `DBInstanceStorageType`, e.g. `ssd`.
    #[serde(rename = "DBInstanceStorageType")]
    pub db_instance_storage_type: String,
    /// `Engine`, e.g. `mysql`.
    pub engine: String,
    /// `EngineVersion`, e.g. `5.7`.
    pub engine_version: String,
    /// `InstanceId`: which node produced the set.
    pub instance_id: i64,
    /// `RestoreRegions.RestoreRegion[]`.
    #[serde(with = "restore_regions_wire")]
    pub restore_regions: Vec<String>,
}

/// Defines a serde `with` module mapping `Vec<T>` to `{"<name>": [..]}`.
macro_rules! wrapper {
    ($module:ident, $name:literal, $t:ty) => {
        mod $module {
            use serde::{Deserialize, Deserializer, Serialize, Serializer};

            #[derive(Serialize)]
            struct Out<'a> {
                #[serde(rename = $name)]
                inner: &'a [$t],
            }

            #[derive(Deserialize)]
            struct In {
                #[serde(rename = $name, default)]
                inner: Vec<$t>,
            }

            pub fn serialize<S: Serializer>(v: &[$t], s: S) -> Result<S::Ok, S::Error> {
                Out { inner: v }.serialize(s)
            }

            pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<$t>, D::Error> {
                In::deserialize(d).map(|w| w.inner)
            }
        }
    };
}

wrapper!(items_wire, "Item", super::CrossRegionBackupItem);
wrapper!(restore_regions_wire, "RestoreRegion", String);

/// The XML root element: `<Action>Response`.
pub(crate) const ROOT: &str = "DescribeCrossRegionBackupsResponse";

/// Renders the success body in `format`.
pub fn render(resp: &DescribeCrossRegionBackupsResponse, format: Format) -> Vec<u8> {
    let capacity = 512 + resp.items.len() * 1152;
    render_success(resp, format, ROOT, capacity, |out| render_xml(out, resp))
}

fn render_xml(out: &mut Vec<u8>, r: &DescribeCrossRegionBackupsResponse) {
    xml::text_element(out, "RequestId", &r.request_id);
    xml::text_element(out, "RegionId", &r.region_id);
    if let Some(s) = &r.start_time {
        xml::text_element(out, "StartTime", s);
    }
    if let Some(e) = &r.end_time {
        xml::text_element(out, "EndTime", e);
    }
    xml::num_element(out, "TotalRecordCount", r.total_record_count);
    xml::num_element(out, "PageNumber", r.page_number);
    xml::num_element(out, "PageRecordCount", r.page_record_count);
    xml::open(out, "Items");
    for item in &r.items {
        render_item(out, item);
    }
    xml::close(out, "Items");
}

fn render_item(out: &mut Vec<u8>, i: &CrossRegionBackupItem) {
    xml::open(out, "Item");
    xml::text_element(out, "BackupEndTime", &i.backup_end_time);
    xml::text_element(out, "BackupMethod", &i.backup_method);
    xml::num_element(out, "BackupSetScale", i.backup_set_scale);
    xml::num_element(out, "BackupSetStatus", i.backup_set_status);
    xml::text_element(out, "BackupStartTime", &i.backup_start_time);
    xml::text_element(out, "BackupType", &i.backup_type);
    xml::text_element(out, "Category", &i.category);
    xml::text_element(out, "ConsistentTime", &i.consistent_time);
    xml::text_element(
        out,
        "CrossBackupDownloadLink",
        &i.cross_backup_download_link,
    );
    xml::num_element(out, "CrossBackupId", i.cross_backup_id);
    xml::text_element(out, "CrossBackupRegion", &i.cross_backup_region);
    xml::text_element(out, "CrossBackupSetFile", &i.cross_backup_set_file);
    xml::text_element(out, "CrossBackupSetLocation", &i.cross_backup_set_location);
    xml::num_element(out, "CrossBackupSetSize", i.cross_backup_set_size);
    xml::text_element(out, "DBInstanceStorageType", &i.db_instance_storage_type);
    xml::text_element(out, "Engine", &i.engine);
    xml::text_element(out, "EngineVersion", &i.engine_version);
    xml::num_element(out, "InstanceId", i.instance_id);
    xml::text_list(out, "RestoreRegions", "RestoreRegion", &i.restore_regions);
    xml::close(out, "Item");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_lists_keep_their_wrappers() {
        let mut resp = DescribeCrossRegionBackupsResponse::default();
        let json = String::from_utf8(render(&resp, Format::Json)).unwrap();
        assert!(json.contains(r#""Items":{"Item":[]}"#), "{json}");
        assert!(
            !json.contains("StartTime") && !json.contains("Code"),
            "{json}"
        );
        resp.items.push(CrossRegionBackupItem::default());
        let json = String::from_utf8(render(&resp, Format::Json)).unwrap();
        assert!(
            json.contains(r#""RestoreRegions":{"RestoreRegion":[]}"#),
            "{json}"
        );
        let xml = String::from_utf8(render(&resp, Format::Xml)).unwrap();
        assert!(xml.contains("<RestoreRegions></RestoreRegions>"), "{xml}");
        let back: DescribeCrossRegionBackupsResponse = serde_json::from_str(&json).unwrap();
        assert_eq!(back, resp);
    }
}
