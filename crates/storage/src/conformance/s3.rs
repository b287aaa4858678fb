//! The S3-compatible test server, for the tests of this crate and the layers above: its
//! endpoint comes from [`ENDPOINT_VAR`] (`bash .ci/s3-server.sh start` prints it; `scripts/test.sh`
//! sets it). A test that needs it and finds it unset **fails**, it is not skipped: an untested
//! backend must not look like a passing one.

use crate::RegionStore;

/// Environment variable holding the test server's endpoint (`http://127.0.0.1:PORT`).
pub const ENDPOINT_VAR: &str = "XBAK_TEST_S3_ENDPOINT";

/// The test server's endpoint. Panics, with how to start one, when [`ENDPOINT_VAR`] is unset or
/// not a loopback `http://` URL.
pub fn endpoint() -> String {
    let endpoint = std::env::var(ENDPOINT_VAR).unwrap_or_default();
    let parsed = url::Url::parse(&endpoint).ok();
    assert!(
        parsed.as_ref().is_some_and(crate::s3::is_loopback),
        "{ENDPOINT_VAR} is {endpoint:?}: the S3 tests need a loopback S3-compatible server. \
         Start one with `eval \"$(bash .ci/s3-server.sh start)\"` (scripts/test.sh does)."
    );
    endpoint.trim_end_matches('/').to_owned()
}

/// Creates `bucket` on the test server if it does not exist (an unsigned `PUT /bucket`, which
/// the test server accepts; creating an existing bucket of ours succeeds).
pub async fn create_bucket(bucket: &str) {
    let url = format!("{}/{bucket}", endpoint());
    let response = reqwest::Client::new()
        .put(&url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("creating bucket {url}: {e}"));
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    assert!(
        status.is_success() || body.contains("BucketAlreadyOwnedByYou"),
        "creating bucket {url}: {status} {body}"
    );
}

/// URL of a fresh, empty region: a new random prefix in `bucket` (created if needed) on the
/// test server, with credentials in the URL (the server does not check them).
pub async fn region_url(bucket: &str) -> String {
    create_bucket(bucket).await;
    format!(
        "s3://xbak-test:xbak-test-secret@{bucket}/t-{}?endpoint={}&region=us-east-1",
        uuid::Uuid::new_v4().simple(),
        endpoint()
    )
}

/// A fresh, empty S3 region `region_id` in `bucket` of the test server.
pub async fn region(region_id: &str, bucket: &str) -> RegionStore {
    let url = region_url(bucket).await;
    RegionStore::open(region_id, &url).unwrap_or_else(|e| panic!("opening {url}: {e}"))
}
