//! The response model and its JSON/XML rendering (PROTOCOL §5.1, §5.2).
//!
//! The `Items.Item[]` and `RestoreRegions.RestoreRegion[]` wrapper objects are always present,
//! even when empty (`"Items":{"Item":[]}`, `<Items></Items>`): the Tea models crash on a bare
//! list. Integers are JSON numbers, everything else strings; there is no `Code` field (pop-core
//! treats any `Code` as an error). `StartTime`/`EndTime` are omitted when `None`.
//!
//! The model also deserializes from the JSON shape (missing fields default), for clients.

use serde::{Deserialize, Serialize};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::body::rendered;

    #[test]
    fn empty_lists_keep_their_wrappers() {
        let mut resp = DescribeCrossRegionBackupsResponse::default();
        let json = rendered(&resp).0;
        assert!(json.contains(r#""Items":{"Item":[]}"#), "{json}");
        assert!(
            !json.contains("StartTime") && !json.contains("Code"),
            "{json}"
        );
        resp.items.push(CrossRegionBackupItem::default());
        let (json, xml) = rendered(&resp);
        assert!(
            json.contains(r#""RestoreRegions":{"RestoreRegion":[]}"#),
            "{json}"
        );
        assert!(xml.contains("<RestoreRegions></RestoreRegions>"), "{xml}");
        let back: DescribeCrossRegionBackupsResponse = serde_json::from_str(&json).unwrap();
        assert_eq!(back, resp);
    }
}
