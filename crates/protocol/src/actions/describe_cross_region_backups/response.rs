//! The response model and its JSON/XML rendering (PROTOCOL §5.1, §5.2).
//!
//! The `Items.Item[]` and `RestoreRegions.RestoreRegion[]` wrapper objects are always present,
//! even when empty (`"Items":{"Item":[]}`, `<Items></Items>`): the Tea models crash on a bare
//! list. Integers are JSON numbers, everything else strings; there is no `Code` field (pop-core
//! treats any `Code` as an error). `StartTime`/`EndTime` are omitted when `None`.
//!
//! The model also deserializes from the JSON shape (missing fields default), for clients.

use serde::{Deserialize, Serialize};

/// The body of a successful `DescribeCrossRegionBackups` call. `S` is the items' text: owned
/// (`String`, the default) for clients; the server renders items that borrow (`&str`) from its
/// catalog rows, so a page costs no copy of every item's text before rendering.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
// Bounds by hand: serde does not infer them through the `with` of `items`.
#[serde(
    rename_all = "PascalCase",
    default,
    bound(
        serialize = "S: Serialize",
        deserialize = "S: Deserialize<'de> + Default"
    )
)]
pub struct DescribeCrossRegionBackupsResponse<S = String> {
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
    pub items: Vec<CrossRegionBackupItem<S>>,
}

/// One cross-region backup set (`Items.Item[]`); `S` as in [`DescribeCrossRegionBackupsResponse`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CrossRegionBackupItem<S = String> {
    /// `BackupEndTime`, `yyyy-MM-ddTHH:mm:ssZ`.
    pub backup_end_time: S,
    /// `BackupMethod`: `L` logical, `P` physical.
    pub backup_method: S,
    /// `BackupSetScale`: 0 instance, 1 single database.
    pub backup_set_scale: i64,
    /// `BackupSetStatus`: 0 complete, 1 failed.
    pub backup_set_status: i64,
    /// `BackupStartTime`, `yyyy-MM-ddTHH:mm:ssZ`.
    pub backup_start_time: S,
    /// `BackupType`: `F` full, `I` incremental.
    pub backup_type: S,
    /// `Category`: `Basic`, `HighAvailability`, `Finance`.
    pub category: S,
    /// `ConsistentTime`: point in time of the data.
    pub consistent_time: S,
    /// `CrossBackupDownloadLink`: download URL.
    pub cross_backup_download_link: S,
    /// `CrossBackupId`.
    pub cross_backup_id: i64,
    /// `CrossBackupRegion`: destination region.
    pub cross_backup_region: S,
    /// `CrossBackupSetFile`: archive name.
    pub cross_backup_set_file: S,
    /// `CrossBackupSetLocation`, e.g. `oss`.
    pub cross_backup_set_location: S,
    /// `CrossBackupSetSize` in bytes.
    pub cross_backup_set_size: i64,
    /// `DBInstanceStorageType`, e.g. `ssd`.
    #[serde(rename = "DBInstanceStorageType")]
    pub db_instance_storage_type: S,
    /// `Engine`, e.g. `mysql`.
    pub engine: S,
    /// `EngineVersion`, e.g. `5.7`.
    pub engine_version: S,
    /// `InstanceId`: which node produced the set.
    pub instance_id: i64,
    /// `RestoreRegions.RestoreRegion[]`.
    #[serde(with = "restore_regions_wire")]
    pub restore_regions: Vec<S>,
}

/// The server's page: items borrowing their text (the owned one is declared with every action).
impl crate::actions::SuccessBody for DescribeCrossRegionBackupsResponse<&str> {
    const ACTION: crate::actions::Action = crate::actions::Action::DescribeCrossRegionBackups;
}

/// Defines a serde `with` module mapping `Vec<T>` to `{"<name>": [..]}`.
macro_rules! wrapper {
    ($module:ident, $name:literal) => {
        mod $module {
            use serde::{Deserialize, Deserializer, Serialize, Serializer};

            #[derive(Serialize)]
            struct Out<'a, T> {
                #[serde(rename = $name)]
                inner: &'a [T],
            }

            #[derive(Deserialize)]
            struct In<T> {
                #[serde(rename = $name, default = "Vec::new")]
                inner: Vec<T>,
            }

            pub fn serialize<T: Serialize, S: Serializer>(
                v: &[T],
                s: S,
            ) -> Result<S::Ok, S::Error> {
                Out { inner: v }.serialize(s)
            }

            pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
                d: D,
            ) -> Result<Vec<T>, D::Error> {
                In::deserialize(d).map(|w| w.inner)
            }
        }
    };
}

wrapper!(items_wire, "Item");
wrapper!(restore_regions_wire, "RestoreRegion");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::body::rendered;
    use crate::actions::render;
    use crate::format::Format;

    /// An item with every field distinct, so a field rendered from the wrong source shows.
    fn distinct_item(n: i64) -> CrossRegionBackupItem {
        let text = |field: &str| format!("{field}-{n}<&\"é>");
        CrossRegionBackupItem {
            backup_end_time: text("end"),
            backup_method: text("method"),
            backup_set_scale: n,
            backup_set_status: n + 1,
            backup_start_time: text("start"),
            backup_type: text("type"),
            category: text("category"),
            consistent_time: text("consistent"),
            cross_backup_download_link: text("link"),
            cross_backup_id: n + 2,
            cross_backup_region: text("region"),
            cross_backup_set_file: text("file"),
            cross_backup_set_location: text("location"),
            cross_backup_set_size: n + 3,
            db_instance_storage_type: text("storage"),
            engine: text("engine"),
            engine_version: text("version"),
            instance_id: n + 4,
            restore_regions: vec![text("r1"), text("r2")],
        }
    }

    /// The server's borrowed page renders the same bytes as the owned model clients parse.
    #[test]
    fn borrowed_pages_render_as_owned_ones() {
        let owned = DescribeCrossRegionBackupsResponse {
            request_id: "req".into(),
            region_id: "cn-hangzhou".into(),
            start_time: Some("2020-01-01T00:00:00Z".into()),
            end_time: None,
            total_record_count: 7,
            page_number: 2,
            page_record_count: 2,
            items: vec![distinct_item(1), distinct_item(2)],
        };
        let borrowed = DescribeCrossRegionBackupsResponse {
            request_id: owned.request_id.clone(),
            region_id: owned.region_id.clone(),
            start_time: owned.start_time.clone(),
            end_time: owned.end_time.clone(),
            total_record_count: owned.total_record_count,
            page_number: owned.page_number,
            page_record_count: owned.page_record_count,
            items: owned
                .items
                .iter()
                .map(|i| CrossRegionBackupItem {
                    backup_end_time: i.backup_end_time.as_str(),
                    backup_method: &i.backup_method,
                    backup_set_scale: i.backup_set_scale,
                    backup_set_status: i.backup_set_status,
                    backup_start_time: &i.backup_start_time,
                    backup_type: &i.backup_type,
                    category: &i.category,
                    consistent_time: &i.consistent_time,
                    cross_backup_download_link: &i.cross_backup_download_link,
                    cross_backup_id: i.cross_backup_id,
                    cross_backup_region: &i.cross_backup_region,
                    cross_backup_set_file: &i.cross_backup_set_file,
                    cross_backup_set_location: &i.cross_backup_set_location,
                    cross_backup_set_size: i.cross_backup_set_size,
                    db_instance_storage_type: &i.db_instance_storage_type,
                    engine: &i.engine,
                    engine_version: &i.engine_version,
                    instance_id: i.instance_id,
                    restore_regions: i.restore_regions.iter().map(String::as_str).collect(),
                })
                .collect(),
        };
        for format in [Format::Json, Format::Xml] {
            let (a, b) = (render(&owned, format), render(&borrowed, format));
            assert_eq!(String::from_utf8(a).unwrap(), String::from_utf8(b).unwrap());
        }
        let json = String::from_utf8(render(&borrowed, Format::Json)).unwrap();
        let back: DescribeCrossRegionBackupsResponse = serde_json::from_str(&json).unwrap();
        assert_eq!(back, owned);
    }

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
