//! Copies into regions with resumable uploads (S3-compatible ones and local directories): the
//! destination's upload (a multipart upload, or the local staging file) is checkpointed in the copy job's resume state after every part, under the job's
//! lease, so a worker killed midway leaves an attempt the next claimer continues from the parts
//! already uploaded; only the parts in flight at the kill are sent again.
//!
//! What happens to the upload when an attempt fails:
//!
//! | how the attempt ended                              | upload and resume state   |
//! |----------------------------------------------------|---------------------------|
//! | killed, or its lease lost                          | kept: the next claimer resumes |
//! | transient failure (network, source unreadable)     | kept: the retry resumes   |
//! | wrong bytes (source or read-back checksum), a permanent failure, or the last attempt | discarded: upload aborted, staging deleted, state cleared |
//!
//! A resumed upload cannot checksum the whole object as it goes (SHA-256 state is not saved),
//! so for it the read-back verification before publishing is the only check; a fresh upload
//! still compares what it read from the source first, which tells a bad source from a bad copy.
//! Regions without resumable uploads (in-memory ones, test wrappers) restart a killed copy from
//! zero.

use crate::context::CopyContext;
use crate::failure::CopyFailure;
use crate::lease::Lease;
use crate::source::read_source;
use futures::stream::{BoxStream, StreamExt};
use std::sync::{Arc, Mutex};
use tokio::io::AsyncRead;
use tokio_util::io::StreamReader;
use xbak_catalog::{Catalog, CatalogError};
use xbak_domain::{CopyEvent, CopyJob};
use xbak_storage::{
    Checksum, RegionStore, ResumableUpload, ResumeState, StorageError, UploadError,
};

/// The upload of an attempt, and whether a failure of the attempt should discard it.
#[derive(Default)]
pub(crate) struct ResumeSlot(Mutex<Option<Held>>);

struct Held {
    dest: Arc<RegionStore>,
    state: ResumeState,
    /// Its bytes are known to be wrong: discard whatever the failure.
    bad: bool,
}

impl ResumeSlot {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Held>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn hold(&self, dest: &Arc<RegionStore>, state: &ResumeState) {
        let mut held = self.lock();
        let bad = held.as_ref().is_some_and(|h| h.bad);
        *held = Some(Held {
            dest: Arc::clone(dest),
            state: state.clone(),
            bad,
        });
    }

    /// The held upload's bytes are wrong: a failure of this attempt discards it.
    pub fn mark_bad(&self) {
        if let Some(h) = self.lock().as_mut() {
            h.bad = true;
        }
    }

    /// The upload was published: nothing to discard.
    pub fn clear(&self) {
        self.lock().take();
    }

    /// After a failed attempt: discards the held upload when the failure calls for it (see
    /// the module docs); `last_attempt` says no retry will follow.
    pub async fn settle(
        &self,
        catalog: &dyn Catalog,
        job: &CopyJob,
        failure: &CopyFailure,
        last_attempt: bool,
    ) {
        let discard = match failure {
            CopyFailure::LeaseLost => false,
            CopyFailure::Permanent(_) => true,
            CopyFailure::Retryable(_) => {
                last_attempt || self.lock().as_ref().is_some_and(|h| h.bad)
            }
        };
        if !discard {
            return;
        }
        let Some(held) = self.lock().take() else {
            return;
        };
        held.dest.discard_upload(&held.state).await;
        match catalog
            .save_copy_resume_state(job.copy_id, &job.lease_token, None)
            .await
        {
            Ok(()) | Err(CatalogError::LeaseLost(_)) => {}
            Err(e) => {
                tracing::warn!(copy_id = job.copy_id, error = %e, "cannot clear resume state; the next attempt will find its upload gone")
            }
        }
    }
}

/// The staged result of a resumable copy, before verification.
pub(crate) struct StagedUpload {
    pub staging_key: String,
    /// SHA-256 of what was read from the source, when this attempt read all of it.
    pub sha256: Option<String>,
    pub resumed_from: u64,
    pub sent: u64,
    /// The staged bytes as read back behind the writer, when the destination did that.
    pub read_back: Option<Checksum>,
}

/// Streams the source into a resumable staging upload in `dest`, continuing the job's saved
/// upload if there is one, checkpointing after every part.
pub(crate) async fn upload(
    ctx: &CopyContext,
    lease: &Lease<'_>,
    ends: &CopyEnds<'_>,
    expected: &Checksum,
    slot: &ResumeSlot,
) -> Result<StagedUpload, CopyFailure> {
    let job = lease.job;
    let mut upload = open_upload(job, ends.dest, expected).await?;
    slot.hold(ends.dest, upload.state());
    checkpoint(lease, upload.state().to_json()).await?;
    let from = upload.resumed_from();
    if from > 0 {
        tracing::info!(
            copy_id = job.copy_id,
            from,
            size = expected.size,
            "resuming copy"
        );
        ctx.emit(CopyEvent::Resumed {
            copy_id: job.copy_id,
            from,
        });
    }
    let stream = source_from(job, ends.source, from, expected).await?;
    let reader = ctx.throttled(&job.dest_region_id, StreamReader::new(stream));
    let sha256 = write_parts(ctx, lease, ends.dest, slot, &mut upload, reader).await?;
    let sent = upload.bytes_sent();
    let staged = upload.complete(expected.size, sha256).await.map_err(|e| {
        // Gone, or not the object expected: start over next time.
        if matches!(
            e,
            StorageError::NotFound(_) | StorageError::ChecksumMismatch { .. }
        ) {
            slot.mark_bad();
        }
        CopyFailure::storage("completing the upload", e)
    })?;
    Ok(StagedUpload {
        staging_key: staged.staging_key,
        sha256: staged.sha256,
        resumed_from: staged.resumed_from,
        sent,
        read_back: staged.read_back,
    })
}

/// The source and destination stores of a copy.
pub(crate) struct CopyEnds<'a> {
    pub source: &'a RegionStore,
    pub dest: &'a Arc<RegionStore>,
}

/// Opens the job's saved upload in `dest`, or a fresh one when there is none, it cannot be
/// read, or it holds more bytes than the object has.
async fn open_upload(
    job: &CopyJob,
    dest: &RegionStore,
    expected: &Checksum,
) -> Result<ResumableUpload, CopyFailure> {
    let saved = job.resume_state.as_deref().and_then(|text| {
        let state = ResumeState::from_json(text);
        if state.is_none() {
            tracing::warn!(
                copy_id = job.copy_id,
                "unreadable resume state; starting over"
            );
        }
        state
    });
    let upload = dest
        .resumable_upload(&job.dest_key, saved)
        .await
        .map_err(|e| CopyFailure::storage("starting the upload", e))?;
    if upload.resumed_from() <= expected.size {
        return Ok(upload);
    }
    // Not an upload of this object after all: start over.
    dest.discard_upload(upload.state()).await;
    dest.resumable_upload(&job.dest_key, None)
        .await
        .map_err(|e| CopyFailure::storage("starting the upload", e))
}

/// The source's bytes from `from` to its recorded end (nothing when the upload has them all).
async fn source_from(
    job: &CopyJob,
    source: &RegionStore,
    from: u64,
    expected: &Checksum,
) -> Result<BoxStream<'static, std::io::Result<bytes::Bytes>>, CopyFailure> {
    if from >= expected.size {
        return Ok(futures::stream::empty().boxed());
    }
    read_source(source, job, Some(from..expected.size), expected).await
}

/// Uploads `reader` part by part, holding and checkpointing the state after each; returns the
/// SHA-256 of what was read when the upload saw all of it.
async fn write_parts(
    ctx: &CopyContext,
    lease: &Lease<'_>,
    dest: &Arc<RegionStore>,
    slot: &ResumeSlot,
    upload: &mut ResumableUpload,
    reader: impl AsyncRead + Unpin + Send,
) -> Result<Option<String>, CopyFailure> {
    let copy_id = lease.job.copy_id;
    let progress = |bytes| ctx.emit(CopyEvent::Progress { copy_id, bytes });
    let written = upload
        .write(reader, &progress, |state| {
            slot.hold(dest, state);
            let json = state.to_json();
            async move { checkpoint(lease, json).await }
        })
        .await;
    match written {
        Ok(sha256) => Ok(sha256),
        Err(UploadError::Checkpoint(failure)) => Err(failure),
        Err(UploadError::Storage(StorageError::NotFound(key))) => {
            // The upload is gone (aborted, or reclaimed by a lifecycle rule): start over.
            slot.mark_bad();
            Err(CopyFailure::Retryable(format!("upload of {key} vanished")))
        }
        Err(UploadError::Storage(e)) => Err(CopyFailure::storage("copying", e)),
    }
}

/// Persists a resume state (as JSON) under the job's lease.
async fn checkpoint(lease: &Lease<'_>, state: String) -> Result<(), CopyFailure> {
    match lease
        .catalog
        .save_copy_resume_state(lease.job.copy_id, &lease.job.lease_token, Some(&state))
        .await
    {
        Ok(()) => Ok(()),
        Err(CatalogError::LeaseLost(_) | CatalogError::NotFound(_)) => Err(CopyFailure::LeaseLost),
        Err(e) => Err(CopyFailure::Retryable(format!("saving resume state: {e}"))),
    }
}
