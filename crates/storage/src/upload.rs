//! Staged uploads: a reader streamed into `.staging/<token>/<key>` as a multipart upload (an
//! empty one in one PUT), measured and hashed on the way.
//!
//! Memory is bounded by a few [`PART_SIZE`] parts whatever the object's size: one being read,
//! and at most [`PARTS_IN_FLIGHT`] being written. Hashing part *n* on the blocking pool overlaps
//! reading part *n + 1*, and writes overlap both.

use crate::{keys, RegionStore, Staged, StorageError, PART_SIZE};
use bytes::{Bytes, BytesMut};
use object_store::WriteMultipart;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt};

/// Parts handed to the backend and not yet written.
const PARTS_IN_FLIGHT: usize = 2;

impl RegionStore {
    /// Streams `reader` into a fresh staging object for `key` with a multipart upload, never
    /// holding the whole object in memory, computing its size and SHA-256 as it goes.
    /// `progress` is called with the bytes handed to the store so far, once per part.
    ///
    /// The staging object is readable ([`RegionStore::checksum`]) but not listed; make it
    /// visible with [`RegionStore::publish`]. If the upload fails, nothing is left behind; if the
    /// future is dropped, local stores remove the partial file and [`RegionStore::sweep_staging`]
    /// removes anything else.
    pub async fn upload_staged(
        &self,
        key: &str,
        reader: impl AsyncRead + Unpin + Send,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<Staged, StorageError> {
        keys::visible_path(key)?;
        let staging_key = keys::new_staging_key(key);
        let path = keys::path(&staging_key)?;
        let mut reader = reader;
        let first = read_part(&mut reader)
            .await
            .map_err(|e| StorageError::Io(format!("reading source for {staging_key}: {e}")))?;
        if first.is_empty() {
            return self.put_empty(staging_key, &path).await;
        }
        let upload = self
            .store
            .put_multipart(&path)
            .await
            .map_err(|e| StorageError::from_store(&staging_key, e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        match write_parts(&mut writer, first, reader, progress, &staging_key).await {
            Ok((size, sha256)) => {
                writer
                    .finish()
                    .await
                    .map_err(|e| StorageError::from_store(&staging_key, e))?;
                tracing::debug!(region = %self.region_id, key = %staging_key, size, "staged");
                Ok(Staged {
                    staging_key,
                    size,
                    sha256,
                })
            }
            Err(e) => {
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(region = %self.region_id, key = %staging_key, error = %abort, "aborting upload");
                }
                Err(e)
            }
        }
    }

    /// A new, empty staging file for `key` in a `file://` region, for a tool to write a large
    /// object into directly (its stdout, say): no pipe and no copy between the tool and the
    /// disk, which is what makes a physical backup as fast as the tool alone. Returns the
    /// staging key and the file (read-write, `0600`); `None` on other stores. The writer
    /// computes the [`Staged`] (size, SHA-256) to publish it with; a crash leaves a staging file
    /// the sweep removes.
    pub async fn local_staging_file(
        &self,
        key: &str,
    ) -> Result<Option<(String, std::fs::File)>, StorageError> {
        keys::visible_path(key)?;
        if !self.local_uploads {
            return Ok(None);
        }
        let staging_key = keys::new_staging_key(key);
        let Some(path) = self.local_file(&staging_key) else {
            return Ok(None);
        };
        let k = staging_key.clone();
        let file = tokio::task::spawn_blocking(move || crate::private::create_new_file(&path))
            .await
            .map_err(StorageError::from_join)?
            .map_err(|e| StorageError::from_io(&k, e))?;
        Ok(Some((staging_key, file)))
    }

    /// An empty object, in one PUT: a multipart upload needs a part, and some stores (Garage)
    /// refuse an empty one.
    async fn put_empty(
        &self,
        staging_key: String,
        path: &object_store::path::Path,
    ) -> Result<Staged, StorageError> {
        self.store
            .put(path, object_store::PutPayload::new())
            .await
            .map_err(|e| StorageError::from_store(&staging_key, e))?;
        Ok(Staged {
            staging_key,
            size: 0,
            sha256: hex::encode(Sha256::digest(b"")),
        })
    }
}

/// Copies `first`, then the rest of `reader`, into `writer` part by part; returns (size,
/// sha256 hex).
async fn write_parts(
    writer: &mut WriteMultipart,
    first: Bytes,
    mut reader: impl AsyncRead + Unpin + Send,
    progress: &(dyn Fn(u64) + Sync),
    staging_key: &str,
) -> Result<(u64, String), StorageError> {
    let mut size = 0u64;
    let mut hasher = Sha256::new();
    let mut hashing: Option<tokio::task::JoinHandle<Sha256>> = None;
    let mut first = Some(first);
    loop {
        let part = match first.take() {
            Some(part) => part,
            None => read_part(&mut reader)
                .await
                .map_err(|e| StorageError::Io(format!("reading source for {staging_key}: {e}")))?,
        };
        if let Some(job) = hashing.take() {
            hasher = job.await.map_err(StorageError::from_join)?;
        }
        if part.is_empty() {
            break;
        }
        size += part.len() as u64;
        let to_hash = part.clone();
        let mut h = hasher;
        hasher = Sha256::new(); // placeholder until the job hands the real one back
        hashing = Some(tokio::task::spawn_blocking(move || {
            h.update(&to_hash);
            h
        }));
        writer
            .wait_for_capacity(PARTS_IN_FLIGHT)
            .await
            .map_err(|e| StorageError::from_store(staging_key, e))?;
        writer.put(part);
        progress(size);
    }
    Ok((size, hex::encode(hasher.finalize())))
}

/// Reads up to [`PART_SIZE`] bytes; empty at end of input.
pub(crate) async fn read_part(reader: &mut (impl AsyncRead + Unpin)) -> std::io::Result<Bytes> {
    let mut buf = BytesMut::with_capacity(PART_SIZE);
    while buf.len() < PART_SIZE {
        if reader.read_buf(&mut buf).await? == 0 {
            break;
        }
    }
    Ok(buf.freeze())
}
