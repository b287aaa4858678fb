//! What S3-compatible regions promise beyond the conformance suite: the region's prefix,
//! presigned links the server itself answers, and uploads that resume after a crash. Runs
//! against the loopback server of `.ci/s3-server.sh` and fails without it.

use std::time::Duration;
use xbak_storage::conformance::{pattern, read, s3, sha256_hex};
use xbak_storage::{RegionStore, StorageError, PART_SIZE};

const BUCKET: &str = "xbak-storage-s3";

async fn put(store: &RegionStore, key: &str, data: &[u8]) {
    let staged = store.upload_staged(key, data, &|_| {}).await.unwrap();
    store.publish(&staged, key).await.unwrap();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_live_under_the_region_prefix() {
    let url = s3::region_url(BUCKET).await;
    let prefix = url.split('@').nth(1).unwrap().split('?').next().unwrap();
    let (_, prefix) = prefix.split_once('/').unwrap();
    let region = RegionStore::open("cn-a", &url).unwrap();
    put(&region, "cross/x/f.xb", b"prefixed").await;
    assert_eq!(region.list("").await.unwrap(), vec!["cross/x/f.xb"]);

    let bucket_url = format!(
        "s3://k:s@{BUCKET}?endpoint={}&region=us-east-1",
        s3::endpoint()
    );
    let whole = RegionStore::open("cn-bucket", &bucket_url).unwrap();
    let full = format!("{prefix}/cross/x/f.xb");
    assert_eq!(whole.list(prefix).await.unwrap(), vec![full.clone()]);
    assert_eq!(read(&whole, &full, None).await.unwrap().1, b"prefixed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presigned_links_download_the_exact_bytes_from_the_store() {
    let region = s3::region("cn-a", BUCKET).await;
    let data = pattern(PART_SIZE + 4321, 9);
    let key = "cross/rm-bp1/cn-a_rm-bp1_1_data 2024+x_qp.xb";
    put(&region, key, &data).await;

    let url = region
        .presigned_get(key, Duration::from_secs(600))
        .await
        .unwrap()
        .expect("S3 regions presign");
    assert!(url.starts_with(&s3::endpoint()), "{url}");
    for param in [
        "X-Amz-Algorithm=AWS4-HMAC-SHA256",
        "X-Amz-Expires=600",
        "X-Amz-Signature=",
    ] {
        assert!(url.contains(param), "{param} missing from {url}");
    }
    assert!(
        !url.contains("xbak-test-secret"),
        "secret leaked into {url}"
    );
    let (status, body) = download(&url, None).await;
    assert_eq!(status, 200);
    assert!(body == data, "downloaded bytes differ");
    assert_eq!(sha256_hex(&body), sha256_hex(&data));
    let (status, body) = download(&url, Some("bytes=100-199")).await;
    assert_eq!((status, body.as_slice()), (206, &data[100..200]));

    // Validity is capped at SigV4's seven days.
    let long = region
        .presigned_get(key, Duration::from_secs(30 * 86400))
        .await
        .unwrap()
        .unwrap();
    assert!(long.contains("X-Amz-Expires=604800"), "{long}");
    assert!(matches!(
        region
            .presigned_get(".staging/x/y", Duration::from_secs(1))
            .await,
        Err(StorageError::InvalidKey(_))
    ));
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

mod resumable {
    use super::BUCKET;
    use xbak_storage::conformance::{resumable, s3};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn uploads_resume_from_the_parts_already_uploaded() {
        let region = s3::region("cn-a", BUCKET).await;
        resumable::uploads_resume_from_the_parts_already_uploaded(&region).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn fresh_uploads_hash_and_unfit_states_start_over() {
        let region = s3::region("cn-a", BUCKET).await;
        resumable::fresh_uploads_hash_and_unfit_states_start_over(&region).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn empty_objects_upload_resumably() {
        let region = s3::region("cn-a", BUCKET).await;
        resumable::empty_objects_upload_resumably(&region).await;
    }
}
