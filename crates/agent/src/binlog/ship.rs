//! Cross-region log copies: while a stream runs, what the instance's region holds of its log that
//! the policy's destination region does not hold yet is copied there under the same keys: the
//! open file's new segments (so the destination trails the source by about a flush interval, not
//! by a file), and each closed file whole (which then replaces the destination's segments of it).
//! Every object is staged, read back against the SHA-256 recorded when it was stored and
//! published, then recorded as that region's copy under the stream's lease, within the same
//! `--bwlimit` per destination as the copies of backup sets. What to copy is read from the
//! catalog each round (source-region files against destination-region ones), so a copy a killed
//! worker left unrecorded is simply done again by the next holder of the stream, at once.

use futures::TryStreamExt;
use std::collections::HashMap;
use std::sync::Arc;
use tokio_util::io::StreamReader;
use xbak_catalog::Catalog;
use xbak_domain::binlog::BINLOG_FIRST_EVENT;
use xbak_domain::{LogFile, LogFileState};
use xbak_storage::throttle::{Throttled, Throttles};
use xbak_storage::{Checksum, RegionStore};

use super::sink::{drop_segments, publish_verified};
use super::BinlogError;

/// Copies one stream's log files to the destination region.
pub(super) struct Shipper {
    pub catalog: Arc<dyn Catalog>,
    pub source: RegionStore,
    pub instance_id: i64,
    pub db_instance_id: String,
    pub lease_token: String,
    /// The bandwidth limit per destination (`--bwlimit`), shared with the backup set copies.
    pub throttles: Arc<Throttles>,
}

impl Shipper {
    /// Copies what the destination lacks, oldest file first: closed files whole, the open
    /// file's new segments; returns how many files it copied to. Nothing while the policy has
    /// log backup off or no destination; the destination's store is opened only when there is
    /// something to copy.
    pub async fn ship_pending(&self) -> Result<usize, BinlogError> {
        let Some(dest_id) = self.destination_id().await? else {
            return Ok(0);
        };
        let files = self.catalog.log_files(self.instance_id).await?;
        let there: HashMap<&str, &LogFile> = files
            .iter()
            .filter(|f| f.region_id == dest_id)
            .map(|f| (f.file_name.as_str(), f))
            .collect();
        let pending: Vec<(&LogFile, Option<&LogFile>)> = files
            .iter()
            .filter(|f| f.region_id == self.source.region_id())
            .map(|f| (f, there.get(f.file_name.as_str()).copied()))
            .filter(|(f, copy)| behind(f, *copy))
            .collect();
        if pending.is_empty() {
            return Ok(0);
        }
        let dest = self.open_destination(&dest_id).await?;
        for (file, copy) in &pending {
            match file.state {
                LogFileState::Closed => self.ship_whole(file, *copy, &dest).await?,
                LogFileState::Open => match self.ship_segments(file, *copy, &dest).await {
                    // The file closed since it was read, and its segments went: the next round
                    // copies it whole.
                    Err(BinlogError::Storage(xbak_storage::StorageError::NotFound(key))) => {
                        tracing::debug!(instance = self.instance_id, %key, "segment gone: its file closed meanwhile");
                    }
                    other => other?,
                },
            }
        }
        Ok(pending.len())
    }

    /// The destination region's store, when the policy ships logs.
    pub async fn destination(&self) -> Result<Option<RegionStore>, BinlogError> {
        match self.destination_id().await? {
            Some(id) => Ok(Some(self.open_destination(&id).await?)),
            None => Ok(None),
        }
    }

    async fn open_destination(&self, dest_id: &str) -> Result<RegionStore, BinlogError> {
        let region = self.catalog.region(dest_id).await?.ok_or_else(|| {
            BinlogError::Setup(format!(
                "destination region {dest_id} is not in the catalog"
            ))
        })?;
        Ok(RegionStore::open(&region.region_id, &region.store_url)?)
    }

    /// The destination region, when the policy ships logs.
    async fn destination_id(&self) -> Result<Option<String>, BinlogError> {
        let Some(p) = self.catalog.cross_backup_policy(self.instance_id).await? else {
            return Ok(None);
        };
        let wanted = p.policy.enabled && p.log_backup_enabled;
        Ok(Some(p.policy.dest_region_id).filter(|d| wanted && d != self.source.region_id()))
    }

    /// Copies `key` (`size` bytes, `sha256`) from the instance's region to `dest`.
    async fn copy_object(
        &self,
        key: &str,
        size: u64,
        sha256: &str,
        dest: &RegionStore,
    ) -> Result<(), BinlogError> {
        let (_, bytes) = self.source.get(key, None).await?;
        let limiter = self.throttles.for_region(dest.region_id());
        let reader = Throttled::new(
            StreamReader::new(bytes.map_err(std::io::Error::other)),
            limiter,
        );
        let recorded = Checksum {
            size,
            sha256: sha256.to_owned(),
        };
        publish_verified(dest, key, reader, Some(recorded)).await?;
        Ok(())
    }

    async fn record(&self, file: &LogFile, dest: &RegionStore) -> Result<(), BinlogError> {
        self.catalog
            .record_log_copy(
                self.instance_id,
                &self.lease_token,
                file,
                dest.region_id(),
                chrono::Utc::now(),
            )
            .await?;
        Ok(())
    }

    /// Copies closed file `file` whole; a copy held open in `dest` (`copy`) is then closed and
    /// its segments deleted.
    async fn ship_whole(
        &self,
        file: &LogFile,
        copy: Option<&LogFile>,
        dest: &RegionStore,
    ) -> Result<(), BinlogError> {
        let (Some(key), Some(sha256)) = (&file.object_key, &file.sha256) else {
            return Err(BinlogError::Setup(format!(
                "closed log file {} has no object or checksums",
                file.file_name
            )));
        };
        self.copy_object(key, file.size, sha256, dest).await?;
        self.record(file, dest).await?;
        tracing::info!(instance = self.instance_id, file = %file.file_name, region = dest.region_id(), size = file.size, "binlog file copied");
        if copy.is_some() {
            // Left behind if this fails or the process dies here: swept at the next claim.
            let n = drop_segments(dest, &self.db_instance_id, &file.file_name).await?;
            tracing::debug!(instance = self.instance_id, file = %file.file_name, segments = n, "segments deleted in the destination");
        }
        Ok(())
    }

    /// Copies the segments of open file `file` that `dest` does not hold yet (`copy`: what it
    /// holds), then records them.
    async fn ship_segments(
        &self,
        file: &LogFile,
        copy: Option<&LogFile>,
        dest: &RegionStore,
    ) -> Result<(), BinlogError> {
        let held = copy.map_or(BINLOG_FIRST_EVENT, |c| c.size);
        for segment in file.segments.iter().filter(|s| s.offset >= held) {
            self.copy_object(&segment.object_key, segment.size, &segment.sha256, dest)
                .await?;
        }
        self.record(file, dest).await?;
        tracing::debug!(instance = self.instance_id, file = %file.file_name, region = dest.region_id(), size = file.size, "binlog segments copied");
        Ok(())
    }
}

/// Whether the destination's `copy` of `file` (the instance's region's) lacks something.
fn behind(file: &LogFile, copy: Option<&LogFile>) -> bool {
    match (file.state, copy) {
        (_, Some(c)) if c.state == LogFileState::Closed => false,
        (LogFileState::Closed, _) => true,
        (LogFileState::Open, None) => !file.segments.is_empty(),
        (LogFileState::Open, Some(c)) => file.size > c.size,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use xbak_testkit::{ClosedFile, Fixture, DEST, INSTANCE, SRC};

    // Paused time: the throttle's waits advance the clock instead of taking it, so the elapsed
    // (virtual) time is exactly what the limiter made the copy wait.
    #[tokio::test(start_paused = true)]
    async fn copies_wait_for_the_destinations_bandwidth_limit() {
        let f = Fixture::new(0).await;
        let first_event = f.base;
        let file = ClosedFile {
            name: "bin.000001",
            bytes: vec![7; 64 * 1024],
            first_event,
            last_event: first_event,
        };
        let lease_token = f.stream_closed_files(&[file]).await;
        let instance = f.instance(INSTANCE).await;
        let shipper = Shipper {
            catalog: f.catalog.clone(),
            source: (*f.regions.get(SRC).unwrap()).clone(),
            instance_id: instance.id,
            db_instance_id: INSTANCE.into(),
            lease_token,
            throttles: Arc::new(Throttles::new(16 * 1024)),
        };
        let started = tokio::time::Instant::now();
        assert_eq!(shipper.ship_pending().await.unwrap(), 1);
        let took = started.elapsed();
        // 64 KiB at 16 KiB/s: 4 s, less the limiter's burst of a quarter second.
        assert!(took >= Duration::from_millis(3750), "{took:?}");
        let files = f.catalog.log_files(instance.id).await.unwrap();
        assert!(
            files.iter().any(|x| x.region_id == DEST),
            "the copy is recorded"
        );
        assert_eq!(
            shipper.ship_pending().await.unwrap(),
            0,
            "nothing left to copy"
        );
    }
}
