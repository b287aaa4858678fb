//! The response model and its JSON/XML rendering: `RequestId`, `DBInstanceName`, the four counts
//! (`PageNumber`, `PageRecordCount`, `TotalPageCount`, `TotalRecordCount`: JSON numbers) and
//! `Items.Meta[]` of `{Database, Tables, Size}`, all strings (`Tables` and `Size` are
//! comma-separated lists, sizes in KB). The `Items` wrapper object is always present
//! (`"Items":{"Meta":[]}`, `<Items></Items>`). No `Code` field.

use serde::{Deserialize, Serialize};

use crate::actions::body::render_success;
use crate::format::Format;
use crate::xml;

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

/// The XML root element: `<Action>Response`.
pub(crate) const ROOT: &str = "DescribeCrossBackupMetaListResponse";

/// Renders the success body in `format`.
pub fn render(r: &DescribeCrossBackupMetaListResponse, format: Format) -> Vec<u8> {
    let capacity = 384
        + r.items
            .meta
            .iter()
            .map(|m| 96 + m.tables.len())
            .sum::<usize>();
    render_success(r, format, ROOT, capacity, |o| {
        xml::text_element(o, "RequestId", &r.request_id);
        xml::text_element(o, "DBInstanceName", &r.db_instance_name);
        xml::num_element(o, "PageNumber", r.page_number);
        xml::num_element(o, "PageRecordCount", r.page_record_count);
        xml::num_element(o, "TotalPageCount", r.total_page_count);
        xml::num_element(o, "TotalRecordCount", r.total_record_count);
        xml::open(o, "Items");
        for m in &r.items.meta {
            xml::open(o, "Meta");
            xml::text_element(o, "Database", &m.database);
            xml::text_element(o, "Tables", &m.tables);
            xml::text_element(o, "Size", &m.size);
            xml::close(o, "Meta");
        }
        xml::close(o, "Items");
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_list_keeps_its_wrapper() {
        let r = DescribeCrossBackupMetaListResponse {
            request_id: "R".into(),
            db_instance_name: "rm-a".into(),
            page_number: 1,
            ..Default::default()
        };
        let json = String::from_utf8(render(&r, Format::Json)).unwrap();
        assert_eq!(
            json,
            r#"{"RequestId":"R","DBInstanceName":"rm-a","PageNumber":1,"PageRecordCount":0,"TotalPageCount":0,"TotalRecordCount":0,"Items":{"Meta":[]}}"#
        );
        let xml = String::from_utf8(render(&r, Format::Xml)).unwrap();
        assert!(xml.ends_with("<TotalRecordCount>0</TotalRecordCount><Items></Items></DescribeCrossBackupMetaListResponse>"), "{xml}");
    }
}
