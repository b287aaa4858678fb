//! Downloading a cross-region backup set to a file: resumable, renewing expired links,
//! verified at the end.
//!
//! * Bytes go to `DEST.part`; `DEST.part.json` records which backup they belong to (instance,
//!   region, `CrossBackupId`, file name, size) and the last link. A later run with the same
//!   backup and destination continues from the end of `DEST.part` with `Range: bytes=N-`; any
//!   other `.part` is discarded (`resume.rs`). A break in the middle of a run (timeout, reset,
//!   5xx) resumes the same way (`transfer.rs`), after the backoff of the SDK's retry rules
//!   ([`crate::retry`], "Downloads": `attempt` counts the attempts since the last progress).
//! * A link the object store refuses as expired (403 `AccessDenied` "Request has expired.") is
//!   replaced by a fresh one: the backup is described again by its `CrossBackupId`.
//! * Verification: the size must equal `CrossBackupSetSize` (and the `Content-Range` total)
//!   always. SHA-256 is computed on the fly (the prefix of a resumed file is read back first)
//!   and compared with `expected_sha256` when the caller has one (xbak's listing carries no
//!   checksum; `xbak backup register` prints the SHA-256 it stored). When the object store sends
//!   `x-oss-hash-crc64ecma` (Alibaba OSS does), CRC-64 is checked too. A mismatch deletes the
//!   `.part` file; the destination appears (by rename) only after every check passed
//!   (`verify.rs`).

mod resume;
mod transfer;
mod verify;

use std::path::PathBuf;

pub use resume::with_suffix;

use crate::client::Client;
use crate::describe_cross_region_backups::{
    CrossRegionBackupItem, DescribeCrossRegionBackupsRequest,
};
use crate::error::SdkError;
use crate::retry::{AttemptFailure, RetryPolicy};
use resume::PartFiles;
use transfer::Transfer;
use verify::Checksums;

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
    /// When a failed attempt is tried again ([`RetryPolicy::downloads`] by default: 6
    /// attempts in a row without progress, 0.5 s doubling to 4 s; see [`crate::retry`]).
    pub retry: RetryPolicy,
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
            retry: RetryPolicy::downloads(),
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
        let files = PartFiles::new(&opts.dest, req);
        let item = self.starting_item(req, opts, &files).await?;
        files.save(&item)?;
        let total = u64::try_from(item.cross_backup_set_size).unwrap_or(0);
        let resumed_from = files.len()?.min(total);
        on_event(DownloadEvent::Started {
            total,
            offset: resumed_from,
        });

        let fetched = self
            .fetch_all(req, opts, &files, item, total, on_event)
            .await?;

        on_event(DownloadEvent::Verifying);
        let verified = fetched
            .checksums
            .verify(&files, total, opts.expected_sha256.as_deref())
            .await?;
        files.publish(&opts.dest)?;
        Ok(DownloadOutcome {
            path: opts.dest.clone(),
            size: verified.size,
            sha256: verified.sha256,
            resumed_from,
            links_renewed: fetched.renewals,
            crc64_verified: verified.crc64_verified,
            sha256_verified: verified.sha256_verified,
            item: fetched.item,
        })
    }

    /// The listing entry to start from: the one saved with a `.part` of this backup when
    /// resuming (the caller's, when given, has the fresher link), else the caller's or a
    /// described one, with any `.part` discarded.
    async fn starting_item(
        &self,
        req: &DownloadRequest,
        opts: &DownloadOptions,
        files: &PartFiles,
    ) -> Result<CrossRegionBackupItem, SdkError> {
        let given = opts
            .item
            .clone()
            .filter(|i| i.cross_backup_id == req.cross_backup_id);
        let saved = opts
            .resume
            .then(|| files.saved_item(req.cross_backup_id))
            .flatten();
        if let Some(saved) = saved {
            return Ok(given.unwrap_or(saved));
        }
        files.discard_bytes()?;
        let item = match given {
            Some(i) => i,
            None => self.cross_region_backup(req).await?,
        };
        check_downloadable(&item)?;
        Ok(item)
    }

    /// Attempts until the `.part` holds `total` bytes: an expired link is renewed (up to
    /// `max_renewals`), any other failure is retried per `opts.retry`, counting the attempts
    /// since the last one that wrote bytes.
    async fn fetch_all(
        &self,
        req: &DownloadRequest,
        opts: &DownloadOptions,
        files: &PartFiles,
        mut item: CrossRegionBackupItem,
        total: u64,
        on_event: &mut (dyn FnMut(DownloadEvent) + Send),
    ) -> Result<Fetched, SdkError> {
        let transfer = Transfer {
            http: &self.inner.download_http,
            part: &files.part,
            total,
            max_bytes_per_sec: opts.max_bytes_per_sec,
        };
        let mut checksums = Checksums::default();
        let mut renewals = 0;
        let mut failures = 0;
        loop {
            let offset = files.len()?;
            if offset > total {
                files.discard_bytes()?;
                continue;
            }
            if offset == total && total > 0 {
                break;
            }
            let link = &item.cross_backup_download_link;
            let err = match transfer
                .attempt(link, offset, &mut checksums, on_event)
                .await
            {
                Ok(()) if files.len()? == total => break,
                Ok(()) => continue,
                Err(e) => e,
            };
            if err.is_expired_link() && renewals < opts.max_renewals {
                renewals += 1;
                item = self.renewed_item(req, total).await?;
                files.save(&item)?;
                on_event(DownloadEvent::LinkRenewed);
                continue;
            }
            let now = files.len()?;
            if now > offset {
                failures = 0;
            }
            failures += 1;
            let delay = AttemptFailure::of(&err, None)
                .and_then(|failure| opts.retry.decide(failures, &failure, true));
            let Some(delay) = delay else {
                return Err(err);
            };
            on_event(DownloadEvent::Retrying {
                offset: now,
                error: err.to_string(),
            });
            tokio::time::sleep(delay).await;
        }
        Ok(Fetched {
            item,
            renewals,
            checksums,
        })
    }

    /// The backup described again, for a fresh link; it must still be downloadable and of
    /// the same size.
    async fn renewed_item(
        &self,
        req: &DownloadRequest,
        total: u64,
    ) -> Result<CrossRegionBackupItem, SdkError> {
        let item = self.cross_region_backup(req).await?;
        check_downloadable(&item)?;
        if u64::try_from(item.cross_backup_set_size).ok() != Some(total) {
            return Err(SdkError::Download(format!(
                "backup {} changed size while downloading",
                req.cross_backup_id
            )));
        }
        Ok(item)
    }
}

/// What the attempts of a download leave for its verification.
struct Fetched {
    /// The listing entry, with the last link used.
    item: CrossRegionBackupItem,
    /// Links renewed.
    renewals: u32,
    /// The running checksums.
    checksums: Checksums,
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
