//! Downloading a cross-region backup set to a file: resumable, renewing expired links,
//! verified at the end.
//!
//! * Bytes go to `DEST.part`; `DEST.part.json` records which backup they belong to (instance,
//!   region, `CrossBackupId`, file name, size) and the last link. A later run with the same
//!   backup and destination continues from the end of `DEST.part` with `Range: bytes=N-`; any
//!   other `.part` is discarded. A break in the middle of a run (timeout, reset, 5xx) resumes
//!   the same way, after a backoff, up to `max_retries` times without progress.
//! * A link the object store refuses as expired (403 `AccessDenied` "Request has expired.") is
//!   replaced by a fresh one: the backup is described again by its `CrossBackupId`.
//! * Verification: the size must equal `CrossBackupSetSize` (and the `Content-Range` total)
//!   always. SHA-256 is computed on the fly (the prefix of a resumed file is read back first)
//!   and compared with `expected_sha256` when the caller has one (xbak's listing carries no
//!   checksum; `xbak backup register` prints the SHA-256 it stored). When the object store sends
//!   `x-oss-hash-crc64ecma` (Alibaba OSS does), CRC-64 is checked too. A mismatch deletes the
//!   `.part` file; the destination appears (by rename) only after every check passed.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::checksum::Hashes;
use crate::client::{api_error, header, Client};
use crate::describe_cross_region_backups::{
    CrossRegionBackupItem, DescribeCrossRegionBackupsRequest,
};
use crate::error::SdkError;

/// Which backup to download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadRequest {
    /// `DBInstanceId`.
    pub db_instance_id: String,
    /// The instance's `RegionId` (`None` = the client's).
    pub region_id: Option<String>,
    /// `CrossBackupId`.
    pub cross_backup_id: i64,
}

/// How to download.
#[derive(Debug, Clone)]
pub struct DownloadOptions {
    /// Destination file.
    pub dest: PathBuf,
    /// Continue a matching `.part` file (default true).
    pub resume: bool,
    /// Replace an existing destination (default false: refuse).
    pub overwrite: bool,
    /// Lower-case hex SHA-256 the bytes must have.
    pub expected_sha256: Option<String>,
    /// Fresh links to ask for when one expires (default 3).
    pub max_renewals: u32,
    /// Consecutive failed attempts without progress before giving up (default 5).
    pub max_retries: u32,
    /// Backoff after a failed attempt: doubles from this, capped at 8× (default 500 ms).
    pub retry_delay: Duration,
    /// The listing entry, when the caller already has it (saves a describe call; its link
    /// is preferred over the one saved with a `.part`).
    pub item: Option<CrossRegionBackupItem>,
    /// Bandwidth cap in bytes per second (`None` = as fast as possible).
    pub max_bytes_per_sec: Option<u64>,
}

impl DownloadOptions {
    /// Defaults for `dest`.
    pub fn new(dest: impl Into<PathBuf>) -> DownloadOptions {
        DownloadOptions {
            dest: dest.into(),
            resume: true,
            overwrite: false,
            expected_sha256: None,
            max_renewals: 3,
            max_retries: 5,
            retry_delay: Duration::from_millis(500),
            item: None,
            max_bytes_per_sec: None,
        }
    }
}

/// What happens during a download, for progress displays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownloadEvent {
    /// The size is known; `offset` bytes were already on disk.
    Started {
        /// `CrossBackupSetSize`.
        total: u64,
        /// Bytes kept from an earlier attempt.
        offset: u64,
    },
    /// Bytes on disk so far.
    Progress {
        /// Bytes done.
        done: u64,
    },
    /// The link had expired; a fresh one was obtained.
    LinkRenewed,
    /// An attempt failed; the next one continues from `offset`.
    Retrying {
        /// Bytes kept.
        offset: u64,
        /// Why.
        error: String,
    },
    /// All bytes are on disk; checking them.
    Verifying,
}

/// A finished download.
#[derive(Debug, Clone)]
pub struct DownloadOutcome {
    /// Where the file is.
    pub path: PathBuf,
    /// Bytes.
    pub size: u64,
    /// Lower-case hex SHA-256 of the file.
    pub sha256: String,
    /// Bytes that were already on disk when this run started.
    pub resumed_from: u64,
    /// Links renewed.
    pub links_renewed: u32,
    /// `x-oss-hash-crc64ecma` was sent and matched.
    pub crc64_verified: bool,
    /// `expected_sha256` was given and matched.
    pub sha256_verified: bool,
    /// The listing entry of the backup.
    pub item: CrossRegionBackupItem,
}

/// `DEST.part.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
struct PartMeta {
    #[serde(rename = "DBInstanceId")]
    db_instance_id: String,
    region_id: Option<String>,
    item: CrossRegionBackupItem,
}

/// `path` + `suffix` (`x.tar.gz` → `x.tar.gz.part`).
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

impl Client {
    /// The listing entry of one cross-region backup (described by its `CrossBackupId`).
    pub async fn cross_region_backup(
        &self,
        req: &DownloadRequest,
    ) -> Result<CrossRegionBackupItem, SdkError> {
        let mut r = DescribeCrossRegionBackupsRequest::new(&req.db_instance_id)
            .cross_backup_id(req.cross_backup_id);
        r.region_id = req.region_id.clone();
        let page = self.describe_cross_region_backups(&r).await?;
        page.items
            .into_iter()
            .find(|i| i.cross_backup_id == req.cross_backup_id)
            .ok_or_else(|| {
                SdkError::Download(format!(
                    "instance {} has no cross-region backup {}",
                    req.db_instance_id, req.cross_backup_id
                ))
            })
    }

    /// Downloads one cross-region backup set (see the module docs). `on_event` is called from
    /// the calling task.
    pub async fn download_cross_region_backup(
        &self,
        req: &DownloadRequest,
        opts: &DownloadOptions,
        on_event: &mut (dyn FnMut(DownloadEvent) + Send),
    ) -> Result<DownloadOutcome, SdkError> {
        if !opts.overwrite && opts.dest.exists() {
            return Err(SdkError::Download(format!(
                "{} already exists (overwrite it explicitly)",
                opts.dest.display()
            )));
        }
        let part = with_suffix(&opts.dest, ".part");
        let meta_path = with_suffix(&opts.dest, ".part.json");
        let saved = if opts.resume {
            read_meta(&meta_path).filter(|m| {
                m.db_instance_id == req.db_instance_id
                    && m.region_id == req.region_id
                    && m.item.cross_backup_id == req.cross_backup_id
            })
        } else {
            None
        };
        let given = opts
            .item
            .clone()
            .filter(|i| i.cross_backup_id == req.cross_backup_id);
        let mut item = match (saved, given) {
            (Some(m), given) if part.exists() => given.unwrap_or(m.item),
            (_, given) => {
                remove_if_exists(&part)?;
                let item = match given {
                    Some(i) => i,
                    None => self.cross_region_backup(req).await?,
                };
                check_downloadable(&item)?;
                item
            }
        };
        let write_meta = |item: &CrossRegionBackupItem| {
            let meta = PartMeta {
                db_instance_id: req.db_instance_id.clone(),
                region_id: req.region_id.clone(),
                item: item.clone(),
            };
            std::fs::write(
                &meta_path,
                serde_json::to_vec_pretty(&meta).expect("serializable"),
            )
        };
        write_meta(&item)?;
        let total = u64::try_from(item.cross_backup_set_size).unwrap_or(0);
        let resumed_from = file_len(&part)?.min(total);
        on_event(DownloadEvent::Started {
            total,
            offset: resumed_from,
        });

        let mut hashes: Option<Hashes> = None;
        let mut crc_expected: Option<u64> = None;
        let mut renewals = 0;
        let mut failures = 0;
        loop {
            let offset = file_len(&part)?;
            if offset > total {
                remove_if_exists(&part)?;
                continue;
            }
            if offset == total && total > 0 {
                break;
            }
            let started_at = offset;
            match self
                .fetch_into(
                    &item.cross_backup_download_link,
                    &part,
                    offset,
                    total,
                    &mut hashes,
                    &mut crc_expected,
                    opts.max_bytes_per_sec,
                    on_event,
                )
                .await
            {
                Ok(()) => {
                    if file_len(&part)? == total {
                        break;
                    }
                }
                Err(e) if e.is_expired_link() && renewals < opts.max_renewals => {
                    renewals += 1;
                    item = self.cross_region_backup(req).await?;
                    check_downloadable(&item)?;
                    if u64::try_from(item.cross_backup_set_size).ok() != Some(total) {
                        return Err(SdkError::Download(format!(
                            "backup {} changed size while downloading",
                            req.cross_backup_id
                        )));
                    }
                    write_meta(&item)?;
                    on_event(DownloadEvent::LinkRenewed);
                    continue;
                }
                Err(e) if retryable(&e) => {
                    let now = file_len(&part)?;
                    if now > started_at {
                        failures = 0;
                    }
                    failures += 1;
                    if failures > opts.max_retries {
                        return Err(e);
                    }
                    on_event(DownloadEvent::Retrying {
                        offset: now,
                        error: e.to_string(),
                    });
                    let backoff = opts.retry_delay * 2u32.pow((failures - 1).min(3));
                    tokio::time::sleep(backoff).await;
                }
                Err(e) => return Err(e),
            }
        }

        on_event(DownloadEvent::Verifying);
        let need_crc = crc_expected.is_some();
        let hashes = match hashes {
            Some(h) if h.len == total && (h.crc64.is_some() || !need_crc) => h,
            _ => hash_prefix(&part, total, need_crc).await?,
        };
        let size = file_len(&part)?;
        let sha256 = hex::encode(hashes.sha256.clone().finalize());
        let fail = |msg: String| -> Result<DownloadOutcome, SdkError> {
            std::fs::remove_file(&part).ok();
            std::fs::remove_file(&meta_path).ok();
            Err(SdkError::Download(msg))
        };
        if size != total {
            return fail(format!("size {size} != CrossBackupSetSize {total}"));
        }
        let crc64_verified = match (crc_expected, &hashes.crc64) {
            (Some(want), Some(got)) if got.value() != want => {
                return fail(format!(
                    "CRC-64 {} != x-oss-hash-crc64ecma {want}",
                    got.value()
                ))
            }
            (Some(_), Some(_)) => true,
            _ => false,
        };
        let sha256_verified = match &opts.expected_sha256 {
            Some(want) if !want.eq_ignore_ascii_case(&sha256) => {
                return fail(format!("SHA-256 {sha256} != expected {want}"))
            }
            Some(_) => true,
            None => false,
        };
        std::fs::rename(&part, &opts.dest)?;
        std::fs::remove_file(&meta_path).ok();
        Ok(DownloadOutcome {
            path: opts.dest.clone(),
            size,
            sha256,
            resumed_from,
            links_renewed: renewals,
            crc64_verified,
            sha256_verified,
            item,
        })
    }

    /// One GET of `link` from `offset`, appended to `part`.
    #[allow(clippy::too_many_arguments)]
    async fn fetch_into(
        &self,
        link: &str,
        part: &Path,
        offset: u64,
        total: u64,
        hashes: &mut Option<Hashes>,
        crc_expected: &mut Option<u64>,
        max_bytes_per_sec: Option<u64>,
        on_event: &mut (dyn FnMut(DownloadEvent) + Send),
    ) -> Result<(), SdkError> {
        let mut req = self.inner.download_http.get(link);
        if offset > 0 {
            req = req.header("range", format!("bytes={offset}-"));
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let mut offset = offset;
        match status {
            206 => {
                let range = header(&headers, "content-range").unwrap_or_default();
                let (start, of) = parse_content_range(&range).ok_or_else(|| SdkError::Decode {
                    message: format!("bad Content-Range {range:?}"),
                })?;
                if start != offset || of != total {
                    return Err(SdkError::Download(format!(
                        "asked for bytes {offset}- of {total}, got {range:?}"
                    )));
                }
            }
            200 => {
                if offset > 0 {
                    // The server ignored Range: start over.
                    std::fs::File::create(part)?;
                    offset = 0;
                }
                if let Some(len) = resp.content_length() {
                    if len != total {
                        return Err(SdkError::Download(format!(
                            "the link serves {len} bytes, the listing says {total}"
                        )));
                    }
                }
            }
            416 => {
                // Past the end: our .part is longer than the object or already complete.
                if offset != total {
                    std::fs::File::create(part)?;
                }
                return Ok(());
            }
            _ => {
                let body = resp.bytes().await.unwrap_or_default();
                return Err(api_error(status, &headers, &body));
            }
        }
        if let Some(crc) = header(&headers, "x-oss-hash-crc64ecma").and_then(|v| v.parse().ok()) {
            *crc_expected = Some(crc);
        }
        let need_crc = crc_expected.is_some();
        let state = match hashes.take() {
            Some(h) if h.len == offset && (h.crc64.is_some() || !need_crc) => h,
            _ => hash_prefix(part, offset, need_crc).await?,
        };

        // Two threads, so hashing overlaps the disk writes and the network: the writer appends
        // at `offset` (and fsyncs), the hasher continues the checksums of the prefix.
        let written = Arc::new(AtomicU64::new(offset));
        let (tx, rx) = std::sync::mpsc::sync_channel::<bytes::Bytes>(32);
        let (htx, hrx) = std::sync::mpsc::sync_channel::<bytes::Bytes>(32);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(part)?;
        let writer = {
            let written = written.clone();
            std::thread::spawn(move || write_chunks(file, offset, rx, &written))
        };
        let hasher = std::thread::spawn(move || {
            let mut state = state;
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
            match chunk {
                Ok(bytes) => {
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
                    if let Some(rate) = max_bytes_per_sec.filter(|r| *r > 0) {
                        // Sleep until the bytes of this attempt fit the rate.
                        let due = Duration::from_secs_f64((received - offset) as f64 / rate as f64);
                        tokio::time::sleep_until(began + due).await;
                    }
                }
                Err(e) => {
                    stream_err = Some(SdkError::Transport(e));
                    break;
                }
            }
        }
        drop(tx);
        drop(htx);
        let joined = tokio::task::spawn_blocking(move || (writer.join(), hasher.join()))
            .await
            .map_err(|e| SdkError::Io(std::io::Error::other(e)))?;
        let (Ok((len, io)), Ok(state)) = joined else {
            return Err(SdkError::Io(std::io::Error::other(
                "download thread panicked",
            )));
        };
        on_event(DownloadEvent::Progress { done: len });
        // After a write error the hasher may be ahead of the file: then the next attempt
        // re-reads the prefix instead.
        *hashes = (state.len == len).then_some(state);
        io?;
        match stream_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
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

/// Hashes the first `len` bytes of `path` (off the async threads).
async fn hash_prefix(path: &Path, len: u64, with_crc: bool) -> Result<Hashes, SdkError> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || -> std::io::Result<Hashes> {
        let mut h = Hashes::new(with_crc);
        if len == 0 {
            return Ok(h);
        }
        let mut f = std::fs::File::open(&path)?.take(len);
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        Ok(h)
    })
    .await
    .map_err(|e| SdkError::Io(std::io::Error::other(e)))?
    .map_err(SdkError::Io)
}

fn check_downloadable(item: &CrossRegionBackupItem) -> Result<(), SdkError> {
    if item.backup_set_status != 0 || item.cross_backup_download_link.is_empty() {
        return Err(SdkError::Download(format!(
            "cross-region backup {} has no download link (BackupSetStatus {}: the copy failed)",
            item.cross_backup_id, item.backup_set_status
        )));
    }
    Ok(())
}

fn retryable(e: &SdkError) -> bool {
    match e {
        SdkError::Transport(_) => true,
        SdkError::Api { http_status, .. } => *http_status >= 500,
        _ => false,
    }
}

fn read_meta(path: &Path) -> Option<PartMeta> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

fn file_len(path: &Path) -> std::io::Result<u64> {
    match std::fs::metadata(path) {
        Ok(m) => Ok(m.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e),
    }
}

fn remove_if_exists(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
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
    use super::*;

    #[test]
    fn content_range_and_suffix() {
        assert_eq!(parse_content_range("bytes 10-99/100"), Some((10, 100)));
        assert_eq!(parse_content_range("bytes */100"), None);
        assert_eq!(
            with_suffix(Path::new("/a/b.tar.gz"), ".part"),
            PathBuf::from("/a/b.tar.gz.part")
        );
    }
}
