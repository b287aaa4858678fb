//! Whether an S3-compatible store really refuses to overwrite on a conditional copy.
//!
//! Publishing relies on `copy_if_not_exists` (a one-part multipart copy completed with
//! `If-None-Match: *`, or a store's own header). AWS S3, OSS and moto honour it. Some stores
//! accept the request and ignore the condition: Garage has no conditional writes at all (it is
//! a CRDT store without consensus), so a "conditional" copy onto a published key silently
//! overwrites it. A region finds out once, before its first publish, by copying a probe object
//! twice in its own staging area: refused the second time means honoured; accepted means
//! ignored, and the region then publishes with HEAD then copy, as `copy_if_not_exists=none`.
//!
//! The probe object is [`PROBE_SIZE`] bytes, S3's minimum part size: Garage (unlike AWS S3)
//! refuses a multipart copy from a smaller source even as the only part, so a smaller probe
//! would fail there before it could tell anything.

use crate::{keys, RegionStore, StorageError};
use object_store::{ObjectStore, PutPayload};

/// Size of the probe object: S3's minimum part size (5 MiB).
const PROBE_SIZE: usize = 5 * 1024 * 1024;

impl RegionStore {
    /// Whether [`RegionStore::publish`] refuses to overwrite through a conditional request the
    /// store honours (local and in-memory regions, AWS S3, OSS, moto), rather than by HEAD then
    /// copy (`copy_if_not_exists=none`, and stores that ignore the condition, such as Garage).
    /// S3 regions probe the store on the first call (a few requests in the region's staging
    /// area) and remember the answer; a probe that fails is retried on the next call.
    pub async fn publishes_conditionally(&self) -> Result<bool, StorageError> {
        let Some(remote) = &self.s3 else {
            return Ok(true);
        };
        if !remote.conditional_copy {
            return Ok(false);
        }
        remote
            .honours_conditions
            .get_or_try_init(|| probe(&*self.store, &self.region_id))
            .await
            .copied()
    }
}

/// Copies a probe object twice with `copy_if_not_exists`: whether the second copy is refused.
async fn probe(store: &dyn ObjectStore, region_id: &str) -> Result<bool, StorageError> {
    let from_key = keys::new_staging_key("conditional-copy-probe");
    let to_key = format!("{from_key}.copy");
    let (from, to) = (keys::path(&from_key)?, keys::path(&to_key)?);
    let result = async {
        store
            .put(&from, PutPayload::from(vec![0u8; PROBE_SIZE]))
            .await?;
        store.copy_if_not_exists(&from, &to).await?;
        store.copy_if_not_exists(&from, &to).await
    }
    .await;
    for path in [&from, &to] {
        if let Err(e) = store.delete(path).await {
            tracing::warn!(region = region_id, key = %path, error = %e, "cannot delete probe object");
        }
    }
    match result {
        Err(object_store::Error::AlreadyExists { .. }) => Ok(true),
        Ok(()) => {
            tracing::warn!(
                region = region_id,
                "the store ignores conditional copies: publishing with HEAD then copy"
            );
            Ok(false)
        }
        Err(object_store::Error::NotSupported { .. } | object_store::Error::NotImplemented) => {
            Ok(false)
        }
        Err(e) => Err(StorageError::from_store(&to_key, e)),
    }
}
