//! Reading objects back: byte streams (whole or ranged) and checksums.
//!
//! Local files are read with large positional reads on the blocking pool, a couple of chunks
//! ahead, instead of `object_store`'s 8 KiB-chunk stream: the copy path reads every byte twice
//! (copy, then verification), so this is where its speed is decided.

use crate::{keys, Checksum, RegionStore, StorageError};
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use object_store::{GetOptions, GetRange, GetResultPayload};
use sha2::{Digest, Sha256};
use std::ops::Range;
use std::sync::Arc;

/// Chunk of a streamed local read: what one blocking read returns and one stream item holds.
const STREAM_CHUNK: usize = 1024 * 1024;
/// Chunks read ahead of the consumer on a streamed local read.
const READ_AHEAD: usize = 2;
/// Chunk of a checksum read-back: one blocking read-and-hash step.
const CHECKSUM_CHUNK: usize = 8 * 1024 * 1024;

impl RegionStore {
    /// The whole of a small object (a manifest), `None` when it is not there. One over `max`
    /// bytes is not read: [`StorageError::Unsupported`].
    pub async fn read_small(&self, key: &str, max: u64) -> Result<Option<Bytes>, StorageError> {
        let (size, stream) = match self.get(key, None).await {
            Ok(found) => found,
            Err(StorageError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        if size > max {
            return Err(StorageError::Unsupported(format!(
                "{key:?} is {size} bytes, more than the {max} read whole"
            )));
        }
        let bytes = stream
            .try_fold(
                bytes::BytesMut::with_capacity(size as usize),
                |mut all, chunk| async move {
                    all.extend_from_slice(&chunk);
                    Ok(all)
                },
            )
            .await?;
        Ok(Some(bytes.freeze()))
    }

    /// The bytes of an object (visible or staging), or of `range` of it, as a stream; with the
    /// object's total size. `range` is end-exclusive, its end is clamped to the object's size,
    /// and an empty range or one starting at or past the end is [`StorageError::InvalidRange`].
    pub async fn get(
        &self,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<(u64, BoxStream<'static, Result<Bytes, StorageError>>), StorageError> {
        let Ok(path) = keys::path(key) else {
            return Err(StorageError::NotFound(key.to_owned()));
        };
        if let Some(r) = &range {
            if r.start >= r.end {
                let size = self
                    .head(key)
                    .await?
                    .ok_or_else(|| StorageError::NotFound(key.to_owned()))?;
                return Err(StorageError::InvalidRange {
                    start: r.start,
                    end: r.end,
                    size,
                });
            }
        }
        let options = GetOptions {
            range: range.clone().map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let result = match self.store.get_opts(&path, options).await {
            Ok(result) => result,
            Err(e) => {
                let e = StorageError::from_store(key, e);
                // Backends report an unsatisfiable range in their own words: tell it apart.
                if let (Some(r), StorageError::Io(_)) = (&range, &e) {
                    if let Some(size) = self.head(key).await? {
                        if r.start >= size {
                            return Err(StorageError::InvalidRange {
                                start: r.start,
                                end: r.end,
                                size,
                            });
                        }
                    }
                }
                return Err(e);
            }
        };
        let size = result.meta.size;
        let range = result.range;
        let key = key.to_owned();
        let stream = match result.payload {
            GetResultPayload::File(file, _) => file_stream(Arc::new(file), key, range),
            GetResultPayload::Stream(s) => {
                // The backend applied the range (or there was none).
                s.map_err(move |e| StorageError::from_store(&key, e))
                    .boxed()
            }
        };
        Ok((size, stream))
    }

    /// Reads an object (visible or staging) back and returns its size and SHA-256: the
    /// verification step of every copy.
    pub async fn checksum(&self, key: &str) -> Result<Checksum, StorageError> {
        let Ok(path) = keys::path(key) else {
            return Err(StorageError::NotFound(key.to_owned()));
        };
        let result = self
            .store
            .get_opts(&path, GetOptions::default())
            .await
            .map_err(|e| StorageError::from_store(key, e))?;
        let size = result.meta.size;
        let (hasher, read) = match result.payload {
            GetResultPayload::File(file, _) => hash_file(Arc::new(file), key, size).await?,
            GetResultPayload::Stream(mut s) => {
                let (mut hasher, mut read) = (Sha256::new(), 0u64);
                while let Some(chunk) = s
                    .try_next()
                    .await
                    .map_err(|e| StorageError::from_store(key, e))?
                {
                    read += chunk.len() as u64;
                    hasher.update(&chunk);
                }
                (hasher, read)
            }
        };
        if read != size {
            return Err(StorageError::Io(format!(
                "{key}: read {read} bytes of {size}"
            )));
        }
        Ok(Checksum {
            size,
            sha256: hex::encode(hasher.finalize()),
        })
    }
}

/// `range` of a local file as a stream of [`STREAM_CHUNK`]-sized positional reads, each on the
/// blocking pool, [`READ_AHEAD`] in flight. Dropping the stream stops the reads.
fn file_stream(
    file: Arc<std::fs::File>,
    key: String,
    range: Range<u64>,
) -> BoxStream<'static, Result<Bytes, StorageError>> {
    let step = STREAM_CHUNK as u64;
    let offsets = (range.start..range.end).step_by(STREAM_CHUNK);
    futures::stream::iter(offsets)
        .map(move |offset| {
            let (file, key) = (Arc::clone(&file), key.clone());
            let len = step.min(range.end - offset) as usize;
            async move {
                tokio::task::spawn_blocking(move || {
                    read_exact_at(&file, offset, len)
                        .map(Bytes::from)
                        .map_err(|e| StorageError::from_io(&key, e))
                })
                .await
                .map_err(StorageError::from_join)?
            }
        })
        .buffered(READ_AHEAD)
        .boxed()
}

/// SHA-256 of a whole local file, [`CHECKSUM_CHUNK`] per blocking step so that dropping the
/// future (a lost lease) stops the work within one step.
async fn hash_file(
    file: Arc<std::fs::File>,
    key: &str,
    size: u64,
) -> Result<(Sha256, u64), StorageError> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHECKSUM_CHUNK.min(size as usize)];
    let mut offset = 0u64;
    while offset < size {
        let len = CHECKSUM_CHUNK.min((size - offset) as usize);
        let file = Arc::clone(&file);
        let (h, b, result) = tokio::task::spawn_blocking(move || {
            let result = read_exact_at_into(&file, offset, &mut buf[..len]);
            if result.is_ok() {
                hasher.update(&buf[..len]);
            }
            (hasher, buf, result)
        })
        .await
        .map_err(StorageError::from_join)?;
        result.map_err(|e| StorageError::from_io(key, e))?;
        (hasher, buf) = (h, b);
        offset += len as u64;
    }
    Ok((hasher, offset))
}

fn read_exact_at(file: &std::fs::File, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    read_exact_at_into(file, offset, &mut buf)?;
    Ok(buf)
}

#[cfg(unix)]
fn read_exact_at_into(file: &std::fs::File, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn read_exact_at_into(
    file: &std::fs::File,
    mut offset: u64,
    mut buf: &mut [u8],
) -> std::io::Result<()> {
    while !buf.is_empty() {
        match std::os::windows::fs::FileExt::seek_read(file, buf, offset)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}
