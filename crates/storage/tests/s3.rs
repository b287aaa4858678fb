//! What S3-compatible regions promise beyond the conformance suite: the region's prefix,
//! presigned links the server itself answers, and uploads that resume after a crash. Runs
//! against the loopback server of `.ci/s3-server.sh` and fails without it.

use futures::TryStreamExt;
use std::time::Duration;
use xbak_storage::conformance::{pattern, read, s3, sha256_hex};
use xbak_storage::{RegionStore, ResumeState, StorageError, UploadError, PART_SIZE};

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
async fn local_regions_do_not_presign_or_resume() {
    let dir = tempfile::tempdir().unwrap();
    let local = RegionStore::open("cn-l", &format!("file://{}", dir.path().display())).unwrap();
    assert_eq!(
        local
            .presigned_get("a/b", Duration::from_secs(60))
            .await
            .unwrap(),
        None
    );
    assert!(!local.supports_resume());
    assert!(matches!(
        local.resumable_upload("a/b", None).await,
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

/// Writes `data` through a resumable upload, stopping (as a crash would) once `stop_after`
/// parts were checkpointed; returns the last checkpointed state.
async fn upload_until(
    region: &RegionStore,
    key: &str,
    from: Option<ResumeState>,
    data: &[u8],
    stop_after: usize,
) -> (ResumeState, u64) {
    let mut upload = region.resumable_upload(key, from).await.unwrap();
    let start = upload.resumed_from() as usize;
    let mut saved = upload.state().clone();
    let mut count = 0;
    let result = upload
        .write(&data[start..], &|_| {}, |state| {
            saved = state.clone();
            count += 1;
            let stop = count >= stop_after;
            async move {
                if stop {
                    Err("crash")
                } else {
                    Ok(())
                }
            }
        })
        .await;
    assert!(matches!(result, Err(UploadError::Checkpoint("crash"))));
    (saved, upload.bytes_sent())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_resume_from_the_parts_already_uploaded() {
    let region = s3::region("cn-a", BUCKET).await;
    assert!(region.supports_resume());
    let data = pattern(5 * PART_SIZE + 777, 3);
    let key = "cross/r/obj";

    let (state, _) = upload_until(&region, key, None, &data, 2).await;
    assert_eq!(state.parts.len(), 2);
    assert_eq!(state.bytes_done, 2 * PART_SIZE as u64);
    let json = state.to_json();
    assert_eq!(ResumeState::from_json(&json), Some(state.clone()));
    assert_eq!(ResumeState::from_json("{\"v\":2}"), None);
    assert_eq!(region.list("").await.unwrap(), Vec::<String>::new());

    // Resume twice more, then finish: nothing is uploaded twice but parts in flight.
    let (state, _) = upload_until(&region, key, Some(state), &data, 1).await;
    assert_eq!(state.bytes_done, 3 * PART_SIZE as u64);
    let mut upload = region
        .resumable_upload(key, Some(state.clone()))
        .await
        .unwrap();
    assert_eq!(upload.resumed_from(), 3 * PART_SIZE as u64);
    assert_eq!(upload.state().upload_id, state.upload_id);
    let sha = upload
        .write(&data[3 * PART_SIZE..], &|_| {}, |_| async {
            Ok::<(), ()>(())
        })
        .await
        .unwrap();
    assert_eq!(sha, None, "a resumed upload cannot know the whole checksum");
    assert_eq!(
        upload.bytes_sent(),
        data.len() as u64 - 3 * PART_SIZE as u64
    );
    let finished = upload.state().clone();
    let staged = upload.complete(data.len() as u64, None).await.unwrap();
    assert_eq!(staged.resumed_from, 3 * PART_SIZE as u64);
    assert_eq!(
        region.checksum(&staged.staging_key).await.unwrap().sha256,
        sha256_hex(&data)
    );
    assert_eq!(region.list("").await.unwrap(), Vec::<String>::new());

    // A crash after completing: resuming finds the staging object and uploads nothing.
    let mut again = region
        .resumable_upload(key, Some(finished.clone()))
        .await
        .unwrap();
    assert_eq!(again.resumed_from(), data.len() as u64);
    assert_eq!(
        again
            .write(&b""[..], &|_| {}, |_| async { Ok::<(), ()>(()) })
            .await
            .unwrap(),
        None
    );
    let staged = again.complete(data.len() as u64, None).await.unwrap();
    assert_eq!(staged.staging_key, finished.staging_key);

    region.discard_upload(&finished).await;
    assert_eq!(region.head(&finished.staging_key).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_uploads_hash_and_unfit_states_start_over() {
    let region = s3::region("cn-a", BUCKET).await;
    let data = pattern(PART_SIZE + 10, 4);
    let mut upload = region.resumable_upload("k/a", None).await.unwrap();
    let mut checkpoints = Vec::new();
    let sha = upload
        .write(&data[..], &|_| {}, |s| {
            checkpoints.push(s.bytes_done);
            async { Ok::<(), ()>(()) }
        })
        .await
        .unwrap();
    assert_eq!(sha.as_deref(), Some(sha256_hex(&data).as_str()));
    assert_eq!(checkpoints, vec![PART_SIZE as u64, data.len() as u64]);
    let state = upload.state().clone();
    upload.complete(data.len() as u64, sha).await.unwrap();

    // A state for another key, or of another part size, is discarded, not continued.
    let other = region
        .resumable_upload("k/b", Some(state.clone()))
        .await
        .unwrap();
    assert_ne!(other.state().upload_id, state.upload_id);
    assert_eq!(other.resumed_from(), 0);
    assert_eq!(
        region.head(&state.staging_key).await.unwrap(),
        None,
        "discarded"
    );
    let odd = ResumeState {
        part_size: 5 << 20,
        ..other.state().clone()
    };
    let fresh = region.resumable_upload("k/b", Some(odd)).await.unwrap();
    assert_eq!(fresh.resumed_from(), 0);

    // An aborted upload cannot be continued: the next part fails and says so.
    let (state, _) = upload_until(&region, "k/c", None, &pattern(3 * PART_SIZE, 5), 1).await;
    region.discard_upload(&state).await;
    let mut dead = region.resumable_upload("k/c", Some(state)).await.unwrap();
    let e = dead
        .write(&pattern(2 * PART_SIZE, 5)[..], &|_| {}, |_| async {
            Ok::<(), ()>(())
        })
        .await
        .unwrap_err();
    assert!(matches!(e, UploadError::Storage(_)), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_objects_upload_resumably() {
    let region = s3::region("cn-a", BUCKET).await;
    let mut upload = region.resumable_upload("k/empty", None).await.unwrap();
    let sha = upload
        .write(&b""[..], &|_| {}, |_| async { Ok::<(), ()>(()) })
        .await
        .unwrap();
    let staged = upload.complete(0, sha).await.unwrap();
    assert_eq!(
        staged.sha256.as_deref(),
        Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    let (size, stream) = region.get(&staged.staging_key, None).await.unwrap();
    let chunks: Vec<bytes::Bytes> = stream.try_collect().await.unwrap();
    assert_eq!((size, chunks.concat().len()), (0, 0));
}
