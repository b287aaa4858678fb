//! DescribeCrossRegionBackups through the whole app: listing, paging, filters, formats, both signatures.

use xbak_testkit::*;

#[tokio::test]
async fn lists_a_window_newest_first_with_every_seed_field() {
    let f = Fixture::new(5).await;
    let (s, e) = f.window();
    let (status, body) = f.list(&[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["TotalRecordCount"], 5);
    assert_eq!(body["PageNumber"], 1);
    assert_eq!(body["PageRecordCount"], 5);
    assert_eq!(body["RegionId"], SRC);
    assert_eq!(body["StartTime"], s.as_str());
    assert_eq!(body["EndTime"], e.as_str());
    assert!(body.get("Code").is_none(), "success bodies carry no Code");
    let items = body["Items"]["Item"].as_array().unwrap();
    let starts: Vec<&str> = items
        .iter()
        .map(|i| i["BackupStartTime"].as_str().unwrap())
        .collect();
    let mut sorted = starts.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(starts, sorted, "newest first");
    let it = &items[0];
    for k in [
        "CrossBackupId",
        "BackupSetScale",
        "BackupSetStatus",
        "InstanceId",
        "CrossBackupSetSize",
    ] {
        assert!(it[k].is_i64(), "{k} must be a JSON number: {it}");
    }
    for k in [
        "BackupEndTime",
        "BackupMethod",
        "BackupStartTime",
        "BackupType",
        "Category",
        "ConsistentTime",
        "CrossBackupDownloadLink",
        "CrossBackupRegion",
        "CrossBackupSetFile",
        "CrossBackupSetLocation",
        "DBInstanceStorageType",
        "Engine",
        "EngineVersion",
    ] {
        assert!(it[k].is_string(), "{k} must be a string: {it}");
    }
    assert_eq!(it["BackupSetStatus"], 0);
    assert_eq!(it["CrossBackupRegion"], DEST);
    assert_eq!(it["InstanceId"], 7980000);
    assert_eq!(it["Category"], "HighAvailability");
    assert_eq!(
        it["RestoreRegions"]["RestoreRegion"],
        serde_json::json!([SRC, DEST])
    );
    let file = it["CrossBackupSetFile"].as_str().unwrap();
    assert!(
        file.starts_with("cn-hangzhou_rm-test0001_hins7980000_data_20240301"),
        "{file}"
    );
    assert!(
        file.ends_with("_qp.xb") || file.ends_with(".tar.gz"),
        "{file}"
    );
}

#[tokio::test]
async fn window_is_inclusive_and_filters() {
    let f = Fixture::new(6).await;
    // Exactly sets 2..=4 start inside [base+2h, base+4h].
    let (status, body) = f
        .describe(&[
            ("DBInstanceId", INSTANCE),
            ("RegionId", SRC),
            ("StartTime", "2024-03-01T02:00:00Z"),
            ("EndTime", "2024-03-01T04:00Z"),
        ])
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["TotalRecordCount"], 3);
    let id = body["Items"]["Item"][1]["CrossBackupId"]
        .as_i64()
        .unwrap()
        .to_string();

    let (_, one) = f
        .describe(&[
            ("DBInstanceId", INSTANCE),
            ("RegionId", SRC),
            ("CrossBackupId", &id),
        ])
        .await;
    assert_eq!(one["TotalRecordCount"], 1);
    assert_eq!(
        one["Items"]["Item"][0]["CrossBackupId"]
            .as_i64()
            .unwrap()
            .to_string(),
        id
    );

    let (_, none) = f.list(&[("CrossBackupRegion", "cn-beijing")]).await;
    assert_eq!(none["TotalRecordCount"], 0);
    assert_eq!(none["Items"]["Item"], serde_json::json!([]));
    let (_, dest) = f.list(&[("CrossBackupRegion", DEST)]).await;
    assert_eq!(dest["TotalRecordCount"], 6);
}

#[tokio::test]
async fn pages_are_stable_and_cover_everything_once() {
    let f = Fixture::new(75).await;
    for size in [30usize, 50, 100] {
        let mut seen = Vec::new();
        for page in 1..=(75 / size + 2) {
            let (ps, pn) = (size.to_string(), page.to_string());
            let (status, body) = f.list(&[("PageSize", &ps), ("PageNumber", &pn)]).await;
            assert_eq!(status, 200);
            assert_eq!(body["TotalRecordCount"], 75);
            assert_eq!(body["PageNumber"], page as i64);
            let items = body["Items"]["Item"].as_array().unwrap();
            assert_eq!(body["PageRecordCount"], items.len() as i64);
            assert!(items.len() <= size);
            seen.extend(items.iter().map(|i| i["CrossBackupId"].as_i64().unwrap()));
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(seen.len(), 75, "page size {size}");
        assert_eq!(unique.len(), 75, "page size {size}: duplicates");
    }
}

#[tokio::test]
async fn xml_format_and_v3_and_form_post_agree_with_json() {
    let f = Fixture::new(3).await;
    let (s, e) = window(3);
    let base = listing(&s, &e);

    let mut xml_params = base.to_vec();
    xml_params.push(("Format", "XML"));
    let (xml, headers) = f.send_xml(f.v1_get(&xml_params), 200).await;
    assert!(
        xml.contains("<DescribeCrossRegionBackupsResponse>"),
        "{xml}"
    );
    assert_eq!(xml.matches("<Item>").count(), 3);
    assert_eq!(xml.matches("<RestoreRegion>").count(), 6);
    assert!(xml.contains("<TotalRecordCount>3</TotalRecordCount>"));
    let rid = headers.get("x-acs-request-id").unwrap().to_str().unwrap();
    assert!(xml.contains(&format!("<RequestId>{rid}</RequestId>")));

    let (status, ct, body, _) = f.send(v3_request(&f.ak, &f.secret, &base)).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(ct, "application/json;charset=utf-8");
    let v3: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v3["TotalRecordCount"], 3);

    // pop-core POST: everything in a form body, URL is just "/".
    let form = v1_params("POST", &f.ak, &f.secret, &base, chrono::Utc::now());
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(form))
        .unwrap();
    let (status, _, body, _) = f.send(req).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let post: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let ids = |v: &serde_json::Value| {
        v["Items"]["Item"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["CrossBackupId"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&post), ids(&v3));
}

#[tokio::test]
async fn a_new_copy_shows_up_despite_the_listing_cache() {
    let f = Fixture::new(2).await;
    let (s, _) = window(2);
    let e = "2024-03-02T00:00:00Z";
    let params = [
        ("DBInstanceId", INSTANCE),
        ("RegionId", SRC),
        ("StartTime", s.as_str()),
        ("EndTime", e),
    ];
    let (_, before) = f.describe(&params).await;
    assert_eq!(before["TotalRecordCount"], 2);
    let (_, again) = f.describe(&params).await; // served from the cache
    assert_eq!(again["TotalRecordCount"], 2);

    // Another process records and completes a copy.
    let inst = f.instance(INSTANCE).await;
    let started = f.base + chrono::Duration::hours(5);
    let recorded = f
        .catalog
        .record_backup_set(&xbak_domain::NewBackupSet {
            instance_id: inst.id,
            method: xbak_domain::BackupMethod::Logical,
            backup_type: xbak_domain::BackupType::Full,
            scale: xbak_domain::BackupSetScale::Instance,
            started_at: started,
            finished_at: started,
            consistent_at: started,
            instance_number: 1,
            object_key: "backups/rm-test0001/late.tar.gz".into(),
            size_bytes: 1,
            sha256: "00".repeat(32),
        })
        .await
        .unwrap();
    let copy_id = recorded.queued_copy_id.expect("queued by the policy");
    f.finish_copy(copy_id, true).await;

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let (_, now) = f.describe(&params).await;
        if now["TotalRecordCount"] == 3 {
            assert_eq!(now["Items"]["Item"][0]["CrossBackupId"], copy_id);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the new copy never appeared: {now}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
