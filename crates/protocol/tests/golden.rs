//! Golden tests for the success body: the seed's XML and JSON examples, compared semantically,
//! and byte-exact files of our own rendering (regenerate with `UPDATE_GOLDEN=1`).

mod common;

use serde_json::Value;
use xbak_protocol::actions::describe_cross_region_backups::{
    CrossRegionBackupItem, DescribeCrossRegionBackupsResponse,
};
use xbak_protocol::actions::render;
use xbak_protocol::Format;

/// Fields our model has that the seed's examples omit.
const NOT_IN_SEED: [&str; 2] = ["BackupSetStatus", "ConsistentTime"];
/// Fields the SDK models declare as integers.
const INTEGERS: [&str; 8] = [
    "TotalRecordCount",
    "PageNumber",
    "PageRecordCount",
    "BackupSetScale",
    "BackupSetStatus",
    "CrossBackupId",
    "InstanceId",
    "CrossBackupSetSize",
];

/// The seed example's values (PageRecordCount 30 is the seed's doc artefact, kept to compare).
fn seed_model() -> DescribeCrossRegionBackupsResponse {
    DescribeCrossRegionBackupsResponse {
        request_id: "60912B41-7579-4B5D-B289-8856030F0A6A".into(),
        region_id: "cn-hangzhou".into(),
        start_time: Some("2019-06-10T00:00:00Z".into()),
        end_time: Some("2019-06-11T08:00:00Z".into()),
        total_record_count: 1,
        page_number: 1,
        page_record_count: 30,
        items: vec![CrossRegionBackupItem {
            backup_end_time: "2019-06-11T04:55:02Z".into(),
            backup_method: "P".into(),
            backup_set_scale: 0,
            backup_set_status: 0,
            backup_start_time: "2019-06-11T04:52:46Z".into(),
            backup_type: "F".into(),
            category: "HighAvailability".into(),
            consistent_time: "2019-06-11T04:52:46Z".into(),
            cross_backup_download_link: "http://rdsddrbak-zb.oss-cn-zhangjiakou.aliyuncs.com/cn-hangzhou_rm-bpxxxxx_hins7986073_data_20190611125201.tar.gz?OSSAccessKeyId=LTAxxxxx&Expires=1560501641&Signature=laK0kxxxxx%3D".into(),
            cross_backup_id: 14358,
            cross_backup_region: "cn-zhangjiakou".into(),
            cross_backup_set_file: "cn-hangzhou_rm-bpxxxxx_hins798xxxx_data_20190611125201.tar.gz".into(),
            cross_backup_set_location: "oss".into(),
            cross_backup_set_size: 2179643,
            db_instance_storage_type: "ssd".into(),
            engine: "mysql".into(),
            engine_version: "5.7".into(),
            instance_id: 7980000,
            restore_regions: vec!["cn-hangzhou".into(), "cn-zhangjiakou".into()],
        }],
    }
}

fn empty_page() -> DescribeCrossRegionBackupsResponse {
    DescribeCrossRegionBackupsResponse {
        request_id: "0C8A4D52-0000-4000-8000-000000000001".into(),
        region_id: "cn-hangzhou".into(),
        start_time: None,
        end_time: None,
        total_record_count: 3,
        page_number: 2,
        page_record_count: 0,
        items: vec![],
    }
}

/// Every field of `seed` is in `ours` with the same value; `ours` adds only NOT_IN_SEED fields,
/// integers are JSON numbers and every other leaf a string.
fn json_covers(seed: &Value, ours: &Value, path: &str) {
    match (seed, ours) {
        (Value::Object(s), Value::Object(o)) => {
            for (k, sv) in s {
                let ov = o.get(k).unwrap_or_else(|| panic!("{path}.{k} missing"));
                json_covers(sv, ov, &format!("{path}.{k}"));
            }
            for (k, ov) in o {
                if !s.contains_key(k) {
                    assert!(NOT_IN_SEED.contains(&k.as_str()), "{path}.{k} not in seed");
                }
                if INTEGERS.contains(&k.as_str()) {
                    assert!(ov.is_i64(), "{path}.{k} must be an integer: {ov}");
                } else if !ov.is_object() && !ov.is_array() {
                    assert!(ov.is_string(), "{path}.{k} must be a string: {ov}");
                }
            }
        }
        (Value::Array(s), Value::Array(o)) => {
            assert_eq!(s.len(), o.len(), "{path} length");
            for (i, (sv, ov)) in s.iter().zip(o).enumerate() {
                json_covers(sv, ov, &format!("{path}[{i}]"));
            }
        }
        _ => assert_eq!(seed, ours, "{path}"),
    }
}

#[test]
fn json_matches_the_seed_example() {
    let seed: Value = serde_json::from_slice(
        &std::fs::read(common::golden_path(
            "seed_describe_cross_region_backups.json",
        ))
        .unwrap(),
    )
    .unwrap();
    let ours: Value = serde_json::from_slice(&render(&seed_model(), Format::Json)).unwrap();
    json_covers(&seed, &ours, "$");
    let item = &ours["Items"]["Item"][0];
    assert_eq!(item["BackupSetStatus"], 0);
    assert_eq!(item["ConsistentTime"], "2019-06-11T04:52:46Z");
    assert!(ours.get("Code").is_none());
}

/// Elements of `seed` appear in `ours` (children matched by name, repeats in order) with equal
/// leaf text; `ours` adds only NOT_IN_SEED elements.
fn xml_covers(seed: &common::Node, ours: &common::Node) {
    assert_eq!(seed.name, ours.name);
    if seed.children.is_empty() && ours.children.is_empty() {
        assert_eq!(seed.text, ours.text, "<{}>", seed.name);
        return;
    }
    let mut used = vec![false; ours.children.len()];
    for sc in &seed.children {
        let idx = (0..ours.children.len())
            .find(|&i| !used[i] && ours.children[i].name == sc.name)
            .unwrap_or_else(|| panic!("<{}> missing under <{}>", sc.name, seed.name));
        used[idx] = true;
        xml_covers(sc, &ours.children[idx]);
    }
    for (i, oc) in ours.children.iter().enumerate() {
        assert!(
            used[i] || NOT_IN_SEED.contains(&oc.name.as_str()),
            "extra <{}>",
            oc.name
        );
    }
}

#[test]
fn xml_matches_the_seed_example() {
    let seed = common::parse_xml(
        &std::fs::read(common::golden_path(
            "seed_describe_cross_region_backups.xml",
        ))
        .unwrap(),
    );
    let ours = common::parse_xml(&render(&seed_model(), Format::Xml));
    xml_covers(&seed, &ours);
    let item = ours.child("Items").unwrap().child("Item").unwrap();
    assert_eq!(item.text_of("BackupSetStatus"), "0");
    assert_eq!(item.text_of("ConsistentTime"), "2019-06-11T04:52:46Z");
    assert!(item
        .text_of("CrossBackupDownloadLink")
        .contains("&Expires="));
}

#[test]
fn xml_escapes_text() {
    let body = String::from_utf8(render(&seed_model(), Format::Xml)).unwrap();
    assert!(body.starts_with(
        "<?xml version='1.0' encoding='UTF-8'?><DescribeCrossRegionBackupsResponse><RequestId>"
    ));
    assert!(body
        .contains("?OSSAccessKeyId=LTAxxxxx&amp;Expires=1560501641&amp;Signature=laK0kxxxxx%3D<"));
}

#[test]
fn empty_page_keeps_wrappers_and_omits_times() {
    let json: Value = serde_json::from_slice(&render(&empty_page(), Format::Json)).unwrap();
    assert_eq!(json["Items"], serde_json::json!({"Item": []}));
    assert!(json.get("StartTime").is_none() && json.get("EndTime").is_none());
    let xml = common::parse_xml(&render(&empty_page(), Format::Xml));
    assert!(xml.child("Items").unwrap().children.is_empty());
    assert!(xml.child("StartTime").is_none());
}

#[test]
fn json_deserializes_back_into_the_model() {
    let model = seed_model();
    let back: DescribeCrossRegionBackupsResponse =
        serde_json::from_slice(&render(&model, Format::Json)).unwrap();
    assert_eq!(back, model);
    let seed: DescribeCrossRegionBackupsResponse = serde_json::from_slice(
        &std::fs::read(common::golden_path(
            "seed_describe_cross_region_backups.json",
        ))
        .unwrap(),
    )
    .unwrap();
    let mut expected = model;
    expected.items[0].consistent_time.clear();
    assert_eq!(seed, expected);
}

#[test]
fn byte_exact_golden_files() {
    for (name, model) in [
        ("describe_cross_region_backups", seed_model()),
        ("describe_cross_region_backups_empty", empty_page()),
    ] {
        for (ext, format) in [("json", Format::Json), ("xml", Format::Xml)] {
            common::assert_golden(&format!("{name}.{ext}"), &render(&model, format));
        }
    }
}
