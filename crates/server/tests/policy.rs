//! The policy actions through the whole app: ModifyInstanceCrossBackupPolicy,
//! DescribeInstanceCrossBackupPolicy and DescribeAvailableCrossRegion, JSON and XML, and their
//! refusals.

use chrono::{Duration, Utc};
use serde_json::Value;
use xbak_domain::naming::{backup_set_file_name, backup_set_key};
use xbak_domain::{
    BackupMethod, BackupSetScale, BackupType, Category, NewBackupSet, NewInstance, StorageType,
};
use xbak_testkit::*;

const MODIFY: &str = "ModifyInstanceCrossBackupPolicy";
const DESCRIBE: &str = "DescribeInstanceCrossBackupPolicy";
const AVAILABLE: &str = "DescribeAvailableCrossRegion";
const FRESH: &str = "rm-fresh0001";

/// An eligible instance of account A with no policy and one backup set started an hour ago.
async fn fresh_instance(f: &Fixture) {
    let inst = bare_instance_numbered(f, FRESH, 7980001).await;
    let started = Utc::now() - Duration::hours(1);
    let recorded = record_set(f, &inst, started, BackupMethod::Physical).await;
    assert_eq!(recorded.queued_copy_id, None, "no policy yet");
}

/// Each field of `want` (an object) is in `body` with that value.
fn assert_fields(body: &Value, want: Value) {
    for (k, v) in want.as_object().unwrap() {
        assert_eq!(&body[k], v, "{k} in {body}");
    }
}

fn is_utc_second(s: &str) -> bool {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%SZ").is_ok()
}

#[tokio::test]
async fn available_regions_are_the_other_configured_ones() {
    let f = Fixture::new(0).await;
    let body = f.call_ok(AVAILABLE, &[("RegionId", SRC)]).await;
    assert_eq!(
        body["Regions"]["Region"],
        serde_json::json!(["cn-beijing", DEST])
    );
    assert!(body["RequestId"].is_string() && body.get("Code").is_none());
    let (_, body) = f.call(AVAILABLE, &[("RegionId", "us-west-1")]).await;
    assert_eq!(body["Regions"]["Region"].as_array().unwrap().len(), 3);
    let xml = f.call_xml(AVAILABLE, &[("RegionId", DEST)]).await;
    assert!(
        xml.contains("<Regions><Region>cn-beijing</Region><Region>cn-hangzhou</Region></Regions></DescribeAvailableCrossRegionResponse>"),
        "{xml}"
    );
    let (status, body) = f.call(AVAILABLE, &[]).await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (400, Some("MissingRegionId"))
    );
}

#[tokio::test]
async fn enable_describe_and_disable_a_fresh_instance() {
    let f = Fixture::new(1).await;
    fresh_instance(&f).await;
    let id = [("DBInstanceId", FRESH), ("RegionId", SRC)];
    let pending_before = f.catalog.copy_counts().await.unwrap().pending;

    let body = f.call_ok(DESCRIBE, &id).await;
    assert_eq!(body["BackupEnabled"], "Disable");
    assert_eq!(body["LogBackupEnabled"], "Disable");
    assert_eq!(body["BackupEnabledTime"], "");
    assert_eq!(body["CrossBackupRegion"], "");

    let (status, body) = f
        .call(
            MODIFY,
            &[
                id[0],
                id[1],
                ("BackupEnabled", "1"),
                ("LogBackupEnabled", "1"),
                ("CrossBackupRegion", "cn-beijing"),
                ("CrossBackupType", "1"),
                ("RetentType", "1"),
                ("Retention", "30"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("Code").is_none());
    assert_fields(
        &body,
        serde_json::json!({
            "DBInstanceId": FRESH, "RegionId": SRC, "BackupEnabled": "Enable",
            "LogBackupEnabled": "Enable", "CrossBackupRegion": "cn-beijing",
            "CrossBackupType": "1", "RetentType": 1, "Retention": 30,
        }),
    );
    assert_eq!(
        f.catalog.copy_counts().await.unwrap().pending,
        pending_before + 1,
        "enabling queues the copy of the newest recent set"
    );

    let (_, body) = f.call(DESCRIBE, &id).await;
    assert_eq!(body["BackupEnabled"], "Enable");
    assert_eq!(body["LogBackupEnabled"], "Enable");
    let enabled_time = body["BackupEnabledTime"].as_str().unwrap().to_owned();
    assert!(is_utc_second(&enabled_time), "{body}");
    assert!(is_utc_second(
        body["LogBackupEnabledTime"].as_str().unwrap()
    ));
    assert_eq!(body["CrossBackupRegion"], "cn-beijing");
    assert_eq!(body["CrossBackupType"], "1");
    assert_eq!(body["RetentType"], 1);
    assert_eq!(body["Retention"], 30);
    assert_eq!(body["Engine"], "MySQL");
    assert_eq!(body["EngineVersion"], "5.7");
    assert_eq!(body["DBInstanceStatus"], "Running");
    assert_eq!(body["LockMode"], "Unlock");
    assert!(body["DBInstanceDescription"].is_string());

    // Still on, only the retention changes: nothing new is queued, the rest is kept.
    let body = f
        .call_ok(MODIFY, &[id[0], id[1], ("Retention", "60")])
        .await;
    assert_eq!(
        (&body["BackupEnabled"], &body["LogBackupEnabled"]),
        (&Value::from("Enable"), &Value::from("Enable"))
    );
    assert_eq!(body["Retention"], 60);
    assert_eq!(
        f.catalog.copy_counts().await.unwrap().pending,
        pending_before + 1
    );

    // Off: both switches off, the enable time kept, the queued copy kept.
    let (status, body) = f
        .call(MODIFY, &[id[0], id[1], ("BackupEnabled", "0")])
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["BackupEnabled"], "Disable");
    assert_eq!(body["LogBackupEnabled"], "Disable");
    assert_eq!(body["CrossBackupRegion"], "cn-beijing");
    let (_, body) = f.call(DESCRIBE, &id).await;
    assert_eq!(body["BackupEnabled"], "Disable");
    assert_eq!(body["LogBackupEnabled"], "Disable");
    assert_eq!(body["BackupEnabledTime"], enabled_time.as_str());
    assert_eq!(
        f.catalog.copy_counts().await.unwrap().pending,
        pending_before + 1
    );

    // XML for both.
    let xml = f.call_xml(DESCRIBE, &id).await;
    assert!(
        xml.starts_with("<?xml version='1.0' encoding='UTF-8'?><DescribeInstanceCrossBackupPolicyResponse><RequestId>"),
        "{xml}"
    );
    assert!(
        xml.contains("<BackupEnabled>Disable</BackupEnabled>"),
        "{xml}"
    );
    assert!(xml.contains("<Retention>60</Retention>"), "{xml}");
    let xml = f
        .call_xml(
            MODIFY,
            &[
                id[0],
                id[1],
                ("BackupEnabled", "1"),
                ("CrossBackupRegion", DEST),
            ],
        )
        .await;
    assert!(
        xml.contains("<ModifyInstanceCrossBackupPolicyResponse><RequestId>"),
        "{xml}"
    );
    assert!(
        xml.contains("<BackupEnabled>Enable</BackupEnabled><LogBackupEnabled>Disable</LogBackupEnabled><CrossBackupRegion>cn-shanghai</CrossBackupRegion>"),
        "{xml}"
    );
}

/// Codes several refusals share.
const NOT_FOUND: &str = "InvalidDBInstance.NotFound";
const BAD_FORMAT: &str = "InvalidParameters.Format";
const NOT_SUPPORTED: &str = "CrossBackupNotSupport";

/// (changed params, HTTP status, Code).
type Change = (&'static [(&'static str, &'static str)], u16, &'static str);

/// (action, params, HTTP status, Code).
type Refusal = (
    &'static str,
    Vec<(&'static str, &'static str)>,
    u16,
    &'static str,
);

#[tokio::test]
async fn refusals_follow_the_catalogue() {
    let f = Fixture::new(0).await;
    // `DBInstanceId` and `RegionId`, then `extra`.
    let scoped =
        |id: &'static str, region: &'static str, extra: &[(&'static str, &'static str)]| {
            let mut params = vec![("DBInstanceId", id), ("RegionId", region)];
            params.extend_from_slice(extra);
            params
        };
    let mut cases: Vec<Refusal> = vec![
        (MODIFY, vec![("RegionId", SRC)], 400, "MissingDBInstanceId"),
        (
            MODIFY,
            vec![("DBInstanceId", INSTANCE)],
            400,
            "MissingRegionId",
        ),
        (
            MODIFY,
            scoped("rm-other0001", SRC, &[("BackupEnabled", "0")]),
            404,
            NOT_FOUND,
        ),
        (
            MODIFY,
            scoped(INSTANCE, DEST, &[("BackupEnabled", "0")]),
            404,
            NOT_FOUND,
        ),
        (
            MODIFY,
            scoped("rm-mysql8", SRC, &[("BackupEnabled", "0")]),
            403,
            "IncorrectDBInstanceType",
        ),
        (
            DESCRIBE,
            vec![("RegionId", SRC)],
            400,
            "MissingDBInstanceId",
        ),
        (
            DESCRIBE,
            vec![("DBInstanceId", "rm-nope"), ("RegionId", SRC)],
            404,
            NOT_FOUND,
        ),
        (
            DESCRIBE,
            vec![("DBInstanceId", "rm-other0001"), ("RegionId", SRC)],
            404,
            NOT_FOUND,
        ),
        (
            DESCRIBE,
            vec![("DBInstanceId", "rm-mysql8"), ("RegionId", SRC)],
            403,
            "IncorrectDBInstanceType",
        ),
        (
            AVAILABLE,
            vec![("RegionId", "Bad Region")],
            400,
            "InvalidRegion.Format",
        ),
    ];
    // One change each to the seeded instance's policy.
    let modify_seeded: [Change; 7] = [
        (&[("BackupEnabled", "1")], 400, "MissingCrossBackupRegion"),
        (&[("BackupEnabled", "yes")], 400, BAD_FORMAT),
        (&[("Retention", "5")], 400, BAD_FORMAT),
        (&[("CrossBackupType", "2")], 400, BAD_FORMAT),
        (
            &[("BackupEnabled", "0"), ("LogBackupEnabled", "1")],
            400,
            BAD_FORMAT,
        ),
        (
            &[("BackupEnabled", "1"), ("CrossBackupRegion", SRC)],
            403,
            NOT_SUPPORTED,
        ),
        (
            &[("BackupEnabled", "1"), ("CrossBackupRegion", "us-west-1")],
            403,
            NOT_SUPPORTED,
        ),
    ];
    cases.extend(
        modify_seeded
            .into_iter()
            .map(|(extra, status, code)| (MODIFY, scoped(INSTANCE, SRC, extra), status, code)),
    );
    for (action, params, status, code) in cases {
        let (got, body) = f.call(action, &params).await;
        assert_eq!(
            (got, body["Code"].as_str()),
            (status, Some(code)),
            "{action} {params:?}: {body}"
        );
        assert!(body["RequestId"].is_string());
    }
    // The refused changes stored nothing: the seeded policy is as it was.
    let (_, body) = f
        .call(DESCRIBE, &[("DBInstanceId", INSTANCE), ("RegionId", SRC)])
        .await;
    assert_eq!(body["BackupEnabled"], "Enable");
    assert_eq!(body["CrossBackupRegion"], DEST);
    assert_eq!(body["Retention"], 7);
}

/// The instance's requested backups still open (waiting or claimed), oldest first.
async fn open_requests(f: &Fixture, db_instance_id: &str) -> Vec<xbak_domain::RequestedBackup> {
    let inst = f.instance(db_instance_id).await;
    f.catalog.open_requested_backups(inst.id).await.unwrap()
}

/// An eligible instance of account A with no policy and no backup set.
async fn bare_instance(f: &Fixture, db_instance_id: &str) -> xbak_domain::Instance {
    bare_instance_numbered(f, db_instance_id, 7980002).await
}

async fn bare_instance_numbered(
    f: &Fixture,
    db_instance_id: &str,
    instance_number: i64,
) -> xbak_domain::Instance {
    let alice = f.catalog.account_by_name("alice").await.unwrap().unwrap();
    f.catalog
        .create_instance(&NewInstance {
            db_instance_id: db_instance_id.into(),
            region_id: SRC.into(),
            account_id: alice.id,
            engine: "MySQL".into(),
            engine_version: "5.7".into(),
            category: Category::HighAvailability,
            storage_type: StorageType::LocalSsd,
            instance_number,
        })
        .await
        .unwrap()
}

async fn record_set_started(
    f: &Fixture,
    inst: &xbak_domain::Instance,
    started: chrono::DateTime<Utc>,
) {
    record_set(f, inst, started, BackupMethod::Logical).await;
}

async fn record_set(
    f: &Fixture,
    inst: &xbak_domain::Instance,
    started: chrono::DateTime<Utc>,
    method: BackupMethod,
) -> xbak_catalog::RecordedBackupSet {
    let name = backup_set_file_name(
        SRC,
        &inst.db_instance_id,
        inst.instance_number,
        started,
        method,
    );
    f.catalog
        .record_backup_set(&NewBackupSet {
            instance_id: inst.id,
            method,
            backup_type: BackupType::Full,
            scale: BackupSetScale::Instance,
            started_at: started,
            finished_at: started + Duration::minutes(5),
            consistent_at: started + Duration::minutes(5),
            instance_number: inst.instance_number,
            object_key: backup_set_key(&inst.db_instance_id, &name),
            size_bytes: 10,
            sha256: "0".repeat(64),
        })
        .await
        .unwrap()
}

async fn modify(f: &Fixture, db_instance_id: &str, params: &[(&'static str, &str)]) -> Value {
    let mut all = vec![("DBInstanceId", db_instance_id), ("RegionId", SRC)];
    all.extend_from_slice(params);
    let body = f.call_ok(MODIFY, &all).await;
    body
}

const ENABLE: [(&str, &str); 3] = [
    ("BackupEnabled", "1"),
    ("CrossBackupRegion", DEST),
    ("Retention", "7"),
];

#[tokio::test]
async fn enabling_without_a_recent_set_requests_one_backup() {
    let f = Fixture::new(0).await;
    let inst = bare_instance(&f, "rm-bare0001").await;
    // An old set does not count: only sets started in the last 24 hours are copied.
    record_set_started(&f, &inst, Utc::now() - Duration::hours(25)).await;
    let pending_before = f.catalog.copy_counts().await.unwrap().pending;

    let body = modify(&f, "rm-bare0001", &ENABLE).await;
    assert_eq!(body["BackupEnabled"], "Enable", "{body}");
    assert_eq!(body["CrossBackupRegion"], DEST);
    let open = open_requests(&f, "rm-bare0001").await;
    assert_eq!(open.len(), 1, "{open:?}");
    let first = &open[0];
    assert_eq!(
        (first.trigger.as_str(), first.state, first.attempts),
        ("policy", xbak_domain::RequestState::Waiting, 0)
    );
    assert_eq!(
        f.catalog.copy_counts().await.unwrap().pending,
        pending_before,
        "no recent set: nothing to queue"
    );

    // Kept on (retention changed, or enabled again), turned off, on again while the request is
    // still open: no second request.
    modify(&f, "rm-bare0001", &[("Retention", "30")]).await;
    modify(&f, "rm-bare0001", &ENABLE).await;
    let body = modify(&f, "rm-bare0001", &[("BackupEnabled", "0")]).await;
    assert_eq!(body["BackupEnabled"], "Disable");
    modify(&f, "rm-bare0001", &ENABLE).await;
    assert_eq!(open_requests(&f, "rm-bare0001").await, open);

    // A worker takes it; off, then on again, still without a recent set: one more.
    let claimed = f
        .catalog
        .claim_requested_backup(Utc::now(), std::time::Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.id, first.id);
    f.catalog
        .complete_requested_backup(
            claimed.id,
            claimed.lease_token.as_deref().unwrap(),
            None,
            Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(open_requests(&f, "rm-bare0001").await, vec![]);
    modify(&f, "rm-bare0001", &[("BackupEnabled", "0")]).await;
    modify(&f, "rm-bare0001", &ENABLE).await;
    let again = open_requests(&f, "rm-bare0001").await;
    assert_eq!(again.len(), 1);
    assert!(again[0].id > first.id);
}

#[tokio::test]
async fn enabling_with_a_recent_set_queues_its_copy_and_requests_no_backup() {
    let f = Fixture::new(0).await;
    fresh_instance(&f).await;
    let pending_before = f.catalog.copy_counts().await.unwrap().pending;
    modify(&f, FRESH, &ENABLE).await;
    assert_eq!(
        f.catalog.copy_counts().await.unwrap().pending,
        pending_before + 1,
        "the recent set's copy is queued"
    );
    assert_eq!(open_requests(&f, FRESH).await, vec![]);

    // Off and on again: the recent set is already copied there, and still recent: no backup.
    modify(&f, FRESH, &[("BackupEnabled", "0")]).await;
    modify(&f, FRESH, &ENABLE).await;
    assert_eq!(
        f.catalog.copy_counts().await.unwrap().pending,
        pending_before + 1
    );
    assert_eq!(open_requests(&f, FRESH).await, vec![]);
}

#[tokio::test]
async fn no_backup_is_requested_when_disabling_or_staying_on() {
    let f = Fixture::new(0).await;
    // INSTANCE's policy is on already, with no set at all.
    let body = modify(&f, INSTANCE, &ENABLE).await;
    assert_eq!(body["BackupEnabled"], "Enable");
    modify(&f, INSTANCE, &[("Retention", "60")]).await;
    // Disabling an instance that never had a policy, and one that had.
    bare_instance(&f, "rm-bare0002").await;
    let body = modify(&f, "rm-bare0002", &[("BackupEnabled", "0")]).await;
    assert_eq!(body["BackupEnabled"], "Disable");
    let body = modify(&f, INSTANCE, &[("BackupEnabled", "0")]).await;
    assert_eq!(body["BackupEnabled"], "Disable");
    // A new policy created disabled.
    let body = modify(
        &f,
        "rm-bare0002",
        &[("BackupEnabled", "0"), ("CrossBackupRegion", DEST)],
    )
    .await;
    assert_eq!(body["CrossBackupRegion"], DEST);
    assert_eq!(open_requests(&f, INSTANCE).await, vec![]);
    assert_eq!(open_requests(&f, "rm-bare0002").await, vec![]);
}

#[tokio::test]
async fn a_refused_enable_stores_nothing_and_requests_nothing() {
    let f = Fixture::new(0).await;
    bare_instance(&f, "rm-bare0003").await;
    // The instance's own region as destination.
    let (status, body) = f
        .call(
            MODIFY,
            &[
                ("DBInstanceId", "rm-bare0003"),
                ("RegionId", SRC),
                ("BackupEnabled", "1"),
                ("CrossBackupRegion", SRC),
            ],
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["Code"], "CrossBackupNotSupport", "{body}");
    let inst = f.instance("rm-bare0003").await;
    assert_eq!(f.catalog.cross_backup_policy(inst.id).await.unwrap(), None);
    assert_eq!(open_requests(&f, "rm-bare0003").await, vec![]);
    // Accepted, it answers at once, with the request stored for a worker.
    let body = modify(&f, "rm-bare0003", &ENABLE).await;
    assert_eq!(body["BackupEnabled"], "Enable");
    assert_eq!(body["Retention"], 7);
    assert_eq!(open_requests(&f, "rm-bare0003").await.len(), 1);
}
