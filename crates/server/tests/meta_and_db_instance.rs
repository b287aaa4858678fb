//! `DescribeCrossRegionBackupDBInstance` and `DescribeCrossBackupMetaList` through the whole app:
//! JSON and XML, paging, the caller's own resources only, and their refusals.

use chrono::{Duration, Utc};
use serde_json::{json, Value};
use std::io::Cursor;
use xbak_domain::naming::{backup_set_file_name, backup_set_key};
use xbak_domain::{
    BackupMethod, BackupSetDetails, BackupSetScale, BackupType, NewBackupRun, NewBackupSet,
};
use xbak_testkit::*;

const INSTANCES: &str = "DescribeCrossRegionBackupDBInstance";
const META: &str = "DescribeCrossBackupMetaList";

/// The same call signed by account B.
async fn call_as_other(
    f: &Fixture,
    action: &'static str,
    params: &[(&'static str, &str)],
) -> (u16, Value) {
    let mut all = vec![("Action", action)];
    all.extend_from_slice(params);
    let req = v1_request("GET", &f.other_ak, &f.other_secret, &all, Utc::now());
    let (status, _, body, _) = f.send(req).await;
    (status, serde_json::from_slice(&body).unwrap())
}

fn code(answer: &(u16, Value)) -> (u16, &str) {
    (answer.0, answer.1["Code"].as_str().unwrap_or("<none>"))
}

/// `DescribeCrossBackupMetaList` of `BackupSetId` `set` answers `want` (status, `Code`).
async fn assert_meta_refused(f: &Fixture, set: impl std::fmt::Display, want: (u16, &str)) {
    let answer = f
        .call(META, &[("BackupSetId", set.to_string().as_str())])
        .await;
    assert_eq!(code(&answer), want, "{}", answer.1);
}

#[tokio::test]
async fn lists_the_callers_enabled_instances_of_the_region() {
    let f = Fixture::new(0).await;
    let body = f.call_ok(INSTANCES, &[("RegionId", SRC)]).await;
    assert_eq!(
        (&body["RegionId"], &body["PageNumber"], &body["PageSize"]),
        (&json!(SRC), &json!(1), &json!(30))
    );
    assert_eq!(
        (&body["ItemsNumbers"], &body["TotalRecords"]),
        (&json!(1), &json!(1))
    );
    assert!(body.get("Code").is_none() && body["RequestId"].is_string());
    let item = &body["Items"]["Item"][0];
    assert_eq!(item["DBInstanceId"], INSTANCE);
    assert_eq!(item["BackupEnabled"], "Enable");
    assert_eq!(item["LogBackupEnabled"], "Disable");
    assert_eq!(item["CrossBackupRegion"], DEST);
    assert_eq!(item["CrossBackupType"], "1");
    assert_eq!(
        (&item["RetentType"], &item["Retention"]),
        (&json!(1), &json!(7))
    );
    assert!(item["BackupEnabledTime"].as_str().unwrap().ends_with('Z'));
    assert_eq!(item["LogBackupEnabledTime"], "");
    assert_eq!(
        (&item["Engine"], &item["EngineVersion"]),
        (&json!("MySQL"), &json!("5.7"))
    );
    assert_eq!(
        (&item["DBInstanceStatus"], &item["LockMode"]),
        (&json!("Running"), &json!("Unlock"))
    );

    // Named ids narrow the list; another account's, one without a policy and an unknown one are
    // just not there.
    let names = format!("{OTHER_INSTANCE},{MYSQL8},rm-nope,{INSTANCE}");
    let (_, body) = f
        .call(
            INSTANCES,
            &[("RegionId", SRC), ("DBInstanceId", names.as_str())],
        )
        .await;
    assert_eq!(body["TotalRecords"], 1);
    let (_, body) = f
        .call(
            INSTANCES,
            &[("RegionId", SRC), ("DBInstanceId", OTHER_INSTANCE)],
        )
        .await;
    assert_eq!(
        (&body["TotalRecords"], &body["Items"]),
        (&json!(0), &json!({"Item": []}))
    );
    let (_, body) = f.call(INSTANCES, &[("RegionId", DEST)]).await;
    assert_eq!(body["TotalRecords"], 0);
    let (_, body) = call_as_other(&f, INSTANCES, &[("RegionId", SRC)]).await;
    assert_eq!(body["TotalRecords"], 0, "B has no enabled instance");

    // A page past the end keeps the total.
    let (status, body) = f
        .call(
            INSTANCES,
            &[("RegionId", SRC), ("PageSize", "1"), ("PageNumber", "2")],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            &body["PageSize"],
            &body["PageNumber"],
            &body["ItemsNumbers"],
            &body["TotalRecords"]
        ),
        (&json!(1), &json!(2), &json!(0), &json!(1))
    );

    let xml = f.call_xml(INSTANCES, &[("RegionId", SRC)]).await;
    assert!(xml.contains("<TotalRecords>1</TotalRecords><Items><Item><DBInstanceId>rm-test0001</DBInstanceId><BackupEnabled>Enable</BackupEnabled>"), "{xml}");
}

#[tokio::test]
async fn db_instance_refusals() {
    let f = Fixture::new(0).await;
    assert_eq!(
        code(&f.call(INSTANCES, &[]).await),
        (400, "MissingRegionId")
    );
    assert_eq!(
        code(&f.call(INSTANCES, &[("RegionId", "Hangzhou!")]).await),
        (400, "InvalidRegion.Format")
    );
    for (k, v) in [("PageSize", "0"), ("PageSize", "101"), ("PageNumber", "x")] {
        assert_eq!(
            code(&f.call(INSTANCES, &[("RegionId", SRC), (k, v)]).await),
            (400, "InvalidParameters.Format"),
            "{k}={v}"
        );
    }
}

const MANIFEST: &str = r#"{"format":1,"db_instance_id":"rm-test0001","tables":[
  {"schema":"crm","name":"leads","engine":"InnoDB","rows":2,"checksum":7,"size_bytes":4096},
  {"schema":"shop","name":"items","engine":"InnoDB","rows":3,"checksum":1,"size_bytes":16384},
  {"schema":"shop","name":"orders","engine":"InnoDB","rows":0,"checksum":0,"size_bytes":1000},
  {"schema":"shop_archive","name":"orders_2019","engine":"Aria","rows":9,"checksum":2,"size_bytes":2048}]}"#;

/// A set of INSTANCE taken by a backup run, with `manifest` stored beside it in SRC (none when
/// `None`), and its copy to DEST queued; returns the copy's `CrossBackupId`.
async fn taken_set(f: &Fixture, manifest: Option<&str>, minutes_ago: i64) -> i64 {
    let inst = f.instance(INSTANCE).await;
    let started = Utc::now() - Duration::minutes(minutes_ago);
    let run = f
        .catalog
        .start_backup_run(&NewBackupRun {
            instance_id: inst.id,
            method: BackupMethod::Logical,
            backup_type: BackupType::Full,
            scale: BackupSetScale::Instance,
            database: None,
            instance_number: inst.instance_number,
            started_at: started,
            trigger: "manual".into(),
        })
        .await
        .unwrap();
    let name = backup_set_file_name(
        SRC,
        INSTANCE,
        inst.instance_number,
        started,
        BackupMethod::Logical,
    );
    let key = backup_set_key(INSTANCE, &name);
    let manifest_key = format!("{key}.manifest.json");
    let src = f.regions.get(SRC).unwrap();
    if let Some(m) = manifest {
        let staged = src
            .upload_staged(&manifest_key, Cursor::new(m.as_bytes().to_vec()), &|_| {})
            .await
            .unwrap();
        src.publish(&staged, &manifest_key).await.unwrap();
    }
    let recorded = f
        .catalog
        .complete_backup_run(
            run.id,
            &NewBackupSet {
                instance_id: inst.id,
                method: BackupMethod::Logical,
                backup_type: BackupType::Full,
                scale: BackupSetScale::Instance,
                started_at: started,
                finished_at: started + Duration::minutes(1),
                consistent_at: started + Duration::minutes(1),
                instance_number: inst.instance_number,
                object_key: key,
                size_bytes: 10,
                sha256: "0".repeat(64),
            },
            &BackupSetDetails {
                manifest_key,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    recorded.queued_copy_id.expect("the policy is on")
}

#[tokio::test]
async fn meta_list_reads_the_sets_manifest() {
    let f = Fixture::new(0).await;
    let id = taken_set(&f, Some(MANIFEST), 30).await;
    let set = id.to_string();
    let set = set.as_str();

    // Pending: not a cross-region set yet.
    assert_meta_refused(&f, set, (404, "InvalidBackupSetID.NotFound")).await;
    f.finish_copy(id, true).await;

    let body = f.call_ok(META, &[("BackupSetId", set)]).await;
    assert_eq!(
        body,
        json!({
            "RequestId": body["RequestId"],
            "DBInstanceName": INSTANCE,
            "PageNumber": 1, "PageRecordCount": 3, "TotalPageCount": 1, "TotalRecordCount": 3,
            "Items": {"Meta": [
                {"Database": "crm", "Tables": "", "Size": "4"},
                {"Database": "shop", "Tables": "", "Size": "17"},
                {"Database": "shop_archive", "Tables": "", "Size": "2"},
            ]}
        })
    );
    let (_, body) = f
        .call(
            META,
            &[("BackupSetId", set), ("GetDbName", "shop"), ("Region", SRC)],
        )
        .await;
    assert_eq!(
        body["Items"]["Meta"],
        json!([{"Database": "shop", "Tables": "items,orders", "Size": "16,1"}])
    );
    let (_, body) = f
        .call(META, &[("BackupSetId", set), ("Pattern", "SHOP")])
        .await;
    assert_eq!(body["TotalRecordCount"], 2);
    let (_, body) = f
        .call(META, &[("BackupSetId", set), ("GetDbName", "nope")])
        .await;
    assert_eq!(
        (
            &body["TotalRecordCount"],
            &body["TotalPageCount"],
            &body["Items"]
        ),
        (&json!(0), &json!(0), &json!({"Meta": []}))
    );

    // Pages need both PageSize and PageIndex.
    let (_, body) = f
        .call(
            META,
            &[("BackupSetId", set), ("PageSize", "2"), ("PageIndex", "2")],
        )
        .await;
    assert_eq!(
        (
            &body["PageNumber"],
            &body["PageRecordCount"],
            &body["TotalPageCount"],
            &body["TotalRecordCount"]
        ),
        (&json!(2), &json!(1), &json!(2), &json!(3))
    );
    assert_eq!(body["Items"]["Meta"][0]["Database"], "shop_archive");
    let (_, body) = f
        .call(META, &[("BackupSetId", set), ("PageSize", "2")])
        .await;
    assert_eq!(body["PageRecordCount"], 3);

    let xml = f
        .call_xml(META, &[("BackupSetId", set), ("GetDbName", "crm")])
        .await;
    assert!(xml.contains("<DBInstanceName>rm-test0001</DBInstanceName><PageNumber>1</PageNumber><PageRecordCount>1</PageRecordCount><TotalPageCount>1</TotalPageCount><TotalRecordCount>1</TotalRecordCount><Items><Meta><Database>crm</Database><Tables>leads</Tables><Size>4</Size></Meta></Items>"), "{xml}");

    // Someone else's set, or the wrong region: the unknown set's answer.
    assert_eq!(
        code(&call_as_other(&f, META, &[("BackupSetId", set)]).await),
        (404, "InvalidBackupSetID.NotFound")
    );
    assert_eq!(
        code(
            &f.call(META, &[("BackupSetId", set), ("Region", DEST)])
                .await
        ),
        (404, "InvalidBackupSetID.NotFound")
    );
}

#[tokio::test]
async fn meta_list_refusals() {
    let f = Fixture::new(1).await;
    // The seeded set was registered: no manifest.
    let (_, listed) = f.list(&[]).await;
    let registered = listed["Items"]["Item"][0]["CrossBackupId"].to_string();
    assert_meta_refused(&f, &registered, (403, "InvalidMeta.Empty")).await;
    // A taken set whose manifest object is gone.
    let lost = taken_set(&f, None, 20).await;
    f.finish_copy(lost, true).await;
    assert_meta_refused(&f, lost, (403, "InvalidMeta.Empty")).await;
    // A failed copy has no cross-region file.
    let failed = taken_set(&f, Some(MANIFEST), 10).await;
    f.finish_copy(failed, false).await;
    assert_meta_refused(&f, failed, (400, "NoAvailableDisasterRestoreBakset")).await;

    assert_eq!(code(&f.call(META, &[]).await), (400, "MissingBackupSetId"));
    for unknown in ["999999", "abc", "0", "99999999999"] {
        assert_eq!(
            code(&f.call(META, &[("BackupSetId", unknown)]).await),
            (404, "InvalidBackupSetID.NotFound"),
            "{unknown}"
        );
    }
    assert_eq!(
        code(
            &f.call(
                META,
                &[
                    ("BackupSetId", registered.as_str()),
                    ("PageSize", "0"),
                    ("PageIndex", "1")
                ]
            )
            .await
        ),
        (400, "InvalidPageSize")
    );
    assert_eq!(
        code(
            &f.call(
                META,
                &[("BackupSetId", registered.as_str()), ("PageIndex", "first")]
            )
            .await
        ),
        (400, "InvalidPageIndex")
    );
}
