//! `DescribeBinlogFiles` through the whole app: the instance's closed binlog files in its own
//! region whose events overlap the window, oldest first, paged, with links to their exact bytes;
//! JSON and XML; the caller's own instances only; and its refusals. Also
//! `DescribeCrossRegionLogBackupFiles`, the same files' copies in other regions.

use axum::body::Body;
use axum::http::Request;
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use xbak_domain::binlog::BINLOG_FIRST_EVENT;
use xbak_domain::naming::backup_set_key;
use xbak_domain::{
    BackupMethod, BackupSetScale, BackupType, BinlogPosition, BinlogProgress, LogSegment,
    NewBackupSet,
};
use xbak_testkit::*;

const ACTION: &str = "DescribeBinlogFiles";
const CROSS: &str = "DescribeCrossRegionLogBackupFiles";
const RECOVERY: &str = "DescribeAvailableRecoveryTime";

fn hour(base: DateTime<Utc>, h: i64) -> DateTime<Utc> {
    base + Duration::hours(h)
}

/// Instance A streams three files into `SRC`: bin.000001 (hours 0–1) and bin.000002
/// (hours 2–3) closed and stored whole, bin.000003 still open (a segment, hour 4).
/// Returns each closed file's bytes and the stream's lease token.
async fn streamed(f: &Fixture) -> (Vec<Vec<u8>>, String) {
    let base = f.base;
    let files: Vec<ClosedFile> = ["bin.000001", "bin.000002"]
        .into_iter()
        .enumerate()
        .map(|(n, name)| ClosedFile {
            name,
            bytes: (0..1000 + n * 500).map(|i| (i * 7 + n) as u8).collect(),
            first_event: hour(base, 2 * n as i64),
            last_event: hour(base, 2 * n as i64 + 1),
        })
        .collect();
    let token = f.stream_closed_files(&files).await;
    let instance = f.instance(INSTANCE).await;
    let contents = files.into_iter().map(|x| x.bytes).collect();
    let open = BinlogProgress::Segment {
        file_name: "bin.000003".into(),
        segment: LogSegment {
            offset: BINLOG_FIRST_EVENT,
            size: 96,
            sha256: "00".repeat(32),
            object_key: format!("binlogs/{INSTANCE}/bin.000003.segments/4-100"),
        },
        first_event_at: Some(hour(base, 4)),
        last_event_at: Some(hour(base, 4)),
        position: BinlogPosition::start_of("bin.000003", ""),
    };
    f.catalog
        .advance_binlog_stream(instance.id, &token, &open, Utc::now())
        .await
        .unwrap();
    (contents, token)
}

fn window(f: &Fixture, from: i64, to: i64) -> (String, String) {
    let fmt = |h| xbak_protocol::time::format_utc(hour(f.base, h));
    (fmt(from), fmt(to))
}

async fn list(f: &Fixture, from: i64, to: i64, extra: &[(&'static str, &str)]) -> (u16, Value) {
    list_of(f, ACTION, from, to, extra).await
}

/// `action` of INSTANCE over hours `from` to `to`, with `extra` parameters.
async fn list_of(
    f: &Fixture,
    action: &str,
    from: i64,
    to: i64,
    extra: &[(&'static str, &str)],
) -> (u16, Value) {
    let (start, end) = window(f, from, to);
    let mut params = vec![
        ("DBInstanceId", INSTANCE),
        ("StartTime", start.as_str()),
        ("EndTime", end.as_str()),
    ];
    params.extend_from_slice(extra);
    f.call(action, &params).await
}

#[tokio::test]
async fn lists_closed_files_overlapping_the_window_with_links_to_their_bytes() {
    let f = Fixture::new(0).await;
    let (contents, _) = streamed(&f).await;
    let (status, body) = list(&f, -1, 10, &[]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("Code").is_none() && body["RequestId"].is_string());
    let total: usize = contents.iter().map(Vec::len).sum();
    assert_eq!(
        (
            &body["TotalRecordCount"],
            &body["PageNumber"],
            &body["PageRecordCount"],
            &body["TotalFileSize"]
        ),
        (&json!(2), &json!(1), &json!(2), &json!(total))
    );
    let files = body["Items"]["BinLogFile"].as_array().unwrap();
    let names: Vec<_> = files.iter().map(|x| x["LogFileName"].clone()).collect();
    assert_eq!(
        names,
        [json!("bin.000001"), json!("bin.000002")],
        "closed ones, oldest first"
    );
    for (file, bytes) in files.iter().zip(&contents) {
        assert_eq!(file["FileSize"], json!(bytes.len()));
        let mut crc = crc64fast::Digest::new();
        crc.write(bytes);
        assert_eq!(file["Checksum"], json!(crc.sum64().to_string()));
        assert_eq!(file["HostInstanceID"], json!(INSTANCE_NUMBER.to_string()));
        assert_eq!(file["RemoteStatus"], "Completed");
        assert!(file["LinkExpiredTime"].as_str().unwrap().ends_with('Z'));
        let link = file["DownloadLink"].as_str().unwrap();
        assert_eq!(file["IntranetDownloadLink"], json!(link));
        assert_eq!(
            xbak_protocol::time::parse_utc_seconds(file["LinkExpiredTime"].as_str().unwrap())
                .unwrap()
                .timestamp(),
            expires_of(link)
        );
        let path = link.strip_prefix(LINK_BASE).unwrap();
        let (status, _, got, _) = f
            .send(Request::get(path).body(Body::empty()).unwrap())
            .await;
        assert_eq!((status, &got), (200, bytes));
    }
    assert_eq!(files[1]["LogBeginTime"], json!(window(&f, 2, 3).0));
    assert_eq!(files[1]["LogEndTime"], json!(window(&f, 2, 3).1));

    // The window selects by overlap, ends included.
    let names = |body: &Value| -> Vec<String> {
        body["Items"]["BinLogFile"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["LogFileName"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&list(&f, 3, 3, &[]).await.1), ["bin.000002"]);
    assert_eq!(
        names(&list(&f, 1, 2, &[]).await.1),
        ["bin.000001", "bin.000002"]
    );
    let (_, body) = list(&f, 5, 9, &[]).await;
    assert_eq!(
        (
            &body["TotalRecordCount"],
            &body["TotalFileSize"],
            &body["Items"]
        ),
        (&json!(0), &json!(0), &json!({"BinLogFile": []}))
    );
    // A page past the end keeps the totals.
    let (_, body) = list(&f, -1, 10, &[("PageNumber", "2")]).await;
    assert_eq!(
        (
            &body["TotalRecordCount"],
            &body["PageRecordCount"],
            &body["PageNumber"]
        ),
        (&json!(2), &json!(0), &json!(2))
    );

    let (start, end) = window(&f, -1, 10);
    let mut all = vec![
        ("Action", ACTION),
        ("Format", "XML"),
        ("DBInstanceId", INSTANCE),
        ("StartTime", start.as_str()),
        ("EndTime", end.as_str()),
    ];
    let (status, _, xml, _) = f.send(f.v1_get(&all)).await;
    let xml = String::from_utf8(xml).unwrap();
    assert_eq!(status, 200, "{xml}");
    assert!(
        xml.contains("<TotalRecordCount>2</TotalRecordCount>"),
        "{xml}"
    );
    assert!(
        xml.contains("<BinLogFile><LogFileName>bin.000001</LogFileName>"),
        "{xml}"
    );
    all.push(("RegionId", SRC));
    assert_eq!(
        f.send(f.v1_get(&all)).await.0,
        200,
        "RegionId, when sent, is the instance's"
    );
}

#[tokio::test]
async fn refusals_and_other_accounts() {
    let f = Fixture::new(0).await;
    streamed(&f).await;
    let (start, end) = window(&f, -1, 10);
    let code = |a: &(u16, Value)| (a.0, a.1["Code"].as_str().unwrap_or("<none>").to_owned());
    let base = [
        ("DBInstanceId", INSTANCE),
        ("StartTime", start.as_str()),
        ("EndTime", end.as_str()),
    ];
    let with = |k: &'static str, v: &'static str| {
        let mut p: Vec<(&'static str, &str)> =
            base.iter().copied().filter(|(n, _)| *n != k).collect();
        if !v.is_empty() {
            p.push((k, v));
        }
        p
    };
    for (params, want) in [
        (with("DBInstanceId", ""), (400, "MissingDBInstanceId")),
        (with("StartTime", ""), (400, "ParameterAbsence")),
        (
            with("StartTime", "2026-01-01"),
            (400, "InvalidStartTime.Format"),
        ),
        (
            with("EndTime", "1999-01-01T00:00:00Z"),
            (400, "InvalidStartTimeAndEndTime.Malformed"),
        ),
        (with("PageSize", "31"), (400, "InvalidParameters.Format")),
        (
            with("DBInstanceId", OTHER_INSTANCE),
            (404, "InvalidDBInstance.NotFound"),
        ),
        (
            with("DBInstanceId", "rm-nope"),
            (404, "InvalidDBInstance.NotFound"),
        ),
        (with("RegionId", DEST), (404, "InvalidDBInstance.NotFound")),
    ] {
        let answer = f.call(ACTION, &params).await;
        assert_eq!(code(&answer), (want.0, want.1.to_owned()), "{params:?}");
        assert!(answer.1["RequestId"]
            .as_str()
            .is_some_and(|r| !r.is_empty()));
    }
}

#[tokio::test]
async fn cross_region_listing_shows_the_copies_in_other_regions_only() {
    let f = Fixture::new(0).await;
    let (contents, token) = streamed(&f).await;
    let instance = f.instance(INSTANCE).await;
    let files = f.catalog.log_files(instance.id).await.unwrap();
    let first = files.iter().find(|x| x.file_name == "bin.000001").unwrap();
    // bin.000001 copied to DEST (bin.000002 is not yet).
    let key = first.object_key.clone().unwrap();
    let dest = f.regions.get(DEST).unwrap();
    let staged = dest
        .upload_staged(&key, &contents[0][..], &|_| {})
        .await
        .unwrap();
    dest.publish(&staged, &key).await.unwrap();
    assert!(f
        .catalog
        .record_log_copy(instance.id, &token, first, DEST, Utc::now())
        .await
        .unwrap());
    let copy_id = f.catalog.log_files(instance.id).await.unwrap();
    let copy_id = copy_id
        .iter()
        .find(|x| x.region_id == DEST)
        .map(|x| x.id)
        .unwrap();
    assert_ne!(copy_id, first.id);

    let scope = [("RegionId", SRC)];
    let (status, body) = list_of(&f, CROSS, -1, 10, &scope).await;
    assert_eq!(status, 200, "{body}");
    let (start, end) = window(&f, -1, 10);
    assert_eq!(
        (
            &body["DBInstanceId"],
            &body["RegionId"],
            &body["StartTime"],
            &body["EndTime"]
        ),
        (&json!(INSTANCE), &json!(SRC), &json!(start), &json!(end))
    );
    assert_eq!(
        (
            &body["TotalRecordCount"],
            &body["PageRecordCount"],
            &body["PageNumber"]
        ),
        (&json!(1), &json!(1), &json!(1))
    );
    let item = &body["Items"]["Item"][0];
    assert_eq!(
        (
            &item["CrossLogBackupId"],
            &item["CrossBackupRegion"],
            &item["LogFileName"]
        ),
        (&json!(copy_id), &json!(DEST), &json!("bin.000001"))
    );
    assert_eq!(
        (&item["CrossLogBackupSize"], &item["InstanceId"]),
        (&json!(contents[0].len()), &json!(INSTANCE_NUMBER))
    );
    assert_eq!(
        (&item["LogBeginTime"], &item["LogEndTime"]),
        (&json!(window(&f, 0, 1).0), &json!(window(&f, 0, 1).1))
    );
    let link = item["CrossDownloadLink"].as_str().unwrap();
    assert_eq!(item["CrossIntranetDownloadLink"], json!(link));
    assert!(link.contains(DEST), "a link into the copy's region: {link}");
    let path = link.strip_prefix(LINK_BASE).unwrap();
    let (status, _, got, _) = f
        .send(Request::get(path).body(Body::empty()).unwrap())
        .await;
    assert_eq!((status, &got), (200, &contents[0]));

    // A region filter, a window that misses it, XML.
    let total = |body: &Value| body["TotalRecordCount"].clone();
    let elsewhere = [("RegionId", SRC), ("CrossBackupRegion", "cn-beijing")];
    assert_eq!(
        total(&list_of(&f, CROSS, -1, 10, &elsewhere).await.1),
        json!(0)
    );
    let there = [("RegionId", SRC), ("CrossBackupRegion", DEST)];
    assert_eq!(total(&list_of(&f, CROSS, -1, 10, &there).await.1), json!(1));
    let (_, body) = list_of(&f, CROSS, 2, 9, &scope).await;
    assert_eq!(
        (total(&body), &body["Items"]),
        (json!(0), &json!({"Item": []}))
    );
    let of = |instance| {
        [
            ("DBInstanceId", instance),
            ("RegionId", SRC),
            ("StartTime", start.as_str()),
            ("EndTime", end.as_str()),
        ]
    };
    let xml = f.call_xml(CROSS, &of(INSTANCE)).await;
    let want = format!("<Item><CrossLogBackupId>{copy_id}</CrossLogBackupId><CrossBackupRegion>{DEST}</CrossBackupRegion>");
    assert!(xml.contains(&want), "{xml}");

    // Refusals: the scope needs RegionId; other accounts' instances are not found.
    let code = |a: (u16, Value)| (a.0, a.1["Code"].as_str().unwrap_or("<none>").to_owned());
    assert_eq!(
        code(list_of(&f, CROSS, -1, 10, &[]).await),
        (400, "MissingRegionId".to_owned())
    );
    assert_eq!(
        code(list_of(&f, CROSS, -1, 10, &[("RegionId", DEST)]).await),
        (404, "InvalidDBInstance.NotFound".to_owned())
    );
    let theirs = f.call(CROSS, &of(OTHER_INSTANCE)).await;
    assert_eq!(code(theirs), (404, "InvalidDBInstance.NotFound".to_owned()));
}

#[tokio::test]
async fn recovery_time_runs_from_the_sets_point_through_the_copied_logs() {
    let f = Fixture::new(0).await;
    let (_, token) = streamed(&f).await;
    let instance = f.instance(INSTANCE).await;
    // A set consistent at hour 0:30, its copy queued by the policy.
    let consistent = hour(f.base, 0) + Duration::minutes(30);
    let recorded = f
        .catalog
        .record_backup_set(&NewBackupSet {
            instance_id: instance.id,
            method: BackupMethod::Physical,
            backup_type: BackupType::Full,
            scale: BackupSetScale::Instance,
            started_at: consistent - Duration::minutes(10),
            finished_at: consistent,
            consistent_at: consistent,
            instance_number: instance.instance_number,
            object_key: backup_set_key(INSTANCE, "recovery.xb"),
            size_bytes: 10,
            sha256: "0".repeat(64),
        })
        .await
        .unwrap();
    let id = recorded.queued_copy_id.expect("the policy queues its copy");
    let id_text = id.to_string();
    let ask = |extra: &'static [(&'static str, &'static str)]| {
        let mut params = vec![("CrossBackupId", id_text.clone())];
        params.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        params
    };
    let call = |params: Vec<(&'static str, String)>| {
        let f = &f;
        async move {
            let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
            f.call(RECOVERY, &pairs).await
        }
    };
    let code = |a: &(u16, Value)| (a.0, a.1["Code"].as_str().unwrap_or("<none>").to_owned());
    let not_found = (404, "InvalidBackupSetID.NotFound".to_owned());
    assert_eq!(
        code(&call(ask(&[])).await),
        not_found,
        "pending: not listed yet"
    );

    f.finish_copy(id, true).await;
    let fmt = |t| xbak_protocol::time::format_utc(t);
    let window = |body: &Value| {
        (
            body["RecoveryBeginTime"].clone(),
            body["RecoveryEndTime"].clone(),
        )
    };

    // No log copied to DEST yet: the set's own point.
    let (status, body) = call(ask(&[])).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["CrossBackupId"], &body["RegionId"]),
        (&json!(id), &json!(SRC))
    );
    assert_eq!(
        window(&body),
        (json!(fmt(consistent)), json!(fmt(consistent)))
    );

    // bin.000001 (hours 0–1) copied: to its last event; then bin.000002 (hours 2–3) too.
    let files = f.catalog.log_files(instance.id).await.unwrap();
    for (name, end) in [("bin.000001", 1), ("bin.000002", 3)] {
        let file = files.iter().find(|x| x.file_name == name).unwrap();
        f.catalog
            .record_log_copy(instance.id, &token, file, DEST, Utc::now())
            .await
            .unwrap();
        let (_, body) = call(ask(&[("DBInstanceId", INSTANCE), ("RegionId", SRC)])).await;
        assert_eq!(
            window(&body),
            (json!(fmt(consistent)), json!(fmt(hour(f.base, end))))
        );
    }
    let xml = f.call_xml(RECOVERY, &[("CrossBackupId", &id_text)]).await;
    assert!(
        xml.contains(&format!("<CrossBackupId>{id}</CrossBackupId>")),
        "{xml}"
    );

    // The same 404 for an unknown id, another instance or region; 400 without an id.
    assert_eq!(
        code(&call(vec![("CrossBackupId", "999999".into())]).await),
        not_found
    );
    assert_eq!(
        code(&call(ask(&[("DBInstanceId", OTHER_INSTANCE)])).await),
        not_found
    );
    assert_eq!(code(&call(ask(&[("RegionId", DEST)])).await), not_found);
    let theirs = [("Action", RECOVERY), ("CrossBackupId", id_text.as_str())];
    let req = v1_request("GET", &f.other_ak, &f.other_secret, &theirs, Utc::now());
    let (status, _, body, _) = f.send(req).await;
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(code(&(status, body)), not_found, "another account's copy");
    assert_eq!(
        code(&call(vec![]).await),
        (400, "MissingCrossBackupId".to_owned())
    );
}
