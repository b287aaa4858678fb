//! Staged-write promises: idempotent and conflicting re-publishes, verification, sweeping,
//! and uploads that stream with bounded read-ahead.

use super::{put, read, sha256_hex, stage, PatternReader};
use crate::{RegionStore, StorageError, PART_SIZE};
use std::sync::atomic::{AtomicU64, Ordering};

/// Publishing the same bytes again (a retry after a crash) succeeds and cleans up.
pub async fn republish_same_bytes_succeeds(store: &RegionStore) {
    let first = stage(store, "conf/p", b"same bytes").await;
    store.publish(&first, "conf/p").await.unwrap();
    store
        .publish(&first, "conf/p")
        .await
        .expect("second publish of the same staged object");
    let again = stage(store, "conf/p", b"same bytes").await;
    store
        .publish(&again, "conf/p")
        .await
        .expect("publish of a re-upload of the same bytes");
    assert_eq!(store.head(&again.staging_key).await.unwrap(), None);
    assert_eq!(store.list("").await.unwrap(), vec!["conf/p"]);
}

/// Publishing different bytes onto a published key fails and changes nothing visible.
pub async fn republish_different_bytes_fails(store: &RegionStore) {
    put(store, "conf/q", b"original").await;
    let other = stage(store, "conf/q", b"different").await;
    match store.publish(&other, "conf/q").await {
        Err(StorageError::AlreadyExists(key)) => assert_eq!(key, "conf/q"),
        other => panic!("{other:?}"),
    }
    assert_eq!(read(store, "conf/q", None).await.unwrap().1, b"original");
    assert_eq!(
        store.head(&other.staging_key).await.unwrap(),
        None,
        "refused staging object left behind"
    );
    // Same size, different bytes: also refused.
    let same_size = stage(store, "conf/q", b"ORIGINAL").await;
    assert!(matches!(
        store.publish(&same_size, "conf/q").await,
        Err(StorageError::AlreadyExists(_))
    ));
}

/// `verify` passes the right checksum and reports both sides of a wrong one.
pub async fn verify_reports_mismatches(store: &RegionStore) {
    let staged = stage(store, "conf/v", b"verify me").await;
    assert_eq!(
        store
            .verify(&staged.staging_key, &staged.checksum())
            .await
            .unwrap(),
        staged.checksum()
    );
    let mut upper = staged.checksum();
    upper.sha256 = upper.sha256.to_uppercase();
    store
        .verify(&staged.staging_key, &upper)
        .await
        .expect("hex case is not significant");
    for wrong in [
        crate::Checksum {
            size: 9,
            sha256: sha256_hex(b"other"),
        },
        crate::Checksum {
            size: 8,
            sha256: staged.sha256.clone(),
        },
    ] {
        match store.verify(&staged.staging_key, &wrong).await {
            Err(StorageError::ChecksumMismatch {
                expected, actual, ..
            }) => {
                assert_eq!((expected, actual), (wrong.clone(), staged.checksum()))
            }
            other => panic!("{other:?}"),
        }
    }
}

/// Sweeping removes staging objects idle for longer than the age, and nothing else.
pub async fn sweep_removes_only_stale_staging(store: &RegionStore) {
    let staged = stage(store, "conf/w/obj", b"abandoned").await;
    put(store, "conf/w/kept", b"published").await;
    assert_eq!(
        store
            .sweep_staging(std::time::Duration::from_secs(3600))
            .await
            .unwrap(),
        0,
        "fresh staging swept"
    );
    assert_eq!(store.head(&staged.staging_key).await.unwrap(), Some(9));
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert!(
        store
            .sweep_staging(std::time::Duration::ZERO)
            .await
            .unwrap()
            >= 1
    );
    assert_eq!(
        store.head(&staged.staging_key).await.unwrap(),
        None,
        "stale staging kept"
    );
    assert!(matches!(
        store.publish(&staged, "conf/w/obj").await,
        Err(StorageError::NotFound(_))
    ));
    assert_eq!(store.list("").await.unwrap(), vec!["conf/w/kept"]);
    assert_eq!(
        store
            .sweep_staging(std::time::Duration::ZERO)
            .await
            .unwrap(),
        0
    );
}

/// 50 MB generated on the fly: the upload pulls from the reader part by part (never more than
/// one part ahead of what it reported written) and the checksums agree.
pub async fn large_upload_streams(store: &RegionStore) {
    const LEN: u64 = 50_000_000;
    let mut reader = PatternReader::new(LEN, 50);
    let read = reader.counter();
    let max_ahead = AtomicU64::new(0);
    let calls = AtomicU64::new(0);
    let staged = store
        .upload_staged("conf/large", &mut reader, &|written| {
            calls.fetch_add(1, Ordering::Relaxed);
            max_ahead.fetch_max(
                read.load(Ordering::Relaxed).saturating_sub(written),
                Ordering::Relaxed,
            );
        })
        .await
        .unwrap();
    assert_eq!(staged.size, LEN);
    assert_eq!(staged.sha256, reader.sha256());
    assert_eq!(
        calls.load(Ordering::Relaxed),
        LEN.div_ceil(PART_SIZE as u64)
    );
    assert!(
        max_ahead.load(Ordering::Relaxed) <= PART_SIZE as u64,
        "read {} bytes ahead",
        max_ahead.load(Ordering::Relaxed)
    );
    store.publish(&staged, "conf/large").await.unwrap();
    assert_eq!(
        store.checksum("conf/large").await.unwrap(),
        staged.checksum()
    );
}
