//! What S3-compatible regions promise beyond the conformance suite: the region's prefix,
//! presigned links the server itself answers, publishing that never overwrites (whether or not
//! the server honours conditional writes), listings past one page, and uploads that resume
//! after a crash. Each runs on moto (`.ci/s3-server.sh`) and Garage (`.ci/garage.sh`), and fails
//! without them.

use futures::StreamExt;
use std::time::Duration;
use xbak_storage::conformance::s3::TestServer;
use xbak_storage::conformance::{pattern, read, sha256_hex};
use xbak_storage::{RegionStore, StorageError, PART_SIZE};

const BUCKET: &str = "xbak-storage-s3";

xbak_storage::for_each_test_server!(
    keys_live_under_the_region_prefix,
    presigned_links_download_the_exact_bytes_from_the_store,
    publishing_never_overwrites_whether_or_not_the_server_honours_conditions,
    listings_go_past_one_page,
    uploads_resume_from_the_parts_already_uploaded,
    fresh_uploads_hash_and_unfit_states_start_over,
    empty_objects_upload_resumably,
);

async fn put(store: &RegionStore, key: &str, data: &[u8]) {
    let staged = store.upload_staged(key, data, &|_| {}).await.unwrap();
    store.publish(&staged, key).await.unwrap();
}

/// The prefix in the bucket of a region URL.
fn prefix_of(url: &str) -> &str {
    let path = url.split('@').nth(1).unwrap().split('?').next().unwrap();
    path.split_once('/').unwrap().1
}

async fn download(url: &str, range: Option<&str>) -> (u16, Vec<u8>) {
    let mut request = reqwest::Client::new().get(url);
    if let Some(r) = range {
        request = request.header("Range", r);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.bytes().await.unwrap().to_vec())
}

async fn keys_live_under_the_region_prefix(server: TestServer) {
    let url = server.region_url(BUCKET).await;
    let prefix = prefix_of(&url);
    let region = RegionStore::open("cn-a", &url).unwrap();
    put(&region, "cross/x/f.xb", b"prefixed").await;
    assert_eq!(region.list("").await.unwrap(), vec!["cross/x/f.xb"]);

    let whole = RegionStore::open("cn-bucket", &server.url(BUCKET, "")).unwrap();
    let full = format!("{prefix}/cross/x/f.xb");
    assert_eq!(whole.list(prefix).await.unwrap(), vec![full.clone()]);
    assert_eq!(read(&whole, &full, None).await.unwrap().1, b"prefixed");
}

async fn presigned_links_download_the_exact_bytes_from_the_store(server: TestServer) {
    let region = server.region("cn-a", BUCKET).await;
    let data = pattern(PART_SIZE + 4321, 9);
    let key = "cross/rm-bp1/cn-a_rm-bp1_1_data 2024+x_qp.xb";
    put(&region, key, &data).await;

    let url = region
        .presigned_get(key, Duration::from_secs(600))
        .await
        .unwrap()
        .expect("S3 regions presign");
    // Path-style, signed for the server's own region (Garage refuses any other).
    assert!(
        url.starts_with(&format!("{}/{BUCKET}/t-", server.endpoint)),
        "{url}"
    );
    for param in [
        "X-Amz-Algorithm=AWS4-HMAC-SHA256",
        "X-Amz-Expires=600",
        "X-Amz-Signature=",
        &format!("%2F{}%2Fs3%2Faws4_request", server.region),
    ] {
        assert!(url.contains(param), "{param} missing from {url}");
    }
    assert!(
        !url.contains(server.secret_key()),
        "secret leaked into {url}"
    );
    let (status, body) = download(&url, None).await;
    assert_eq!(status, 200);
    assert!(body == data, "downloaded bytes differ");
    assert_eq!(sha256_hex(&body), sha256_hex(&data));
    let (status, body) = download(&url, Some("bytes=100-199")).await;
    assert_eq!((status, body.as_slice()), (206, &data[100..200]));

    // A link whose signature was tampered with downloads nothing (moto checks no signature).
    if server.name == "garage" {
        let forged = url.replace("X-Amz-Expires=600", "X-Amz-Expires=601");
        let (status, _) = download(&forged, None).await;
        assert_eq!(status, 403, "a forged link was served");
    }

    // Validity is capped at SigV4's seven days.
    let long = region
        .presigned_get(key, Duration::from_secs(30 * 86400))
        .await
        .unwrap()
        .unwrap();
    assert!(long.contains("X-Amz-Expires=604800"), "{long}");
    let (status, body) = download(&long, Some("bytes=0-9")).await;
    assert_eq!((status, body.as_slice()), (206, &data[..10]));
    assert!(matches!(
        region
            .presigned_get(".staging/x/y", Duration::from_secs(1))
            .await,
        Err(StorageError::InvalidKey(_))
    ));
}

/// moto honours `If-None-Match: *`; Garage accepts it and overwrites anyway. The region's
/// probe tells them apart and publishing never overwrites on either.
async fn publishing_never_overwrites_whether_or_not_the_server_honours_conditions(
    server: TestServer,
) {
    let url = server.region_url(BUCKET).await;
    let prefix = prefix_of(&url);
    // What the server does with a conditional write, seen directly.
    let raw_key = format!("{prefix}/raw/conditional");
    let create = [("If-None-Match", "*")];
    let (first, body) = server
        .put_raw(BUCKET, &raw_key, &create, b"one".to_vec())
        .await;
    assert!(first.is_success(), "{first} {body}");
    let (second, _) = server
        .put_raw(BUCKET, &raw_key, &create, b"two".to_vec())
        .await;
    let honours = second == http::StatusCode::PRECONDITION_FAILED;
    assert!(honours || second.is_success(), "{second}");

    let region = RegionStore::open("cn-a", &url).unwrap();
    assert_eq!(
        region.publishes_conditionally().await.unwrap(),
        honours,
        "the probe disagrees with what {} does",
        server.name
    );
    assert_eq!(honours, server.name == "moto");
    // The probe leaves nothing behind, in staging or elsewhere.
    assert_eq!(
        server.raw_keys(BUCKET, &format!("{prefix}/")).await,
        vec![raw_key.clone()]
    );

    put(&region, "cross/p", b"first").await;
    refuses_to_overwrite(&region, b"other").await;

    // `copy_if_not_exists=none` skips the probe and publishes the same way.
    let none = RegionStore::open("cn-a", &format!("{url}&copy_if_not_exists=none")).unwrap();
    assert!(!none.publishes_conditionally().await.unwrap());
    refuses_to_overwrite(&none, b"again").await;
}

/// Publishing `other` over the existing `cross/p` fails as `AlreadyExists` and keeps `first`.
async fn refuses_to_overwrite(region: &RegionStore, other: &[u8]) {
    let staged = region
        .upload_staged("cross/p", other, &|_| {})
        .await
        .unwrap();
    assert!(matches!(
        region.publish(&staged, "cross/p").await,
        Err(StorageError::AlreadyExists(_))
    ));
    assert_eq!(read(region, "cross/p", None).await.unwrap().1, b"first");
}

/// S3 lists 1000 keys a page: a region with more lists them all, in order.
async fn listings_go_past_one_page(server: TestServer) {
    const KEYS: usize = 1010;
    let url = server.region_url(BUCKET).await;
    let prefix = prefix_of(&url);
    let keys: Vec<String> = (0..KEYS).map(|i| format!("many/k{i:05}")).collect();
    let puts = futures::stream::iter(keys.iter().map(|key| {
        let (server, full) = (&server, format!("{prefix}/{key}"));
        async move {
            let (status, body) = server
                .put_raw(BUCKET, &full, &[], key.clone().into_bytes())
                .await;
            assert!(status.is_success(), "{status} {body}");
        }
    }));
    puts.buffer_unordered(16).for_each(|()| async {}).await;
    let region = RegionStore::open("cn-a", &url).unwrap();
    assert_eq!(region.list("many").await.unwrap(), keys);
    assert_eq!(region.list("").await.unwrap().len(), KEYS);
}

async fn uploads_resume_from_the_parts_already_uploaded(server: TestServer) {
    let region = server.region("cn-a", BUCKET).await;
    resumable::uploads_resume_from_the_parts_already_uploaded(&region).await;
}

async fn fresh_uploads_hash_and_unfit_states_start_over(server: TestServer) {
    let region = server.region("cn-a", BUCKET).await;
    resumable::fresh_uploads_hash_and_unfit_states_start_over(&region).await;
}

async fn empty_objects_upload_resumably(server: TestServer) {
    let region = server.region("cn-a", BUCKET).await;
    resumable::empty_objects_upload_resumably(&region).await;
}

#[tokio::test]
async fn local_regions_do_not_presign_and_wrapped_stores_do_not_resume() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().display());
    let local = RegionStore::open("cn-l", &url).unwrap();
    assert_eq!(
        local
            .presigned_get("a/b", Duration::from_secs(60))
            .await
            .unwrap(),
        None
    );
    assert!(local.supports_resume());
    let store = std::sync::Arc::new(
        object_store::local::LocalFileSystem::new_with_prefix(dir.path()).unwrap(),
    );
    let wrapped = RegionStore::from_object_store("cn-l", &url, store).unwrap();
    assert!(!wrapped.supports_resume());
    assert!(matches!(
        wrapped.resumable_upload("a/b", None).await,
        Err(StorageError::Unsupported(_))
    ));
}

#[test]
fn oss_endpoints_get_oss_v1_links() {
    // Nothing is requested while opening or signing: an OSS endpoint can be used offline.
    let region = RegionStore::open(
        "cn-hangzhou",
        "s3://LTAIexample:secret@xbak-bkt/backups?endpoint=https://oss-cn-hangzhou.aliyuncs.com&region=oss-cn-hangzhou",
    )
    .unwrap();
    let url = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(region.presigned_get("cross/a b.xb", Duration::from_secs(3600)))
        .unwrap()
        .unwrap();
    assert!(
        url.starts_with("https://xbak-bkt.oss-cn-hangzhou.aliyuncs.com/backups/cross/a%20b.xb?OSSAccessKeyId=LTAIexample&Expires="),
        "{url}"
    );
    assert!(url.contains("&Signature="), "{url}");
    assert!(!format!("{region:?}").contains("secret"));
    assert_eq!(
        region.redacted_url(),
        "s3://LTAIexample:***@xbak-bkt/backups?endpoint=https://oss-cn-hangzhou.aliyuncs.com&region=oss-cn-hangzhou"
    );
}

use xbak_storage::conformance::resumable;

/// Garage signs for its own `s3_region` only: a region URL with another region name (say,
/// the default us-east-1) fails at once, and the error names the region expected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garage_refuses_another_region_name_and_says_which() {
    let server = TestServer::garage();
    let url = server.region_url(BUCKET).await;
    let wrong = url.replace(&format!("region={}", server.region), "region=us-east-1");
    assert_ne!(url, wrong);
    let region = RegionStore::open("cn-a", &wrong).unwrap();
    let err = region
        .upload_staged("cross/x", &b"x"[..], &|_| {})
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("AuthorizationHeaderMalformed")
            && message.contains(&format!("/{}/s3/aws4_request", server.region)),
        "{message}"
    );
    assert!(!message.contains(server.secret_key()), "{message}");
}
