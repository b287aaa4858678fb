//! Where restores read sets from: a [`SetFetcher`] streams one object of one region.
//! [`RegionFetcher`] reads the region's store directly; the CLI adds one that goes through the
//! server's signed download links. [`HashingReader`] checks what went by.

use super::RestoreError;
use futures::TryStreamExt;
use sha2::{Digest, Sha256};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, ReadBuf};
use xbak_catalog::Catalog;
use xbak_storage::{RegionStore, StorageError};

/// An object's bytes.
pub type SetReader = Box<dyn AsyncRead + Send + Unpin>;

/// Streams objects out of regions.
#[async_trait::async_trait]
pub trait SetFetcher: Send + Sync {
    /// The bytes of `key` in `region_id`, from the start.
    async fn open(&self, region_id: &str, key: &str) -> Result<SetReader, RestoreError> {
        self.open_if_present(region_id, key)
            .await?
            .ok_or_else(|| RestoreError::Fetch {
                key: key.to_owned(),
                message: format!("not in {region_id}"),
            })
    }
    /// The bytes of `key` in `region_id`, from the start; `None` when it is not there.
    async fn open_if_present(
        &self,
        region_id: &str,
        key: &str,
    ) -> Result<Option<SetReader>, RestoreError>;
    /// Says how bytes are fetched (`region store`, `download link via http://…`), for reports.
    fn describe(&self) -> String;
}

/// Reads the region's store directly (its URL from the catalog).
pub struct RegionFetcher {
    catalog: Arc<dyn Catalog>,
}

impl RegionFetcher {
    pub fn new(catalog: Arc<dyn Catalog>) -> Self {
        RegionFetcher { catalog }
    }
}

#[async_trait::async_trait]
impl SetFetcher for RegionFetcher {
    async fn open_if_present(
        &self,
        region_id: &str,
        key: &str,
    ) -> Result<Option<SetReader>, RestoreError> {
        let region = self
            .catalog
            .region(region_id)
            .await?
            .ok_or_else(|| RestoreError::NotFound(format!("no region {region_id:?}")))?;
        let store = RegionStore::open(&region.region_id, &region.store_url)?;
        let stream = match store.get(key, None).await {
            Ok((_, stream)) => stream,
            Err(StorageError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let stream = stream.map_err(std::io::Error::other);
        Ok(Some(Box::new(tokio_util::io::StreamReader::new(stream))))
    }

    fn describe(&self) -> String {
        "the region's store".into()
    }
}

/// Counts and hashes the bytes read through it.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    read: Arc<AtomicU64>,
}

impl<R> HashingReader<R> {
    /// `read` is bumped as bytes go by (for progress).
    pub fn new(inner: R, read: Arc<AtomicU64>) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            read,
        }
    }

    /// Bytes read and their lower-case hex SHA-256.
    pub fn finish(self) -> (u64, String) {
        (
            self.read.load(Ordering::Relaxed),
            hex::encode(self.hasher.finalize()),
        )
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for HashingReader<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &poll {
            let fresh = &buf.filled()[before..];
            if !fresh.is_empty() {
                let n = fresh.len() as u64;
                self.hasher.update(fresh);
                self.read.fetch_add(n, Ordering::Relaxed);
            }
        }
        poll
    }
}

/// Fails unless what was read is the recorded set.
pub(crate) fn check_set(
    key: &str,
    (size, sha256): (u64, String),
    expected_size: i64,
    expected_sha256: &str,
) -> Result<(), RestoreError> {
    if size as i64 != expected_size || !sha256.eq_ignore_ascii_case(expected_sha256) {
        return Err(RestoreError::Integrity(format!(
            "{key}: read {size} bytes with sha256 {sha256}, the catalog recorded {expected_size} bytes with sha256 {expected_sha256}"
        )));
    }
    Ok(())
}
