//! Resumable staged uploads: an upload whose finished parts ([`ResumeState`]) the caller
//! persists after every part, so that after a crash the next attempt continues from the parts
//! already uploaded instead of from zero. Two backends:
//!
//! - **S3-compatible regions**: a multipart upload (its id and the parts' ETags are the state);
//! - **local regions** (`file://`): the staging file itself, written part by part at each part's
//!   offset; the state records how many leading bytes are whole. On resume the file is cut back
//!   to that length (a part in flight at the kill may have been half written) and writing goes
//!   on from there. Nothing is fsynced before [`ResumableUpload::complete`]: a process kill
//!   keeps every written byte (the page cache survives it), and after a power loss the
//!   read-back verification before publishing catches any lost or torn part, which discards
//!   the upload and starts over.
//!
//! `object_store`'s `MultipartUpload` hides its upload id, so this drives the lower-level
//! `MultipartStore` (`create_multipart`, `put_part`, `complete_multipart`, `abort_multipart`)
//! that `AmazonS3` implements. Parts are [`PART_SIZE`] bytes (the last may be shorter), up to
//! [`PARTS_IN_FLIGHT`] written at once; the state only ever records the contiguous run of
//! finished parts from the first, so a part that was in flight when the process died is simply
//! written again (S3 keeps the last write of a part number; the bytes are the same).
//!
//! **Checksums.** A SHA-256 midstate cannot be saved portably, so an upload that resumes does
//! not hash at all ([`ResumableStaged::sha256`] is `None`): the read-back verification the copy
//! makes before publishing reads every staged byte and is what decides. (Re-hashing the source's
//! prefix would cost a second read of it for a check the read-back makes anyway.)
//!
//! **Orphans.** `object_store` cannot list multipart uploads (no `ListMultipartUploads`), so an
//! upload is aborted only through a state that names it ([`RegionStore::discard_upload`]).
//! The state is handed to the caller right after the upload is created, so only a crash in
//! that instant leaves an upload nobody knows of; a bucket lifecycle rule
//! (`AbortIncompleteMultipartUpload`, which S3 and OSS both have) reclaims those.
//!
//! In-memory regions, and stores wrapped with [`RegionStore::from_object_store`], have no
//! resumable uploads ([`RegionStore::supports_resume`] is false): a copy into them after a
//! crash starts from zero, with [`RegionStore::upload_staged`].

use crate::behind::ReadBehind;
use crate::upload::read_part;
use crate::{keys, RegionStore, StorageError, PART_SIZE};
use bytes::Bytes;
use futures::stream::{FuturesOrdered, StreamExt};
use object_store::aws::AmazonS3;
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload};
use sha2::{Digest, Sha256};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::io::AsyncRead;

/// Parts being written at once by one upload.
pub const PARTS_IN_FLIGHT: usize = 4;

/// The `upload_id` of a local region's resumable upload: its staging file is the upload.
pub const LOCAL_UPLOAD_ID: &str = "local-file";

/// Where a resumable upload stands. Persist it ([`ResumeState::to_json`]) after every part the
/// upload reports; hand it back to [`RegionStore::resumable_upload`] to continue.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ResumeState {
    /// Format version (1).
    pub v: u32,
    /// The staging key the upload completes into (`.staging/<token>/<key>`).
    pub staging_key: String,
    /// The store's multipart upload id ([`LOCAL_UPLOAD_ID`] for a local region's file).
    pub upload_id: String,
    /// Size of every part but the last.
    pub part_size: u64,
    /// Ids (ETags; empty for local files) of the finished parts `0..parts.len()`, in order.
    pub parts: Vec<String>,
    /// Bytes held by those parts: where the source is read from on resume.
    pub bytes_done: u64,
}

impl ResumeState {
    const VERSION: u32 = 1;

    /// The state as the JSON text persisted with the copy job.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("plain struct serialises")
    }

    /// Parses persisted state; `None` for anything unreadable or of another version (the
    /// caller then starts from zero).
    pub fn from_json(text: &str) -> Option<ResumeState> {
        serde_json::from_str::<ResumeState>(text)
            .ok()
            .filter(|s| s.v == Self::VERSION)
    }
}

/// Why [`ResumableUpload::write`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum UploadError<E> {
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The caller's checkpoint refused (e.g. its lease was lost).
    #[error("checkpoint failed")]
    Checkpoint(E),
}

/// A finished resumable upload, in staging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumableStaged {
    pub staging_key: String,
    pub size: u64,
    /// SHA-256 of the bytes, when this upload saw them all (it did not resume).
    pub sha256: Option<String>,
    /// Bytes that were already uploaded when this upload was opened.
    pub resumed_from: u64,
    /// Size and SHA-256 of the whole staging file as read back behind the writer (local
    /// regions): the read-back before publishing, done already, and the file flushed to disk.
    /// `None` (S3-compatible regions): read the object back ([`crate::RegionStore::verify`]).
    pub read_back: Option<crate::Checksum>,
}

type PartFuture = futures::future::BoxFuture<'static, Result<(u64, PartId), StorageError>>;

/// Where the parts of an upload go.
#[derive(Clone)]
enum Target {
    /// A multipart upload at this bucket path.
    S3 { s3: Arc<AmazonS3>, path: Path },
    /// The staging file of a local region, open for writing.
    Local {
        file: Arc<std::fs::File>,
        path: PathBuf,
    },
}

impl Target {
    /// Makes the parts `state` records the staging object `key`; returns its size.
    async fn finish(&self, state: &ResumeState, key: &str) -> Result<u64, StorageError> {
        match self {
            Target::S3 { s3, path } if state.parts.is_empty() => {
                // An empty object: a multipart upload needs a part, and some stores (Garage)
                // refuse an empty one, so the upload is dropped and the object PUT instead.
                match s3.abort_multipart(path, &state.upload_id).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(StorageError::from_store(key, e)),
                }
                s3.put(path, PutPayload::new())
                    .await
                    .map_err(|e| StorageError::from_store(key, e))?;
                Ok(0)
            }
            Target::S3 { s3, path } => {
                let parts = state
                    .parts
                    .iter()
                    .map(|id| PartId {
                        content_id: id.clone(),
                    })
                    .collect();
                s3.complete_multipart(path, &state.upload_id, parts)
                    .await
                    .map_err(|e| StorageError::from_store(key, e))?;
                Ok(state.bytes_done)
            }
            Target::Local { file, path } => {
                let (file, path) = (Arc::clone(file), path.clone());
                let synced = tokio::task::spawn_blocking(move || {
                    file.sync_all()?;
                    if let Some(dir) = path.parent() {
                        std::fs::File::open(dir)?.sync_all()?;
                    }
                    Ok::<_, std::io::Error>(file.metadata()?.len())
                })
                .await
                .map_err(StorageError::from_join)?;
                synced.map_err(|e| StorageError::from_io(key, e))
            }
        }
    }
}

/// An open resumable upload; see the module docs.
pub struct ResumableUpload {
    target: Target,
    state: ResumeState,
    resumed_from: u64,
    /// The staging object already exists: an earlier attempt completed the upload.
    completed: Option<u64>,
    in_flight: FuturesOrdered<PartFuture>,
    /// Local files: the read-back of the finished prefix, while later parts are written.
    behind: Option<ReadBehind>,
    next_part: usize,
    next_offset: u64,
    bytes_sent: u64,
}

impl std::fmt::Debug for ResumableUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResumableUpload")
            .field("state", &self.state)
            .field("resumed_from", &self.resumed_from)
            .finish_non_exhaustive()
    }
}

impl RegionStore {
    /// Whether uploads to this region can resume after a crash ([`RegionStore::resumable_upload`]):
    /// S3-compatible regions and local directories opened with [`RegionStore::open`].
    pub fn supports_resume(&self) -> bool {
        self.s3.is_some() || self.local_uploads
    }

    /// Opens a resumable upload of an object destined for `key`: continues `from` when it is an
    /// upload of `key` in this region that can still be continued (its parts are kept), else
    /// discards it and starts a new one. Persist [`ResumableUpload::state`] at once: it names
    /// the new upload. [`StorageError::Unsupported`] on regions without resumable uploads.
    pub async fn resumable_upload(
        &self,
        key: &str,
        from: Option<ResumeState>,
    ) -> Result<ResumableUpload, StorageError> {
        keys::visible_path(key)?;
        if !self.supports_resume() {
            return Err(StorageError::Unsupported(format!(
                "region {}: resumable uploads need an S3-compatible store or a local directory",
                self.region_id
            )));
        }
        if let Some(state) = from {
            let local = state.upload_id == LOCAL_UPLOAD_ID;
            let fits = state.part_size == PART_SIZE as u64
                && local == self.s3.is_none()
                && keys::is_staging(&state.staging_key)
                && state.staging_key.ends_with(&format!("/{key}"))
                && parts_hold(state.parts.len() as u64, state.part_size, state.bytes_done)
                && keys::path(&state.staging_key).is_ok();
            if fits {
                if let Some(upload) = self.reopen(state.clone()).await? {
                    return Ok(upload);
                }
            }
            tracing::info!(region = %self.region_id, key, "resume state does not fit; starting over");
            self.discard_upload(&state).await;
        }
        let staging_key = keys::new_staging_key(key);
        let (target, upload_id) = match &self.s3 {
            Some(remote) => {
                let path = remote.full_path(&keys::path(&staging_key)?);
                let upload_id = remote
                    .s3
                    .create_multipart(&path)
                    .await
                    .map_err(|e| StorageError::from_store(&staging_key, e))?;
                let s3 = Arc::clone(&remote.s3);
                (Target::S3 { s3, path }, upload_id)
            }
            None => {
                let target = self.open_local_file(&staging_key, None).await?;
                let target = target.expect("a new file holds every byte it should (none)");
                (target, LOCAL_UPLOAD_ID.to_owned())
            }
        };
        let state = ResumeState {
            v: ResumeState::VERSION,
            staging_key,
            upload_id,
            part_size: PART_SIZE as u64,
            parts: Vec::new(),
            bytes_done: 0,
        };
        Ok(ResumableUpload::new(target, state, None))
    }

    /// Continues the upload `state` names; `None` when it cannot be (a local file shorter than
    /// the state says: it was lost or cut).
    async fn reopen(&self, state: ResumeState) -> Result<Option<ResumableUpload>, StorageError> {
        let (target, completed) = match &self.s3 {
            Some(remote) => {
                let path = remote.full_path(&keys::path(&state.staging_key)?);
                // A staging key names one upload only: if its object exists, that upload completed.
                let completed = self.head(&state.staging_key).await?;
                let s3 = Arc::clone(&remote.s3);
                (Target::S3 { s3, path }, completed)
            }
            None => {
                let opened = self
                    .open_local_file(&state.staging_key, Some(state.bytes_done))
                    .await?;
                let Some(target) = opened else {
                    return Ok(None);
                };
                (target, None)
            }
        };
        tracing::info!(
            region = %self.region_id, key = %state.staging_key,
            parts = state.parts.len(), bytes_done = state.bytes_done,
            completed = completed.is_some(), "resuming upload"
        );
        Ok(Some(ResumableUpload::new(target, state, completed)))
    }

    /// Opens a local staging file for writing: a new one (`keep` is `None`), or an existing one
    /// cut back to its first `keep` bytes (`None` if it is missing or shorter than that).
    async fn open_local_file(
        &self,
        staging_key: &str,
        keep: Option<u64>,
    ) -> Result<Option<Target>, StorageError> {
        let path = self.local_file(staging_key).ok_or_else(|| {
            StorageError::Unsupported(format!("region {}: not a local store", self.region_id))
        })?;
        let key = staging_key.to_owned();
        let opened = tokio::task::spawn_blocking(move || -> std::io::Result<Option<Target>> {
            let file = match keep {
                // Readable too: the upload reads it back behind the writer.
                None => crate::private::create_new_file(&path)?,
                Some(keep) => {
                    let file = match std::fs::OpenOptions::new()
                        .read(true)
                        .write(true)
                        .open(&path)
                    {
                        Ok(file) => file,
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                        Err(e) => return Err(e),
                    };
                    if file.metadata()?.len() < keep {
                        return Ok(None);
                    }
                    // Bytes past `keep` belong to parts that were in flight: written again.
                    file.set_len(keep)?;
                    file
                }
            };
            Ok(Some(Target::Local {
                file: Arc::new(file),
                path,
            }))
        })
        .await
        .map_err(StorageError::from_join)?;
        opened.map_err(|e| StorageError::from_io(&key, e))
    }

    /// Best effort: aborts the multipart upload `state` names and deletes its staging object.
    /// Failures are logged; what is left, the staging sweep and lifecycle rules reclaim.
    pub async fn discard_upload(&self, state: &ResumeState) {
        if let (Some(remote), Ok(path)) = (&self.s3, keys::path(&state.staging_key)) {
            let path = remote.full_path(&path);
            match remote.s3.abort_multipart(&path, &state.upload_id).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => {
                    tracing::warn!(region = %self.region_id, key = %state.staging_key, error = %e, "cannot abort multipart upload")
                }
            }
        }
        if keys::is_staging(&state.staging_key) {
            if let Err(e) = self.delete(&state.staging_key).await {
                tracing::warn!(region = %self.region_id, key = %state.staging_key, error = %e, "cannot delete staging object");
            }
        }
    }
}

/// Whether `n` parts of `part_size` (the last one maybe shorter, but not empty unless it is
/// the only one) can hold `bytes`.
fn parts_hold(n: u64, part_size: u64, bytes: u64) -> bool {
    match n {
        0 => bytes == 0,
        1 => bytes <= part_size,
        n => bytes > (n - 1) * part_size && bytes <= n * part_size,
    }
}

impl ResumableUpload {
    fn new(target: Target, state: ResumeState, completed: Option<u64>) -> Self {
        let resumed_from = completed.unwrap_or(state.bytes_done);
        let behind = match &target {
            Target::Local { file, .. } if completed.is_none() => {
                Some(ReadBehind::new(Arc::clone(file), state.bytes_done))
            }
            _ => None,
        };
        ResumableUpload {
            behind,
            target,
            next_part: state.parts.len(),
            next_offset: state.bytes_done,
            state,
            resumed_from,
            completed,
            in_flight: FuturesOrdered::new(),
            bytes_sent: 0,
        }
    }

    /// What to persist to resume this upload.
    pub fn state(&self) -> &ResumeState {
        &self.state
    }

    /// Bytes already uploaded when the upload was opened: read the source from here on.
    pub fn resumed_from(&self) -> u64 {
        self.resumed_from
    }

    /// Bytes this upload sent to the store so far (parts written again included).
    pub fn bytes_sent(&self) -> u64 {
        self.bytes_sent
    }

    /// Uploads what `reader` yields (the source from [`ResumableUpload::resumed_from`] on)
    /// part by part. After each part that extends the finished run, `checkpoint` is called
    /// with the new state and must persist it before the upload goes on; `progress` gets the
    /// bytes of the whole object handed to the store so far. Nothing is read when the upload
    /// had already completed.
    pub async fn write<E, F, Fut>(
        &mut self,
        mut reader: impl AsyncRead + Unpin + Send,
        progress: &(dyn Fn(u64) + Sync),
        mut checkpoint: F,
    ) -> Result<Option<String>, UploadError<E>>
    where
        F: FnMut(&ResumeState) -> Fut,
        Fut: Future<Output = Result<(), E>>,
    {
        if self.completed.is_some() {
            return Ok(None);
        }
        let hashing = self.resumed_from == 0;
        let mut hasher = Sha256::new();
        let mut hash_job: Option<tokio::task::JoinHandle<Sha256>> = None;
        loop {
            let part = read_part(&mut reader).await.map_err(|e| {
                StorageError::Io(format!(
                    "reading source for {}: {e}",
                    self.state.staging_key
                ))
            })?;
            if let Some(job) = hash_job.take() {
                hasher = job.await.map_err(StorageError::from_join)?;
            }
            let (last, empty) = (part.len() < PART_SIZE, part.is_empty());
            if !empty {
                if hashing {
                    let (mut h, data) = (std::mem::take(&mut hasher), part.clone());
                    hash_job = Some(tokio::task::spawn_blocking(move || {
                        h.update(&data);
                        h
                    }));
                }
                while self.in_flight.len() >= PARTS_IN_FLIGHT {
                    self.finish_one(&mut checkpoint).await?;
                }
                self.start(part);
                progress(self.next_offset);
            }
            if last {
                break;
            }
        }
        if let Some(job) = hash_job.take() {
            hasher = job.await.map_err(StorageError::from_join)?;
        }
        while !self.in_flight.is_empty() {
            self.finish_one(&mut checkpoint).await?;
        }
        Ok(hashing.then(|| hex::encode(hasher.finalize())))
    }

    fn start(&mut self, part: Bytes) {
        let (idx, offset, len) = (self.next_part, self.next_offset, part.len() as u64);
        let (target, id) = (self.target.clone(), self.state.upload_id.clone());
        let key = self.state.staging_key.clone();
        self.next_part += 1;
        self.next_offset += len;
        self.bytes_sent += len;
        self.in_flight.push_back(Box::pin(async move {
            let part_id = match target {
                Target::S3 { s3, path } => s3
                    .put_part(&path, &id, idx, part.into())
                    .await
                    .map_err(|e| StorageError::from_store(&key, e))?,
                Target::Local { file, .. } => {
                    tokio::task::spawn_blocking(move || {
                        std::os::unix::fs::FileExt::write_all_at(&*file, &part, offset)
                    })
                    .await
                    .map_err(StorageError::from_join)?
                    .map_err(|e| StorageError::from_io(&key, e))?;
                    PartId {
                        content_id: String::new(),
                    }
                }
            };
            Ok((len, part_id))
        }));
    }

    /// Waits for the oldest part in flight, records it and checkpoints.
    async fn finish_one<E, F, Fut>(&mut self, checkpoint: &mut F) -> Result<(), UploadError<E>>
    where
        F: FnMut(&ResumeState) -> Fut,
        Fut: Future<Output = Result<(), E>>,
    {
        let Some(done) = self.in_flight.next().await else {
            return Ok(());
        };
        let (len, part_id) = done?;
        self.state.parts.push(part_id.content_id);
        self.state.bytes_done += len;
        if let Some(behind) = self.behind.as_mut() {
            behind.advance(self.state.bytes_done).await;
        }
        checkpoint(&self.state)
            .await
            .map_err(UploadError::Checkpoint)
    }

    /// Completes the upload: the object appears, whole, at the staging key. `size` is what
    /// the caller expects: an object of another size is [`StorageError::ChecksumMismatch`]
    /// (with empty checksums), and the upload is left for [`RegionStore::discard_upload`].
    pub async fn complete(
        mut self,
        size: u64,
        sha256: Option<String>,
    ) -> Result<ResumableStaged, StorageError> {
        let key = self.state.staging_key.clone();
        let mut read_back = None;
        let written = match self.completed {
            Some(existing) => existing,
            None => {
                while let Some(done) = self.in_flight.next().await {
                    let (len, part_id) = done?;
                    self.state.parts.push(part_id.content_id);
                    self.state.bytes_done += len;
                }
                let target = self.target.clone();
                match self.behind.take() {
                    // The flush waits on the disk while the read-back's tail hashes.
                    Some(behind) => {
                        let (written, read) = tokio::join!(
                            target.finish(&self.state, &key),
                            behind.finish(self.state.bytes_done)
                        );
                        let written = written?;
                        read_back = Some(read.map_err(|e| StorageError::from_io(&key, e))?);
                        written
                    }
                    None => target.finish(&self.state, &key).await?,
                }
            }
        };
        if written != size {
            // Not the object expected (a state from another object): the caller discards it.
            return Err(StorageError::ChecksumMismatch {
                key,
                expected: crate::Checksum {
                    size,
                    sha256: sha256.unwrap_or_default(),
                },
                actual: crate::Checksum {
                    size: written,
                    sha256: String::new(),
                },
            });
        }
        Ok(ResumableStaged {
            staging_key: key,
            size,
            sha256,
            resumed_from: self.resumed_from,
            read_back,
        })
    }
}
