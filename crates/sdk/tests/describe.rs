//! The SDK against a real xbak server: typed pages, the item paginator across 130 copies, the
//! raw pager, both signatures and both methods, and Alibaba's error fields.

mod common;

use common::*;
use futures::TryStreamExt;
use std::collections::HashSet;
use xbak_sdk::{
    Client, Credentials, DescribeCrossRegionBackupsRequest, HttpMethod, PagerOptions,
    SignatureVersion,
};
use xbak_testkit::*;

#[tokio::test]
async fn paginator_yields_all_130_items_once_newest_first_with_each_scheme() {
    let s = Server::start(Setup::sets(130)).await;
    let (start, end) = s.window();
    for (sig, method) in [
        (SignatureVersion::V3, HttpMethod::Post),
        (SignatureVersion::V1, HttpMethod::Post),
        (SignatureVersion::V1, HttpMethod::Get),
        (SignatureVersion::V3, HttpMethod::Get),
    ] {
        let client = s.client_with(sig, method);
        let req = DescribeCrossRegionBackupsRequest::new(INSTANCE).window(&start, &end);

        let first = client
            .describe_cross_region_backups(&req.clone().page_size(30))
            .await
            .unwrap();
        assert_eq!(first.total_record_count, 130);
        assert_eq!(first.items.len(), 30);
        assert_eq!(first.page_record_count, 30);
        assert_eq!(first.region_id, SRC, "RegionId came from the client");
        assert!(!first.request_id.is_empty());

        let mut pages = client.describe_cross_region_backups_pages(req.clone().page_size(30));
        let mut sizes = Vec::new();
        while let Some(page) = pages.next_page().await {
            sizes.push(page.unwrap().items.len());
        }
        assert_eq!(sizes, [30, 30, 30, 30, 10], "{sig:?} {method:?}");

        let items: Vec<_> = client
            .describe_cross_region_backups_pages(req.clone())
            .into_items()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(items.len(), 130);
        let ids: HashSet<i64> = items.iter().map(|i| i.cross_backup_id).collect();
        assert_eq!(ids.len(), 130, "no duplicates");
        let starts: Vec<&str> = items.iter().map(|i| i.backup_start_time.as_str()).collect();
        let mut sorted = starts.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(starts, sorted, "newest first across pages");
        // Set i has `set {i} ` repeated 20 + i times; the newest is set 129.
        assert_eq!(
            items[0].cross_backup_set_size as usize,
            s.contents[129].len()
        );
        assert_eq!(items[0].restore_regions, [SRC, DEST]);
        assert!(items[0]
            .cross_backup_download_link
            .starts_with(&format!("{}/download/{DEST}/", s.url)));
    }
}

#[tokio::test]
async fn raw_calls_and_the_merging_pager() {
    let s = Server::start(Setup::sets(130)).await;
    let (start, end) = s.window();
    let client = s.client();
    let params = vec![
        ("DBInstanceId".to_owned(), INSTANCE.to_owned()),
        ("StartTime".to_owned(), start.clone()),
        ("EndTime".to_owned(), end.clone()),
    ];
    let raw = client
        .call_raw("DescribeCrossRegionBackups", &params)
        .await
        .unwrap();
    assert_eq!(raw.status, 200);
    assert_eq!(raw.attempts, 1);
    let v: serde_json::Value = serde_json::from_slice(&raw.body).unwrap();
    assert_eq!(v["RequestId"], raw.request_id.as_str());
    assert_eq!(
        v["Items"]["Item"].as_array().unwrap().len(),
        30,
        "service default"
    );

    let merged = client
        .call_all_pages(
            "DescribeCrossRegionBackups",
            &params,
            &PagerOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(merged.path, ["Items", "Item"]);
    assert_eq!(merged.pages, 5);
    assert_eq!(merged.total, Some(130));
    assert_eq!(merged.items.len(), 130);
    let json = merged.to_json();
    assert_eq!(json.as_object().unwrap().len(), 1);
    assert_eq!(json["Items"]["Item"].as_array().unwrap().len(), 130);

    // Page size 100 from page 1: two calls; starting at page 2 gives the last 30.
    let mut p = params.clone();
    for (param, value, pages, items) in [("PageSize", "100", 2, 130), ("PageNumber", "2", 1, 30)] {
        p.push((param.into(), value.into()));
        let merged = client
            .call_all_pages("DescribeCrossRegionBackups", &p, &PagerOptions::default())
            .await
            .unwrap();
        assert_eq!((merged.pages, merged.items.len()), (pages, items), "{p:?}");
    }
}

#[tokio::test]
async fn errors_carry_code_message_and_request_id_and_are_not_retried() {
    let s = Server::start(Setup::default()).await;
    let (start, end) = s.window();
    for sig in [SignatureVersion::V3, SignatureVersion::V1] {
        let client = s.client_with(sig, HttpMethod::Post);
        let e = client
            .describe_cross_region_backups(
                &DescribeCrossRegionBackupsRequest::new("rm-nope").window(&start, &end),
            )
            .await
            .unwrap_err();
        let message = api_error_message(e, "InvalidDBInstance.NotFound", 404);
        assert_eq!(message, "Specified instance does not exist or not support.");

        let e = client
            .describe_cross_region_backups(&DescribeCrossRegionBackupsRequest::new(INSTANCE))
            .await
            .unwrap_err();
        assert_eq!(api(e).0, "ParameterAbsence");

        let e = client.call("DescribeNothing", &[]).await.unwrap_err();
        let (code, _, _, status) = api(e);
        assert_eq!((code.as_str(), status), ("InvalidAction.NotFound", 404));

        let wrong = Client::builder()
            .endpoint(&s.url)
            .credentials(Credentials::new(&s.ak, "not-the-secret"))
            .region_id(SRC)
            .signature_version(sig)
            .build()
            .unwrap();
        let e = wrong
            .describe_cross_region_backups(
                &DescribeCrossRegionBackupsRequest::new(INSTANCE).window(&start, &end),
            )
            .await
            .unwrap_err();
        let (code, _, _, status) = api(e);
        assert_eq!((code.as_str(), status), ("SignatureDoesNotMatch", 400));
    }
    let unknown = Client::builder()
        .endpoint(&s.url)
        .credentials(Credentials::new("LTAInope", "x"))
        .region_id(SRC)
        .build()
        .unwrap();
    let e = unknown
        .call("DescribeCrossRegionBackups", &[])
        .await
        .unwrap_err();
    assert_eq!(api(e).0, "InvalidAccessKeyId.NotFound");
}

#[tokio::test]
async fn cross_backup_id_lookup_and_filters() {
    let s = Server::start(Setup::default()).await;
    let client = s.client();
    let (start, end) = s.window();
    let all = client
        .describe_cross_region_backups_pages(
            DescribeCrossRegionBackupsRequest::new(INSTANCE).window(&start, &end),
        )
        .collect_items()
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    let one = client
        .describe_cross_region_backups(
            &DescribeCrossRegionBackupsRequest::new(INSTANCE)
                .cross_backup_id(all[1].cross_backup_id),
        )
        .await
        .unwrap();
    assert_eq!(one.items.len(), 1);
    assert_eq!(one.items[0].cross_backup_id, all[1].cross_backup_id);
    assert_eq!(
        one.items[0].cross_backup_set_file,
        all[1].cross_backup_set_file
    );
    let none = client
        .describe_cross_region_backups(
            &DescribeCrossRegionBackupsRequest::new(INSTANCE)
                .window(&start, &end)
                .cross_backup_region("cn-beijing"),
        )
        .await
        .unwrap();
    assert_eq!((none.total_record_count, none.items.len()), (0, 0));
}
