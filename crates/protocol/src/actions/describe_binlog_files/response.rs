//! The response model and its JSON/XML rendering: `RequestId`, `TotalRecordCount` (all matching
//! files), `PageNumber`, `PageRecordCount` (files on this page), `TotalFileSize` (bytes of all
//! matching files; all four are JSON numbers) and `Items.BinLogFile[]`, whose wrapper object is
//! always present (`"Items":{"BinLogFile":[]}`, `<Items></Items>`). `FileSize` is a number; the
//! other item fields are strings, `Checksum` the file's CRC-64 in decimal as OSS reports it.

use serde::{Deserialize, Serialize};

/// The body of a successful `DescribeBinlogFiles` call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeBinlogFilesResponse {
    /// `RequestId`.
    pub request_id: String,
    /// `TotalRecordCount`: all matching files.
    pub total_record_count: u64,
    /// `PageNumber`, echoed (default 1).
    pub page_number: u32,
    /// `PageRecordCount`: files on this page.
    pub page_record_count: u32,
    /// `TotalFileSize`: bytes of all matching files.
    pub total_file_size: u64,
    /// `Items`.
    pub items: BinLogFiles,
}

/// The `Items` wrapper object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct BinLogFiles {
    /// `BinLogFile[]`.
    pub bin_log_file: Vec<BinLogFile>,
}

/// One stored binlog file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct BinLogFile {
    /// `LogFileName`: the source's file name.
    pub log_file_name: String,
    /// `FileSize`: bytes.
    pub file_size: u64,
    /// `LogBeginTime` / `LogEndTime`: first and last event time, `yyyy-MM-ddTHH:mm:ssZ`.
    pub log_begin_time: String,
    pub log_end_time: String,
    /// `DownloadLink` / `IntranetDownloadLink`: signed, expiring URLs of the file's bytes.
    pub download_link: String,
    pub intranet_download_link: String,
    /// `LinkExpiredTime`: when the links expire.
    pub link_expired_time: String,
    /// `Checksum`: CRC-64 (the XZ/ECMA-182 variant OSS uses), decimal.
    pub checksum: String,
    /// `HostInstanceID`: the number of the instance that wrote the file.
    #[serde(rename = "HostInstanceID")]
    pub host_instance_id: String,
    /// `RemoteStatus`: `Completed` once the file is stored whole.
    pub remote_status: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::body::rendered;

    #[test]
    fn empty_page_keeps_its_wrapper() {
        let r = DescribeBinlogFilesResponse {
            request_id: "R".into(),
            page_number: 2,
            total_record_count: 1,
            total_file_size: 7,
            ..Default::default()
        };
        let (json, xml) = rendered(&r);
        assert_eq!(
            json,
            r#"{"RequestId":"R","TotalRecordCount":1,"PageNumber":2,"PageRecordCount":0,"TotalFileSize":7,"Items":{"BinLogFile":[]}}"#
        );
        assert!(xml.ends_with("<DescribeBinlogFilesResponse><RequestId>R</RequestId><TotalRecordCount>1</TotalRecordCount><PageNumber>2</PageNumber><PageRecordCount>0</PageRecordCount><TotalFileSize>7</TotalFileSize><Items></Items></DescribeBinlogFilesResponse>"), "{xml}");
    }

    #[test]
    fn items_name_host_instance_id_in_capitals_and_size_as_a_number() {
        let file = BinLogFile {
            log_file_name: "bin.000002".into(),
            file_size: 1024,
            checksum: "18358304393468701857".into(),
            host_instance_id: "5841973".into(),
            remote_status: "Completed".into(),
            download_link: "http://h/download/r/k?a=1&b=2".into(),
            ..Default::default()
        };
        let r = DescribeBinlogFilesResponse {
            page_record_count: 1,
            total_record_count: 1,
            items: BinLogFiles {
                bin_log_file: vec![file],
            },
            ..Default::default()
        };
        let (json, xml) = rendered(&r);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let got = &v["Items"]["BinLogFile"][0];
        let want = serde_json::json!({
            "HostInstanceID": "5841973", "FileSize": 1024, "Checksum": "18358304393468701857",
        });
        for (name, value) in want.as_object().unwrap() {
            assert_eq!(&got[name], value, "{name}");
        }
        assert!(
            xml.contains(
                "<BinLogFile><LogFileName>bin.000002</LogFileName><FileSize>1024</FileSize>"
            ),
            "{xml}"
        );
        assert!(
            xml.contains("<DownloadLink>http://h/download/r/k?a=1&amp;b=2</DownloadLink>"),
            "{xml}"
        );
        assert!(xml.contains("<HostInstanceID>5841973</HostInstanceID><RemoteStatus>Completed</RemoteStatus></BinLogFile>"), "{xml}");
    }
}
