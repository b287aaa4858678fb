//! Cross-region log copies: while a stream runs, what the instance's region holds of its log that
//! the policy's destination region does not hold yet is copied there under the same keys: the
//! open file's new segments (so the destination trails the source by about a flush interval, not
//! by a file), and each closed file whole (which then replaces the destination's segments of it).
//! Every object is staged, read back against the SHA-256 recorded when it was stored and
//! published, then recorded as that region's copy under the stream's lease, within the same
//! `--bwlimit` per destination as the copies of backup sets. What to copy is read from the
//! catalog each round (source-region files against destination-region ones), so a copy a killed
//! worker left unrecorded is simply done again by the next holder of the stream, at once.
//! A file retention expired in the instance's region is never copied back: the catalog records
//! no copy of it, and the object a round copied meanwhile is deleted again.

use futures::TryStreamExt;
use std::collections::HashMap;
use std::sync::Arc;
use tokio_util::io::StreamReader;
use xbak_catalog::Catalog;
use xbak_domain::{BinlogProgress, LogFile, LogFileState};
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
    /// The destination's store, kept between rounds.
    pub dest: std::sync::Mutex<Option<RegionStore>>,
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
        let pending: Vec<(&LogFile, bool, Vec<BinlogProgress>)> = files
            .iter()
            .filter(|f| f.region_id == self.source.region_id())
            .filter_map(|f| {
                let copy = there.get(f.file_name.as_str());
                let missing = f.missing_from(copy.map(|c| (c.size, c.state)));
                (!missing.is_empty()).then_some((f, copy.is_some(), missing))
            })
            .collect();
        if pending.is_empty() {
            return Ok(0);
        }
        let dest = self.open_destination(&dest_id).await?;
        for (file, held, missing) in &pending {
            match self.ship(file, *held, missing, &dest).await {
                // An open file that closed since it was read, its segments gone: the next
                // round copies it whole.
                Err(BinlogError::Storage(xbak_storage::StorageError::NotFound(key)))
                    if file.state == LogFileState::Open =>
                {
                    tracing::debug!(instance = self.instance_id, %key, "segment gone: its file closed meanwhile");
                }
                other => other?,
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

    /// The store of region `dest_id`, opened once while the destination stays the same.
    async fn open_destination(&self, dest_id: &str) -> Result<RegionStore, BinlogError> {
        if let Some(store) = self.dest.lock().expect("destination store").as_ref() {
            if store.region_id() == dest_id {
                return Ok(store.clone());
            }
        }
        let region = self.catalog.region(dest_id).await?.ok_or_else(|| {
            BinlogError::Setup(format!(
                "destination region {dest_id} is not in the catalog"
            ))
        })?;
        let store = RegionStore::open(&region.region_id, &region.store_url)?;
        *self.dest.lock().expect("destination store") = Some(store.clone());
        Ok(store)
    }

    /// The destination region, when the policy ships logs.
    async fn destination_id(&self) -> Result<Option<String>, BinlogError> {
        let Some(p) = self.catalog.cross_backup_policy(self.instance_id).await? else {
            return Ok(None);
        };
        let wanted = p.policy.enabled && p.log_backup_enabled;
        Ok(Some(p.policy.dest_region_id).filter(|d| wanted && d != self.source.region_id()))
    }

    /// Copies the objects `missing` names (the open file's new segments, or the closed file
    /// whole) from the instance's region to `dest`, then records them; a closed file's copy
    /// that `dest` held open (`held`) loses its segment objects after.
    async fn ship(
        &self,
        file: &LogFile,
        held: bool,
        missing: &[BinlogProgress],
        dest: &RegionStore,
    ) -> Result<(), BinlogError> {
        for progress in missing {
            let (key, size, sha256) = match progress {
                BinlogProgress::Segment { segment, .. } => {
                    (&segment.object_key, segment.size, &segment.sha256)
                }
                BinlogProgress::Closed {
                    object_key,
                    size,
                    sha256,
                    ..
                } => (object_key, *size, sha256),
                BinlogProgress::Gap { .. } => continue,
            };
            if key.is_empty() || sha256.is_empty() {
                return Err(BinlogError::Setup(format!(
                    "closed log file {} has no object or checksums",
                    file.file_name
                )));
            }
            self.copy_object(key, size, sha256, dest).await?;
        }
        let recorded = self
            .catalog
            .record_log_copy(
                self.instance_id,
                &self.lease_token,
                file,
                dest.region_id(),
                chrono::Utc::now(),
            )
            .await?;
        if !recorded && file.state == LogFileState::Closed {
            return self.drop_unrecorded(file, dest).await;
        }
        if file.state == LogFileState::Open {
            tracing::debug!(instance = self.instance_id, file = %file.file_name, region = dest.region_id(), size = file.size, "binlog segments copied");
            return Ok(());
        }
        tracing::info!(instance = self.instance_id, file = %file.file_name, region = dest.region_id(), size = file.size, "binlog file copied");
        if held {
            // Left behind if this fails or the process dies here: swept at the next claim.
            let n = drop_segments(dest, &self.db_instance_id, &file.file_name).await?;
            tracing::debug!(instance = self.instance_id, file = %file.file_name, segments = n, "segments deleted in the destination");
        }
        Ok(())
    }

    /// Deletes the whole-file object just copied for closed file `file` when the catalog
    /// recorded no copy of it: retention expired the file in the instance's region after this
    /// round read it, so no row will ever name the copy. Kept if `dest` is recorded holding the
    /// file closed after all; segments `dest` holds of it stay, named by its open row.
    async fn drop_unrecorded(&self, file: &LogFile, dest: &RegionStore) -> Result<(), BinlogError> {
        let files = self.catalog.log_files(self.instance_id).await?;
        let recorded = files.iter().any(|f| {
            f.region_id == dest.region_id()
                && f.file_name == file.file_name
                && f.state == LogFileState::Closed
        });
        if recorded {
            return Ok(());
        }
        if let Some(key) = &file.object_key {
            tracing::info!(instance = self.instance_id, file = %file.file_name, region = dest.region_id(),
                "binlog file expired while it was copied; copy deleted");
            match dest.delete(key).await {
                Ok(()) | Err(xbak_storage::StorageError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use xbak_testkit::{ClosedFile, Fixture, DEST, INSTANCE, SRC};

    /// The shipper of an instance whose streamer stored one closed file of `size` bytes, its
    /// copies limited to `bwlimit` bytes/s (0: none).
    async fn shipper_of_one_file(f: &Fixture, size: usize, bwlimit: u64) -> Shipper {
        let file = ClosedFile {
            name: "bin.000001",
            bytes: vec![7; size],
            first_event: f.base,
            last_event: f.base,
        };
        let lease_token = f.stream_closed_files(&[file]).await;
        let instance = f.instance(INSTANCE).await;
        Shipper {
            catalog: f.catalog.clone(),
            source: (*f.regions.get(SRC).unwrap()).clone(),
            instance_id: instance.id,
            db_instance_id: INSTANCE.into(),
            lease_token,
            throttles: Arc::new(Throttles::new(bwlimit)),
            dest: Default::default(),
        }
    }

    /// A round that read a closed file before retention expired it in the instance's region
    /// copies its object, but the catalog records no copy: the object it copied is deleted
    /// again, and the destination lists nothing.
    #[tokio::test]
    async fn a_file_expired_while_it_was_copied_is_not_brought_back() {
        let f = Fixture::new(0).await;
        let shipper = shipper_of_one_file(&f, 1024, 0).await;
        let read = f
            .catalog
            .log_files(shipper.instance_id)
            .await
            .unwrap()
            .remove(0);
        let missing = read.missing_from(None);
        f.catalog
            .begin_log_expiry(read.id, chrono::Utc::now())
            .await
            .unwrap()
            .expect("expiry begins");

        let dest = shipper.destination().await.unwrap().unwrap();
        shipper.ship(&read, false, &missing, &dest).await.unwrap();
        let key = read.object_key.as_deref().unwrap();
        assert!(dest.head(key).await.unwrap().is_none(), "copy deleted");
        assert!(f
            .catalog
            .log_files(shipper.instance_id)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(shipper.ship_pending().await.unwrap(), 0);
    }

    // Paused time: the throttle's waits advance the clock instead of taking it, so the elapsed
    // (virtual) time is exactly what the limiter made the copy wait.
    #[tokio::test(start_paused = true)]
    async fn copies_wait_for_the_destinations_bandwidth_limit() {
        let f = Fixture::new(0).await;
        let shipper = shipper_of_one_file(&f, 64 * 1024, 16 * 1024).await;
        let started = tokio::time::Instant::now();
        assert_eq!(shipper.ship_pending().await.unwrap(), 1);
        let took = started.elapsed();
        // 64 KiB at 16 KiB/s: 4 s, less the limiter's burst of a quarter second.
        assert!(took >= Duration::from_millis(3750), "{took:?}");
        let files = f.catalog.log_files(shipper.instance_id).await.unwrap();
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
