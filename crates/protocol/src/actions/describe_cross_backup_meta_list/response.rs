//! The response model and its JSON/XML rendering: `RequestId`, `DBInstanceName`, the four counts
//! (`PageNumber`, `PageRecordCount`, `TotalPageCount`, `TotalRecordCount`: JSON numbers) and
//! `Items.Meta[]` of `{Database, Tables, Size}`, all strings (`Tables` and `Size` are
//! comma-separated lists, sizes in KB). The `Items` wrapper object is always present
//! (`"Items":{"Meta":[]}`, `<Items></Items>`). No `Code` field.

use serde::{Deserialize, Serialize};

/// The body of a successful `DescribeCrossBackupMetaList` call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeCrossBackupMetaListResponse {
    /// `RequestId`.
    pub request_id: String,
    /// `DBInstanceName`: the `DBInstanceId` the set belongs to.
    #[serde(rename = "DBInstanceName")]
    pub db_instance_name: String,
    /// `PageNumber`: the `PageIndex` served (1 when unpaged).
    pub page_number: u32,
    /// `PageRecordCount`: entries on this page.
    pub page_record_count: u32,
    /// `TotalPageCount`: pages for every entry.
    pub total_page_count: u32,
    /// `TotalRecordCount`: every matching entry.
    pub total_record_count: u32,
    /// `Items`.
    pub items: MetaItems,
}

/// The `Items` wrapper object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct MetaItems {
    /// `Meta[]`: one database each.
    pub meta: Vec<BackupMeta>,
}

/// One database of the set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct BackupMeta {
    /// `Database`: its name.
    pub database: String,
    /// `Tables`: its tables, comma-separated (empty unless the request named it in `GetDbName`).
    pub tables: String,
    /// `Size` in KB: each table's, comma-separated, when `Tables` lists them; else the database's.
    pub size: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::body::rendered;

    #[test]
    fn empty_list_keeps_its_wrapper() {
        let r = DescribeCrossBackupMetaListResponse {
            request_id: "R".into(),
            db_instance_name: "rm-a".into(),
            page_number: 1,
            ..Default::default()
        };
        let (json, xml) = rendered(&r);
        assert_eq!(
            json,
            r#"{"RequestId":"R","DBInstanceName":"rm-a","PageNumber":1,"PageRecordCount":0,"TotalPageCount":0,"TotalRecordCount":0,"Items":{"Meta":[]}}"#
        );
        assert!(xml.ends_with("<TotalRecordCount>0</TotalRecordCount><Items></Items></DescribeCrossBackupMetaListResponse>"), "{xml}");
    }
}
