//! The one conformance suite every storage backend runs (local directories and memory now,
//! S3-compatible next): each `pub async fn` takes a fresh, empty [`RegionStore`] and panics on
//! the first broken promise. `tests/conformance.rs` runs [`ALL`] on each backend; a backend that
//! cannot be reached fails its run, it is not skipped.

use crate::{RegionStore, Staged, StorageError, PART_SIZE};
use futures::future::BoxFuture;
use futures::TryStreamExt;
use sha2::{Digest, Sha256};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, ReadBuf};

/// A suite entry: its name and the test.
pub type Case = (
    &'static str,
    for<'a> fn(&'a RegionStore) -> BoxFuture<'a, ()>,
);

/// Every test of the suite, by name.
pub const ALL: &[Case] = &[
    ("upload_checksum_publish", |s| {
        Box::pin(upload_checksum_publish(s))
    }),
    ("empty_object", |s| Box::pin(empty_object(s))),
    ("staging_is_never_listed", |s| {
        Box::pin(staging_is_never_listed(s))
    }),
    ("list_matches_whole_segments", |s| {
        Box::pin(list_matches_whole_segments(s))
    }),
    ("ranged_reads", |s| Box::pin(ranged_reads(s))),
    ("delete_is_idempotent", |s| {
        Box::pin(delete_is_idempotent(s))
    }),
    ("republish_same_bytes_succeeds", |s| {
        Box::pin(republish_same_bytes_succeeds(s))
    }),
    ("republish_different_bytes_fails", |s| {
        Box::pin(republish_different_bytes_fails(s))
    }),
    ("verify_reports_mismatches", |s| {
        Box::pin(verify_reports_mismatches(s))
    }),
    ("sweep_removes_only_stale_staging", |s| {
        Box::pin(sweep_removes_only_stale_staging(s))
    }),
    ("missing_objects_are_not_found", |s| {
        Box::pin(missing_objects_are_not_found(s))
    }),
    ("invalid_keys_are_refused", |s| {
        Box::pin(invalid_keys_are_refused(s))
    }),
    ("large_upload_streams", |s| {
        Box::pin(large_upload_streams(s))
    }),
];

/// Deterministic pseudo-random bytes (xorshift), different for each `seed`.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut out = vec![0u8; len];
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for chunk in out.chunks_mut(8) {
        state = xorshift(state);
        chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
    }
    out
}

fn xorshift(mut x: u64) -> u64 {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x
}

/// An [`AsyncRead`] producing `len` pattern bytes on the fly, never holding more than one
/// read's worth: for uploads larger than the memory they may use. Counts what was read.
pub struct PatternReader {
    remaining: u64,
    state: u64,
    hasher: Sha256,
    read: Arc<AtomicU64>,
}

impl PatternReader {
    pub fn new(len: u64, seed: u64) -> Self {
        PatternReader {
            remaining: len,
            state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            hasher: Sha256::new(),
            read: Arc::default(),
        }
    }

    /// Bytes handed out so far, readable while the reader is in use.
    pub fn counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.read)
    }

    /// SHA-256 (hex) of everything read, once it was read to the end.
    pub fn sha256(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
    }
}

impl AsyncRead for PatternReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = (buf.remaining() as u64).min(self.remaining).min(1 << 20) as usize / 8 * 8;
        let n = if n == 0 {
            (self.remaining as usize).min(buf.remaining())
        } else {
            n
        };
        let start = buf.filled().len();
        let mut filled = 0;
        while filled < n {
            self.state = xorshift(self.state);
            let bytes = self.state.to_le_bytes();
            let take = (n - filled).min(8);
            buf.put_slice(&bytes[..take]);
            filled += take;
        }
        let this = &mut *self;
        this.hasher.update(&buf.filled()[start..]);
        this.remaining -= n as u64;
        this.read.fetch_add(n as u64, Ordering::Relaxed);
        Poll::Ready(Ok(()))
    }
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

async fn stage(store: &RegionStore, key: &str, data: &[u8]) -> Staged {
    store
        .upload_staged(key, data, &|_| {})
        .await
        .unwrap_or_else(|e| panic!("staging {key}: {e}"))
}

async fn put(store: &RegionStore, key: &str, data: &[u8]) {
    let staged = stage(store, key, data).await;
    store
        .publish(&staged, key)
        .await
        .unwrap_or_else(|e| panic!("publishing {key}: {e}"));
}

/// Reads `key` (or a range of it) whole.
pub async fn read(
    store: &RegionStore,
    key: &str,
    range: Option<std::ops::Range<u64>>,
) -> Result<(u64, Vec<u8>), StorageError> {
    let (size, stream) = store.get(key, range).await?;
    let chunks: Vec<bytes::Bytes> = stream.try_collect().await?;
    Ok((size, chunks.concat()))
}

/// Upload to staging, check what the upload and a read-back saw, publish, read it back.
pub async fn upload_checksum_publish(store: &RegionStore) {
    let data = pattern(PART_SIZE + 1234, 1);
    let progress = Mutex::new(Vec::new());
    let staged = store
        .upload_staged("conf/a/obj.xb", &data[..], &|n| {
            progress.lock().unwrap().push(n)
        })
        .await
        .unwrap();
    assert_eq!(staged.size, data.len() as u64);
    assert_eq!(staged.sha256, sha256_hex(&data));
    assert!(
        staged.staging_key.starts_with(".staging/")
            && staged.staging_key.ends_with("/conf/a/obj.xb"),
        "{}",
        staged.staging_key
    );
    assert_eq!(
        *progress.lock().unwrap(),
        vec![PART_SIZE as u64, data.len() as u64]
    );
    assert_eq!(
        store.checksum(&staged.staging_key).await.unwrap(),
        staged.checksum()
    );
    assert_eq!(
        store.head("conf/a/obj.xb").await.unwrap(),
        None,
        "visible before publish"
    );

    store.publish(&staged, "conf/a/obj.xb").await.unwrap();
    assert_eq!(store.list("").await.unwrap(), vec!["conf/a/obj.xb"]);
    assert_eq!(
        store.head("conf/a/obj.xb").await.unwrap(),
        Some(data.len() as u64)
    );
    assert_eq!(
        store.checksum("conf/a/obj.xb").await.unwrap(),
        staged.checksum()
    );
    assert_eq!(
        store.head(&staged.staging_key).await.unwrap(),
        None,
        "staging object left after publish"
    );
    let (size, bytes) = read(store, "conf/a/obj.xb", None).await.unwrap();
    assert_eq!(size, data.len() as u64);
    assert!(bytes == data, "read-back differs");
}

/// A zero-byte object goes through the same path.
pub async fn empty_object(store: &RegionStore) {
    let staged = stage(store, "conf/empty", b"").await;
    assert_eq!(
        (staged.size, staged.sha256.as_str()),
        (
            0,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        )
    );
    store.publish(&staged, "conf/empty").await.unwrap();
    assert_eq!(store.head("conf/empty").await.unwrap(), Some(0));
    assert_eq!(
        read(store, "conf/empty", None).await.unwrap(),
        (0, Vec::new())
    );
    assert_eq!(
        store.checksum("conf/empty").await.unwrap(),
        staged.checksum()
    );
}

/// Staged objects are readable by key but never listed, under any prefix.
pub async fn staging_is_never_listed(store: &RegionStore) {
    let staged = stage(store, "conf/s/obj", b"staged").await;
    put(store, "conf/s/visible", b"visible").await;
    assert_eq!(store.list("").await.unwrap(), vec!["conf/s/visible"]);
    assert_eq!(store.list("conf/s").await.unwrap(), vec!["conf/s/visible"]);
    assert_eq!(store.list(".staging").await.unwrap(), Vec::<String>::new());
    assert_eq!(store.head(&staged.staging_key).await.unwrap(), Some(6));
}

/// Prefixes match whole segments; results are sorted.
pub async fn list_matches_whole_segments(store: &RegionStore) {
    for key in ["cross/rm-10/b", "cross/rm-1/b", "cross/rm-1/a", "other/x"] {
        put(store, key, key.as_bytes()).await;
    }
    assert_eq!(
        store.list("cross/rm-1").await.unwrap(),
        vec!["cross/rm-1/a", "cross/rm-1/b"]
    );
    assert_eq!(
        store.list("cross/rm-1/").await.unwrap(),
        vec!["cross/rm-1/a", "cross/rm-1/b"]
    );
    assert_eq!(store.list("cross").await.unwrap().len(), 3);
    assert_eq!(store.list("nothing").await.unwrap(), Vec::<String>::new());
}

/// Ranges are end-exclusive, clamped at the end, and refused when unsatisfiable.
pub async fn ranged_reads(store: &RegionStore) {
    let data = pattern(2 * 1024 * 1024 + 500, 2);
    put(store, "conf/r", &data).await;
    let len = data.len() as u64;
    let mib = 1024 * 1024;
    for r in [
        0..1,
        10..20,
        mib - 5..mib + 5,
        2 * mib - 1..2 * mib + 1,
        len - 1..len,
        0..len,
    ] {
        let (size, bytes) = read(store, "conf/r", Some(r.clone())).await.unwrap();
        assert_eq!(size, len);
        assert!(
            bytes == data[r.start as usize..r.end as usize],
            "range {r:?}"
        );
    }
    let (_, tail) = read(store, "conf/r", Some(len - 3..len + 100))
        .await
        .unwrap();
    assert_eq!(tail, data[data.len() - 3..], "end not clamped");
    for r in [len..len + 1, len + 10..len + 20, 5..5] {
        match read(store, "conf/r", Some(r.clone())).await {
            Err(StorageError::InvalidRange { .. }) => {}
            other => panic!("range {r:?}: {other:?}"),
        }
    }
}

/// Deleting removes the object; deleting again, or something absent, succeeds.
pub async fn delete_is_idempotent(store: &RegionStore) {
    put(store, "conf/d", b"x").await;
    store.delete("conf/d").await.unwrap();
    assert_eq!(store.head("conf/d").await.unwrap(), None);
    store.delete("conf/d").await.unwrap();
    store.delete("conf/never").await.unwrap();
    assert_eq!(store.list("").await.unwrap(), Vec::<String>::new());
}

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

/// Absent objects: `head` says `None`, reads say `NotFound`.
pub async fn missing_objects_are_not_found(store: &RegionStore) {
    assert_eq!(store.head("conf/none").await.unwrap(), None);
    assert!(matches!(
        store.get("conf/none", None).await,
        Err(StorageError::NotFound(_))
    ));
    assert!(matches!(
        store.get("conf/none", Some(0..1)).await,
        Err(StorageError::NotFound(_))
    ));
    assert!(matches!(
        store.checksum("conf/none").await,
        Err(StorageError::NotFound(_))
    ));
    let ghost = Staged {
        staging_key: ".staging/0-ghost/conf/none".into(),
        size: 1,
        sha256: sha256_hex(b"x"),
    };
    assert!(matches!(
        store.publish(&ghost, "conf/none").await,
        Err(StorageError::NotFound(_))
    ));
    assert_eq!(store.list("").await.unwrap(), Vec::<String>::new());
}

/// Writes to malformed or reserved keys are refused; reads of them find nothing.
pub async fn invalid_keys_are_refused(store: &RegionStore) {
    for key in ["", "../x", "a//b", "/abs", ".staging/x", "a/./b", "f#1"] {
        match store.upload_staged(key, &b"x"[..], &|_| {}).await {
            Err(StorageError::InvalidKey(k)) => assert_eq!(k, key),
            other => panic!("upload to {key:?}: {other:?}"),
        }
        assert_eq!(store.head(key).await.unwrap(), None);
    }
    let staged = stage(store, "conf/k", b"x").await;
    assert!(matches!(
        store.publish(&staged, ".staging/y").await,
        Err(StorageError::InvalidKey(_))
    ));
    assert!(matches!(
        store.publish(&staged, "../y").await,
        Err(StorageError::InvalidKey(_))
    ));
    let not_staged = Staged {
        staging_key: "conf/k".into(),
        ..staged
    };
    assert!(matches!(
        store.publish(&not_staged, "conf/k2").await,
        Err(StorageError::InvalidKey(_))
    ));
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
