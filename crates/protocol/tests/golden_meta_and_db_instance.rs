//! Golden tests for `DescribeCrossRegionBackupDBInstance` and `DescribeCrossBackupMetaList`:
//! Alibaba's documented JSON examples (from the RDS API metadata) rendered from our models with
//! the same names, values and JSON types, and byte-exact files of our own rendering
//! (regenerate with `UPDATE_GOLDEN=1`).

mod common;

use serde_json::Value;
use xbak_protocol::actions::cross_backup_policy::InstanceCrossBackupPolicy;
use xbak_protocol::actions::describe_cross_backup_meta_list::{
    BackupMeta, DescribeCrossBackupMetaListResponse, MetaItems,
};
use xbak_protocol::actions::describe_cross_region_backup_db_instance::{
    DescribeCrossRegionBackupDBInstanceResponse, PolicyItems,
};
use xbak_protocol::actions::render;
use xbak_protocol::Format;

fn example(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(common::golden_path(name)).unwrap()).unwrap()
}

fn db_instance_model() -> DescribeCrossRegionBackupDBInstanceResponse {
    DescribeCrossRegionBackupDBInstanceResponse {
        request_id: "33517002-182D-40BE-93EC-610BD3381045".into(),
        region_id: "cn-hangzhou".into(),
        page_number: 1,
        page_size: 30,
        items_numbers: 1,
        total_records: 100,
        items: PolicyItems {
            item: vec![InstanceCrossBackupPolicy {
                db_instance_id: "rm-uf6wjk5****".into(),
                backup_enabled: "Enable".into(),
                backup_enabled_time: "2019-06-12T05:44:21Z".into(),
                log_backup_enabled: "Enable".into(),
                log_backup_enabled_time: "2019-06-12T05:44:21Z".into(),
                cross_backup_region: "cn-shanghai".into(),
                cross_backup_type: "1".into(),
                retent_type: 1,
                retention: 15,
                engine: "MySQL".into(),
                engine_version: "5.6".into(),
                db_instance_status: "Running".into(),
                lock_mode: "Unlock".into(),
                db_instance_description: "testdb".into(),
            }],
        },
    }
}

fn meta_model() -> DescribeCrossBackupMetaListResponse {
    DescribeCrossBackupMetaListResponse {
        request_id: "60F9A12A-16B8-4728-B099-4CA38D32C31C".into(),
        db_instance_name: "rm-uf6wjk5****".into(),
        page_number: 1,
        page_record_count: 1,
        total_page_count: 1,
        total_record_count: 1,
        items: MetaItems {
            meta: vec![BackupMeta {
                database: "testdb1".into(),
                tables: "test1,test2".into(),
                size: "1000".into(),
            }],
        },
    }
}

#[test]
fn db_instance_json_equals_the_documented_example() {
    let ours: Value = serde_json::from_slice(&render(&db_instance_model(), Format::Json)).unwrap();
    assert_eq!(
        ours,
        example("example_describe_cross_region_backup_db_instance.json")
    );
}

#[test]
fn meta_list_json_equals_the_documented_example() {
    let ours: Value = serde_json::from_slice(&render(&meta_model(), Format::Json)).unwrap();
    assert_eq!(
        ours,
        example("example_describe_cross_backup_meta_list.json")
    );
}

#[test]
fn xml_has_the_json_shape() {
    let xml = common::parse_xml(&render(&db_instance_model(), Format::Xml));
    assert_eq!(xml.name, "DescribeCrossRegionBackupDBInstanceResponse");
    assert_eq!(xml.text_of("TotalRecords"), "100");
    let item = xml.child("Items").unwrap().child("Item").unwrap();
    assert_eq!(item.children.len(), 14);
    assert_eq!(item.text_of("Retention"), "15");
    let xml = common::parse_xml(&render(&meta_model(), Format::Xml));
    assert_eq!(xml.name, "DescribeCrossBackupMetaListResponse");
    assert_eq!(xml.text_of("DBInstanceName"), "rm-uf6wjk5****");
    let m = xml.child("Items").unwrap().child("Meta").unwrap();
    assert_eq!(
        (
            m.text_of("Database"),
            m.text_of("Tables"),
            m.text_of("Size")
        ),
        ("testdb1", "test1,test2", "1000")
    );
}

#[test]
fn json_deserializes_back_into_the_models() {
    let back: DescribeCrossRegionBackupDBInstanceResponse = serde_json::from_value(example(
        "example_describe_cross_region_backup_db_instance.json",
    ))
    .unwrap();
    assert_eq!(back, db_instance_model());
    let back: DescribeCrossBackupMetaListResponse =
        serde_json::from_value(example("example_describe_cross_backup_meta_list.json")).unwrap();
    assert_eq!(back, meta_model());
}

#[test]
fn byte_exact_golden_files() {
    for (ext, format) in [("json", Format::Json), ("xml", Format::Xml)] {
        common::assert_golden(
            &format!("describe_cross_region_backup_db_instance.{ext}"),
            &render(&db_instance_model(), format),
        );
        common::assert_golden(
            &format!("describe_cross_backup_meta_list.{ext}"),
            &render(&meta_model(), format),
        );
    }
}
