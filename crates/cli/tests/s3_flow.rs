//! The README's path with the destination region on an S3-compatible store (the loopback test
//! server `scripts/test.sh` starts): the listing's link is the store's own presigned URL.

mod common;

use common::*;

#[tokio::test]
async fn a_copy_to_an_s3_region_is_listed_with_a_presigned_link() {
    let data = DataDir::new();
    let url = xbak_storage::conformance::s3::region_url("xbak-cli-tests").await;
    let (ak, secret) = data.seed_to(Some(&url));
    // A second S3 region, to see what `region add` prints.
    let out = data.ok(&["region", "add", "cn-beijing", "--store", &url]);
    assert!(
        !out.contains("xbak-test-secret"),
        "the store secret was printed: {out}"
    );
    let listed = data.ok(&["region", "list"]);
    assert!(
        listed.contains("cn-shanghai") && !listed.contains("xbak-test-secret"),
        "the store secret was listed: {listed}"
    );
    let file = make_file(data.path(), "set.xb", 20);
    data.register(&file, "2026-03-01T00:00:00Z");
    let out = data.ok(&["replicate", "--once"]);
    assert!(out.contains("1 copies completed"), "{out}");

    let server = Server::start(&data);
    let out = output_ok(
        data.cmd(&[
            "rds",
            "DescribeCrossRegionBackups",
            "--RegionId",
            "cn-hangzhou",
            "--DBInstanceId",
            "rm-bb0001",
            "--StartTime",
            "2026-03-01T00:00:00Z",
            "--EndTime",
            "2026-03-02T00:00:00Z",
            "--endpoint",
            &server.url(),
        ])
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", &ak)
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", &secret),
    );
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["TotalRecordCount"], 1, "{body}");
    let link = body["Items"]["Item"][0]["CrossBackupDownloadLink"]
        .as_str()
        .unwrap()
        .to_owned();
    let endpoint = xbak_storage::conformance::s3::endpoint();
    assert!(
        link.starts_with(&endpoint),
        "not a presigned store URL: {link}"
    );
    assert!(link.contains("X-Amz-Signature="), "{link}");
    let bytes = reqwest::get(&link).await.unwrap().bytes().await.unwrap();
    assert_eq!(bytes.as_ref(), std::fs::read(&file).unwrap().as_slice());
}
