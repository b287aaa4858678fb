//! The one conformance suite every storage backend runs (local directories, memory, and an
//! S3-compatible server on loopback: [`s3`]): each `pub async fn` takes a fresh, empty [`RegionStore`] and panics on
//! the first broken promise. `tests/conformance.rs` runs every test of [`conformance_suite!`](crate::conformance_suite) on each backend; a backend that
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
use futures::TryStreamExt;
use sha2::{Digest, Sha256};

/// Calls `$then!` with the name of every test of the suite, in order: a backend's test file
/// makes one test of each (`tests/conformance.rs`), so none can be left out.
#[macro_export]
macro_rules! conformance_suite {
    ($then:ident) => {
        $then!(
            upload_checksum_publish,
            empty_object,
            staging_is_never_listed,
            list_matches_whole_segments,
            ranged_reads,
            delete_is_idempotent,
            republish_same_bytes_succeeds,
            republish_different_bytes_fails,
            verify_reports_mismatches,
            sweep_removes_only_stale_staging,
            missing_objects_are_not_found,
            invalid_keys_are_refused,
            large_upload_streams,
        );
    };
}

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
