//! The region side: segments and whole files staged, read back, published, then recorded.

use bytes::Bytes;
use futures::{stream, StreamExt, TryStreamExt};
use std::collections::HashSet;
use std::sync::Arc;
use xbak_catalog::Catalog;
use xbak_domain::binlog::BINLOG_MAGIC;
use xbak_domain::naming::{log_file_key, log_segment_key, log_segments_prefix};
use xbak_domain::{BinlogProgress, LogFileState, LogSegment};
use xbak_storage::{Checksum, RegionStore, StorageError};

use super::BinlogError;

/// Where one claimed stream writes: the instance's region and the catalog, under the lease.
pub(super) struct Sink {
    pub catalog: Arc<dyn Catalog>,
    pub store: RegionStore,
    pub instance_id: i64,
    pub db_instance_id: String,
    pub lease_token: String,
}

/// Stages what `reader` yields for `key` in `store`, reads it back against `expected` (default:
/// the checksum taken while staging), publishes it; returns its checksum.
pub(super) async fn publish_verified(
    store: &RegionStore,
    key: &str,
    reader: impl tokio::io::AsyncRead + Unpin + Send,
    expected: Option<Checksum>,
) -> Result<Checksum, BinlogError> {
    let staged = store.upload_staged(key, reader, &|_| {}).await?;
    let expected = expected.unwrap_or_else(|| staged.checksum());
    store.verify(&staged.staging_key, &expected).await?;
    store.publish(&staged, key).await?;
    Ok(expected)
}

impl Sink {
    async fn put(
        &self,
        key: &str,
        reader: impl tokio::io::AsyncRead + Unpin + Send,
    ) -> Result<Checksum, BinlogError> {
        publish_verified(&self.store, key, reader, None).await
    }

    /// Publishes bytes `[offset, offset + bytes.len())` of open file `file` as a segment.
    pub async fn segment(
        &self,
        file: &str,
        offset: u64,
        bytes: &[u8],
    ) -> Result<LogSegment, BinlogError> {
        let end = offset + bytes.len() as u64;
        let key = log_segment_key(&self.db_instance_id, file, offset, end);
        let sum = self.put(&key, bytes).await?;
        Ok(LogSegment {
            offset,
            size: sum.size,
            sha256: sum.sha256,
            object_key: key,
        })
    }

    /// Publishes file `file` whole: the magic, its stored `segments` (read back from the
    /// region) and `tail`. Returns its key, checksum and CRC-64/XZ.
    pub async fn whole_file(
        &self,
        file: &str,
        segments: &[LogSegment],
        tail: &[u8],
    ) -> Result<(String, Checksum, u64), BinlogError> {
        let store = &self.store;
        let stored = stream::iter(segments.iter().map(Ok::<_, StorageError>))
            .and_then(|seg| async move { Ok(store.get(&seg.object_key, None).await?.1) })
            .try_flatten();
        // CRC-64/XZ, the CRC-64 OSS reports: checked against its check value in the tests below.
        let crc64 = std::sync::Mutex::new(crc64fast::Digest::new());
        let bytes = stream::iter([Ok(Bytes::from_static(&BINLOG_MAGIC))])
            .chain(stored)
            .chain(stream::iter([Ok(Bytes::copy_from_slice(tail))]))
            .inspect_ok(|b| crc64.lock().expect("crc64 digest").write(b))
            .map_err(std::io::Error::other)
            .boxed();
        let key = log_file_key(&self.db_instance_id, file);
        let sum = self
            .put(&key, tokio_util::io::StreamReader::new(bytes))
            .await?;
        let crc64 = crc64.into_inner().expect("crc64 digest").sum64();
        Ok((key, sum, crc64))
    }

    /// Deletes every segment object of closed file `file`: those the catalog named (it dropped
    /// them when it recorded the file closed) and any a killed streamer published without
    /// recording. Returns how many.
    pub async fn drop_segments(&self, file: &str) -> Result<usize, BinlogError> {
        drop_segments(&self.store, &self.db_instance_id, file).await
    }

    /// Records `progress` under the lease.
    pub async fn record(&self, progress: &BinlogProgress) -> Result<(), BinlogError> {
        self.catalog
            .advance_binlog_stream(
                self.instance_id,
                &self.lease_token,
                progress,
                chrono::Utc::now(),
            )
            .await?;
        Ok(())
    }
}

/// Deletes every segment object of file `file` of `db_instance_id` in `store`; returns how many.
pub(super) async fn drop_segments(
    store: &RegionStore,
    db_instance_id: &str,
    file: &str,
) -> Result<usize, BinlogError> {
    let prefix = log_segments_prefix(&log_file_key(db_instance_id, file));
    let keys = store.list(&prefix).await?;
    for key in &keys {
        store.delete(key).await?;
    }
    Ok(keys.len())
}

/// Deletes the segment objects, in `store`'s region, of the instance's files the catalog records
/// closed there: a streamer or shipper killed between recording a file closed and deleting its
/// segments leaves them (unlisted objects nothing reads). Run when a stream is claimed;
/// returns how many.
pub(super) async fn sweep_closed_segments(
    catalog: &dyn Catalog,
    store: &RegionStore,
    instance_id: i64,
    db_instance_id: &str,
) -> Result<usize, BinlogError> {
    let closed: HashSet<String> = catalog
        .log_files(instance_id)
        .await?
        .into_iter()
        .filter(|f| f.region_id == store.region_id() && f.state == LogFileState::Closed)
        .map(|f| f.file_name)
        .collect();
    let prefix = log_file_key(db_instance_id, "");
    let mut swept = 0;
    for key in store.list(&prefix).await? {
        let file = key
            .strip_prefix(&prefix)
            .and_then(|rest| rest.split_once(".segments/"))
            .map(|(file, _)| file);
        if file.is_some_and(|f| closed.contains(f)) {
            store.delete(&key).await?;
            swept += 1;
        }
    }
    Ok(swept)
}

#[cfg(test)]
mod tests {
    #[test]
    fn crc64_is_the_xz_variant_oss_reports() {
        let mut d = crc64fast::Digest::new();
        d.write(b"123456789");
        assert_eq!(d.sum64(), 0x995d_c9bb_df19_39fa);
    }
}
