//! One attempt of a download: a GET of the link from the end of the `.part` file (HTTP
//! `Range: bytes=N-`), streamed to disk by a writer thread while a hasher thread continues the
//! checksums, so hashing overlaps the disk writes and the network.

use std::io::{Seek, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;

use super::verify::Checksums;
use super::DownloadEvent;
use crate::checksum::Hashes;
use crate::client::{api_error, header};
use crate::error::SdkError;

/// What every attempt of one download shares.
pub(super) struct Transfer<'a> {
    /// The client without an overall deadline.
    pub http: &'a reqwest::Client,
    /// The `.part` file.
    pub part: &'a Path,
    /// `CrossBackupSetSize`.
    pub total: u64,
    /// Bandwidth cap in bytes per second.
    pub max_bytes_per_sec: Option<u64>,
}

impl Transfer<'_> {
    /// One GET of `link` from `offset`, appended to the `.part`. The file's length afterwards
    /// is what was written, even after an error, so the next attempt continues from there.
    pub async fn attempt(
        &self,
        link: &str,
        offset: u64,
        checksums: &mut Checksums,
        on_event: &mut (dyn FnMut(DownloadEvent) + Send),
    ) -> Result<(), SdkError> {
        let mut req = self.http.get(link);
        if offset > 0 {
            req = req.header("range", format!("bytes={offset}-"));
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        if !matches!(status, 200 | 206 | 416) {
            let headers = resp.headers().clone();
            let body = resp.bytes().await.unwrap_or_default();
            return Err(api_error(status, &headers, &body));
        }
        let Some(offset) = self.start_offset(&resp, offset)? else {
            return Ok(());
        };
        if let Some(crc) =
            header(resp.headers(), "x-oss-hash-crc64ecma").and_then(|v| v.parse().ok())
        {
            checksums.expect_crc64(crc);
        }
        let prefix = checksums.take_prefix(self.part, offset).await?;
        let (len, hashes, result) = self.stream(resp, offset, prefix, on_event).await?;
        checksums.keep(hashes, len);
        result
    }

    /// Where the bytes of a 200, 206 or 416 answer go in the `.part`: `Some(offset)` to append
    /// there (0 when the server ignored `Range`: the file starts over), `None` when there is
    /// nothing to fetch (416: the `.part` is complete, or cut back to empty when longer than the
    /// object).
    fn start_offset(&self, resp: &reqwest::Response, offset: u64) -> Result<Option<u64>, SdkError> {
        let total = self.total;
        match resp.status().as_u16() {
            206 => {
                let range = header(resp.headers(), "content-range").unwrap_or_default();
                let (start, of) = parse_content_range(&range).ok_or_else(|| SdkError::Decode {
                    message: format!("bad Content-Range {range:?}"),
                })?;
                if start != offset || of != total {
                    return Err(SdkError::Download(format!(
                        "asked for bytes {offset}- of {total}, got {range:?}"
                    )));
                }
                Ok(Some(offset))
            }
            416 => {
                // Past the end: the .part is longer than the object or already complete.
                if offset != total {
                    std::fs::File::create(self.part)?;
                }
                Ok(None)
            }
            _ => {
                if offset > 0 {
                    // The server ignored Range: start over.
                    std::fs::File::create(self.part)?;
                }
                match resp.content_length() {
                    Some(len) if len != total => Err(SdkError::Download(format!(
                        "the link serves {len} bytes, the listing says {total}"
                    ))),
                    _ => Ok(Some(0)),
                }
            }
        }
    }

    /// Streams the body into the `.part` at `offset`, continuing `prefix` (the checksums of the
    /// bytes before it). Returns the file's length as written, the checksums so far and how
    /// the stream ended; `Err` only when a thread could not be joined.
    async fn stream(
        &self,
        resp: reqwest::Response,
        offset: u64,
        prefix: Hashes,
        on_event: &mut (dyn FnMut(DownloadEvent) + Send),
    ) -> Result<(u64, Hashes, Result<(), SdkError>), SdkError> {
        let total = self.total;
        let written = Arc::new(AtomicU64::new(offset));
        let (tx, rx) = std::sync::mpsc::sync_channel::<bytes::Bytes>(32);
        let (htx, hrx) = std::sync::mpsc::sync_channel::<bytes::Bytes>(32);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.part)?;
        let writer = {
            let written = written.clone();
            std::thread::spawn(move || write_chunks(file, offset, rx, &written))
        };
        let hasher = std::thread::spawn(move || {
            let mut state = prefix;
            for chunk in hrx {
                state.update(&chunk);
            }
            state
        });
        let mut stream = resp.bytes_stream();
        let mut received = offset;
        let began = tokio::time::Instant::now();
        let mut stream_err = None;
        while let Some(chunk) = stream.next().await {
            let bytes = match chunk {
                Ok(bytes) => bytes,
                Err(e) => {
                    stream_err = Some(SdkError::Transport(e));
                    break;
                }
            };
            received += bytes.len() as u64;
            if received > total {
                stream_err = Some(SdkError::Download(format!(
                    "the link serves more than the listed {total} bytes"
                )));
                break;
            }
            if tx.send(bytes.clone()).is_err() || htx.send(bytes).is_err() {
                break; // the writer failed; its error is reported below
            }
            on_event(DownloadEvent::Progress {
                done: written.load(Ordering::Relaxed),
            });
            if let Some(rate) = self.max_bytes_per_sec.filter(|r| *r > 0) {
                // Sleep until the bytes of this attempt fit the rate.
                let due = Duration::from_secs_f64((received - offset) as f64 / rate as f64);
                tokio::time::sleep_until(began + due).await;
            }
        }
        drop(tx);
        drop(htx);
        let joined = tokio::task::spawn_blocking(move || (writer.join(), hasher.join()))
            .await
            .map_err(|e| SdkError::Io(std::io::Error::other(e)))?;
        let (Ok((len, io)), Ok(hashes)) = joined else {
            return Err(SdkError::Io(std::io::Error::other(
                "download thread panicked",
            )));
        };
        on_event(DownloadEvent::Progress { done: len });
        let result = match (io, stream_err) {
            (Err(e), _) => Err(SdkError::Io(e)),
            (Ok(()), Some(e)) => Err(e),
            (Ok(()), None) => Ok(()),
        };
        Ok((len, hashes, result))
    }
}

/// The writer thread: appends chunks at `offset`, then fsyncs; returns the file's length as
/// written (even after an error, so a retry can continue from there) and the first error.
fn write_chunks(
    file: std::fs::File,
    offset: u64,
    rx: std::sync::mpsc::Receiver<bytes::Bytes>,
    written: &AtomicU64,
) -> (u64, std::io::Result<()>) {
    let mut len = offset;
    let run = || -> std::io::Result<()> {
        let mut file = file;
        file.set_len(offset)?;
        file.seek(std::io::SeekFrom::Start(offset))?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
        for chunk in rx {
            out.write_all(&chunk)?;
            len += chunk.len() as u64;
            written.store(len, Ordering::Relaxed);
        }
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_data()
    };
    let result = run();
    (len, result)
}

/// `bytes START-END/TOTAL` → (START, TOTAL).
fn parse_content_range(v: &str) -> Option<(u64, u64)> {
    let rest = v.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (start, _) = range.split_once('-')?;
    Some((start.trim().parse().ok()?, total.trim().parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::parse_content_range;

    #[test]
    fn content_range() {
        assert_eq!(parse_content_range("bytes 10-99/100"), Some((10, 100)));
        assert_eq!(parse_content_range("bytes */100"), None);
    }
}
