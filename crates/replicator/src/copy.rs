//! One copy attempt, from a claimed job to an outcome recorded in the catalog:
//!
//! 1. open the source and destination regions (an unknown or unopenable region fails for good);
//! 2. stream the source object into a staging object in the destination, hashing on the way
//!    (into S3-compatible regions as a resumable upload that continues after a crash:
//!    [`crate::resume`]);
//! 3. read the staged bytes back: they must have the size and SHA-256 recorded when the set was
//!    registered (if the bytes read from the source already differ, step 3 is skipped). Into a
//!    local region that read follows the writer during step 2 (a part is read back once it is
//!    written); elsewhere it reads the staged object after step 2;
//! 4. make sure the lease is still ours, publish atomically;
//! 5. carry the manifest stored beside the set, if the source has one yet (a physical set's is
//!    written after the set: its agent also stores it beside the copy), then mark the copy
//!    Completed.
//!
//! The lease is renewed alongside; if it is lost the attempt is dropped where it stands and
//! nothing is published. Any failure deletes the attempt's staging object, except a resumable
//! upload that the next attempt can continue (see [`crate::resume`] for when it is kept).

use crate::context::CopyContext;
use crate::failure::CopyFailure;
use crate::lease::{after, Lease};
use crate::resume::{self, CopyEnds, ResumeSlot};
use crate::source::read_source;
use chrono::Utc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::io::StreamReader;
use xbak_catalog::CatalogError;
use xbak_domain::naming::{manifest_key, MANIFEST_MAX_BYTES};
use xbak_domain::{CopyEvent, CopyJob};
use xbak_storage::{Checksum, RegionStore, Staged, StorageError};

/// How an attempt ended, as far as the run's summary is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Completed {
        bytes: u64,
    },
    /// Failed, queued again.
    Retrying,
    /// Failed for good.
    Failed,
    /// The lease was lost; the job is someone else's.
    LeaseLost,
    /// The outcome could not be recorded (catalog unreachable); the lease will run out and the
    /// job will be attempted again.
    Unrecorded,
}

/// The staging object of an attempt, deleted unless it was published.
#[derive(Default)]
struct StagingSlot(Mutex<Option<(Arc<RegionStore>, String)>>);

impl StagingSlot {
    fn set(&self, store: &Arc<RegionStore>, key: &str) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((Arc::clone(store), key.to_owned()));
    }
    fn clear(&self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
    async fn delete(&self, copy_id: i64) {
        let Some((store, key)) = self.0.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            return;
        };
        if let Err(e) = store.delete(&key).await {
            tracing::warn!(copy_id, key, error = %e, "cannot delete staging object; the start-up sweep will");
        }
    }
}

/// Runs one attempt of a claimed job and records its outcome.
pub(crate) async fn run_job(ctx: &CopyContext, job: CopyJob) -> Outcome {
    let started = Instant::now();
    let copy_id = job.copy_id;
    let size = u64::try_from(job.size_bytes).unwrap_or(0);
    ctx.emit(CopyEvent::Started { copy_id, size });
    tracing::info!(
        copy_id, attempt = job.attempts + 1, size,
        source = %format_args!("{}/{}", job.source_region_id, job.source_key),
        dest = %format_args!("{}/{}", job.dest_region_id, job.dest_key),
        "copy started"
    );
    let lease = Lease {
        catalog: &*ctx.catalog,
        job: &job,
        length: ctx.config.lease,
    };
    let staging = StagingSlot::default();
    let upload = ResumeSlot::default();
    let result = tokio::select! {
        lost = lease.keep() => Err(lost),
        copied = attempt(ctx, &job, &lease, &staging, &upload) => copied,
    };
    staging.delete(copy_id).await;
    if let Err(failure) = &result {
        let failed_attempts = u32::try_from(job.attempts + 1).unwrap_or(u32::MAX);
        let last = ctx.config.retry.next_delay(failed_attempts).is_none();
        upload.settle(&*ctx.catalog, &job, failure, last).await;
    }
    match result {
        Ok(copied) => complete(ctx, &job, copied, started.elapsed()).await,
        Err(failure) => fail(ctx, &job, failure).await,
    }
}

/// What a successful attempt did, and how long each phase took.
struct Copied {
    bytes: u64,
    /// Bytes this attempt sent to the destination (less than `bytes` when it resumed).
    sent: u64,
    /// Bytes already in the destination when this attempt began (resumed uploads).
    resumed_from: u64,
    copying: Duration,
    verifying: Duration,
    publishing: Duration,
}

/// Copy, verify, publish.
async fn attempt(
    ctx: &CopyContext,
    job: &CopyJob,
    lease: &Lease<'_>,
    staging: &StagingSlot,
    upload: &ResumeSlot,
) -> Result<Copied, CopyFailure> {
    let phase = Instant::now();
    let source = ctx.region(&job.source_region_id).await?;
    let dest = ctx.region(&job.dest_region_id).await?;
    let expected = Checksum {
        size: u64::try_from(job.size_bytes).map_err(|_| {
            CopyFailure::Permanent(format!("recorded size {} is negative", job.size_bytes))
        })?,
        sha256: job.sha256.to_ascii_lowercase(),
    };
    let ends = CopyEnds {
        source: &source,
        dest: &dest,
    };
    let staged = stage(ctx, lease, &ends, &expected, staging, upload).await?;
    let copying = phase.elapsed();

    let phase = Instant::now();
    let verified = match staged.read_back.clone() {
        // Read back (and flushed) behind the writer while the copy went on.
        Some(read) => read.confirm(&staged.staging_key, &expected),
        None => dest.verify(&staged.staging_key, &expected).await,
    };
    let verified = verified.map_err(|e| {
        if matches!(
            e,
            StorageError::ChecksumMismatch { .. } | StorageError::NotFound(_)
        ) {
            upload.mark_bad();
        }
        CopyFailure::storage("verifying the staged copy", e)
    })?;
    ctx.emit(CopyEvent::Verified {
        copy_id: job.copy_id,
    });
    let verifying = phase.elapsed();

    let phase = Instant::now();
    lease.renew().await?;
    let to_publish = Staged {
        staging_key: staged.staging_key.clone(),
        size: verified.size,
        sha256: verified.sha256,
    };
    publish(job, &dest, &to_publish, staging, upload).await?;
    carry_manifest(job, &source, &dest).await?;
    Ok(Copied {
        bytes: verified.size,
        sent: staged.sent,
        resumed_from: staged.resumed_from,
        copying,
        verifying,
        publishing: phase.elapsed(),
    })
}

/// Streams the source into staging in the destination (resumably where the region allows);
/// fails if what was read from the source is not what was registered (no need to read back).
async fn stage(
    ctx: &CopyContext,
    lease: &Lease<'_>,
    ends: &CopyEnds<'_>,
    expected: &Checksum,
    staging: &StagingSlot,
    upload: &ResumeSlot,
) -> Result<StagedCopy, CopyFailure> {
    let job = lease.job;
    let staged = if ends.dest.supports_resume() {
        let up = resume::upload(ctx, lease, ends, expected, upload).await?;
        StagedCopy {
            read: up.sha256.map(|sha256| Checksum {
                size: expected.size,
                sha256,
            }),
            staging_key: up.staging_key,
            resumed_from: up.resumed_from,
            sent: up.sent,
            read_back: up.read_back,
        }
    } else {
        copy_from_zero(ctx, job, ends.source, ends.dest, expected, staging).await?
    };
    if let Some(read) = staged.read.as_ref().filter(|read| *read != expected) {
        upload.mark_bad();
        return Err(CopyFailure::Retryable(format!(
            "source bytes do not match the recorded checksum: expected {expected}, read {read}"
        )));
    }
    Ok(staged)
}

/// Publishes the verified staging object at the job's destination key.
async fn publish(
    job: &CopyJob,
    dest: &RegionStore,
    staged: &Staged,
    staging: &StagingSlot,
    upload: &ResumeSlot,
) -> Result<(), CopyFailure> {
    match dest.publish(staged, &job.dest_key).await {
        Ok(()) => {}
        Err(StorageError::AlreadyExists(key)) => {
            staging.clear(); // publish dropped it
            upload.clear();
            return Err(CopyFailure::Permanent(format!(
                "{}/{key} already holds different bytes",
                job.dest_region_id
            )));
        }
        Err(e) => return Err(CopyFailure::storage("publishing", e)),
    }
    staging.clear();
    upload.clear();
    Ok(())
}

/// Copies the manifest beside the set's object to beside the copy's, when the source holds
/// one: the same bytes published there already (by the set's agent, or an earlier attempt)
/// count as done. Not verified against a record (there is none): restores check that a
/// manifest matches the set they restore.
async fn carry_manifest(
    job: &CopyJob,
    source: &RegionStore,
    dest: &RegionStore,
) -> Result<(), CopyFailure> {
    let from = manifest_key(&job.source_key);
    let to = manifest_key(&job.dest_key);
    let bytes = match source.read_small(&from, MANIFEST_MAX_BYTES).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Ok(()),
        Err(e @ StorageError::Unsupported(_)) => {
            return Err(CopyFailure::Permanent(format!(
                "the set's manifest in {}: {e}",
                job.source_region_id
            )))
        }
        Err(e) => return Err(CopyFailure::storage("reading the set's manifest", e)),
    };
    let staged = dest
        .upload_staged(&to, &bytes[..], &|_| {})
        .await
        .map_err(|e| CopyFailure::storage("storing the set's manifest", e))?;
    match dest.publish(&staged, &to).await {
        Ok(()) => Ok(()),
        Err(StorageError::AlreadyExists(key)) => {
            // Published objects are never overwritten; restores check a manifest against the
            // set they restore and verify without one that does not match.
            tracing::warn!(copy_id = job.copy_id, region = %job.dest_region_id, key = %key,
                "the copy's manifest differs from the set's; left as it is");
            Ok(())
        }
        Err(e) => {
            dest.delete(&staged.staging_key).await.ok();
            Err(CopyFailure::storage("publishing the set's manifest", e))
        }
    }
}

/// A staged copy, before verification.
struct StagedCopy {
    staging_key: String,
    /// Size and SHA-256 of what was read from the source, when the attempt read all of it.
    read: Option<Checksum>,
    resumed_from: u64,
    sent: u64,
    /// The staged bytes as read back behind the writer, when the destination did that.
    read_back: Option<Checksum>,
}

/// Regions without resumable uploads: stream the whole source into a fresh staging object.
async fn copy_from_zero(
    ctx: &CopyContext,
    job: &CopyJob,
    source: &RegionStore,
    dest: &Arc<RegionStore>,
    expected: &Checksum,
    staging: &StagingSlot,
) -> Result<StagedCopy, CopyFailure> {
    let stream = read_source(source, job, None, expected).await?;
    let reader = ctx.throttled(&job.dest_region_id, StreamReader::new(stream));
    let copy_id = job.copy_id;
    let progress = |bytes| ctx.emit(CopyEvent::Progress { copy_id, bytes });
    let staged = dest
        .upload_staged(&job.dest_key, reader, &progress)
        .await
        .map_err(|e| CopyFailure::storage("copying", e))?;
    staging.set(dest, &staged.staging_key);
    Ok(StagedCopy {
        read: Some(staged.checksum()),
        sent: staged.size,
        staging_key: staged.staging_key,
        resumed_from: 0,
        read_back: None,
    })
}

async fn complete(ctx: &CopyContext, job: &CopyJob, copied: Copied, elapsed: Duration) -> Outcome {
    let copy_id = job.copy_id;
    let bytes = copied.bytes;
    match ctx
        .catalog
        .complete_copy(copy_id, &job.lease_token, Utc::now())
        .await
    {
        Ok(()) => {
            let mb_per_s = bytes as f64 / elapsed.as_secs_f64().max(1e-9) / 1e6;
            tracing::info!(
                copy_id,
                bytes,
                sent = copied.sent,
                resumed_from = copied.resumed_from,
                elapsed_ms = elapsed.as_millis() as u64,
                copy_ms = copied.copying.as_millis() as u64,
                verify_ms = copied.verifying.as_millis() as u64,
                publish_ms = copied.publishing.as_millis() as u64,
                mb_per_s = format_args!("{mb_per_s:.1}"),
                "copy completed"
            );
            ctx.emit(CopyEvent::Completed {
                copy_id,
                dest_region_id: job.dest_region_id.clone(),
                bytes,
                elapsed,
                resumed_from: copied.resumed_from,
                sent: copied.sent,
            });
            Outcome::Completed { bytes }
        }
        Err(CatalogError::LeaseLost(_)) => {
            // Published, but the job is someone else's now; they will find the bytes in place.
            tracing::warn!(
                copy_id,
                "copy published but its lease was lost before it was recorded"
            );
            ctx.emit(CopyEvent::Failed {
                copy_id,
                error: "lease lost".into(),
                will_retry: true,
            });
            Outcome::LeaseLost
        }
        Err(e) => {
            tracing::error!(copy_id, error = %e, "copy published but not recorded; it will be attempted again");
            ctx.emit(CopyEvent::Failed {
                copy_id,
                error: e.to_string(),
                will_retry: true,
            });
            Outcome::Unrecorded
        }
    }
}

async fn fail(ctx: &CopyContext, job: &CopyJob, failure: CopyFailure) -> Outcome {
    let copy_id = job.copy_id;
    let failed_attempts = u32::try_from(job.attempts + 1).unwrap_or(u32::MAX);
    let (message, delay) = match failure {
        CopyFailure::LeaseLost => {
            tracing::warn!(copy_id, "lease lost; attempt abandoned");
            ctx.emit(CopyEvent::Failed {
                copy_id,
                error: "lease lost".into(),
                will_retry: true,
            });
            return Outcome::LeaseLost;
        }
        CopyFailure::Permanent(m) => (m, None),
        CopyFailure::Retryable(m) => {
            let delay = ctx.config.retry.next_delay(failed_attempts);
            (m, delay)
        }
    };
    let retry_at = delay.map(after);
    match ctx
        .catalog
        .fail_copy_attempt(copy_id, &job.lease_token, &message, retry_at)
        .await
    {
        Ok(()) => {
            match delay {
                Some(d) => {
                    tracing::warn!(copy_id, attempt = failed_attempts, error = %message, retry_in_s = d.as_secs(), "copy attempt failed")
                }
                None => {
                    tracing::error!(copy_id, attempt = failed_attempts, error = %message, "copy failed for good")
                }
            }
            ctx.emit(CopyEvent::Failed {
                copy_id,
                error: message,
                will_retry: delay.is_some(),
            });
            if delay.is_some() {
                Outcome::Retrying
            } else {
                Outcome::Failed
            }
        }
        Err(CatalogError::LeaseLost(_)) => {
            tracing::warn!(copy_id, error = %message, "copy attempt failed after its lease was lost");
            ctx.emit(CopyEvent::Failed {
                copy_id,
                error: message,
                will_retry: true,
            });
            Outcome::LeaseLost
        }
        Err(e) => {
            tracing::error!(copy_id, error = %message, catalog_error = %e, "copy attempt failed and could not be recorded");
            ctx.emit(CopyEvent::Failed {
                copy_id,
                error: message,
                will_retry: true,
            });
            Outcome::Unrecorded
        }
    }
}
