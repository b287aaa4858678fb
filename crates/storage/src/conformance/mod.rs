//! The one conformance suite every storage backend runs (local directories, memory, and an
//! S3-compatible server on loopback: [`s3`]): each `pub async fn` takes a fresh, empty [`RegionStore`] and panics on
//! the first broken promise. `tests/conformance.rs` runs [`ALL`] on each backend; a backend that
//! cannot be reached fails its run, it is not skipped.
//!
//! [`objects`] holds the plain object operations, [`staging`] the staged-write promises
//! (publish, verification, sweeping, streaming), [`resumable`] the resumable-upload promises of
//! the backends that have them; [`data`] makes test bytes.

pub mod data;
pub mod objects;
pub mod resumable;
pub mod s3;
pub mod staging;

pub use data::{pattern, PatternReader};
pub use objects::*;
pub use staging::*;

use crate::{RegionStore, Staged, StorageError};
use futures::future::BoxFuture;
use futures::TryStreamExt;
use sha2::{Digest, Sha256};

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

/// Lower-case hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

pub(crate) async fn stage(store: &RegionStore, key: &str, data: &[u8]) -> Staged {
    store
        .upload_staged(key, data, &|_| {})
        .await
        .unwrap_or_else(|e| panic!("staging {key}: {e}"))
}

pub(crate) async fn put(store: &RegionStore, key: &str, data: &[u8]) {
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
