//! Cross-region log copies: while a stream runs, every closed log file stored in the instance's
//! region that the policy's destination region does not hold yet is copied there whole (staged,
//! read back against the SHA-256 recorded when it was stored, published under the same key), then
//! recorded as that region's copy under the stream's lease, within the same `--bwlimit` per
//! destination as the copies of backup sets. What to copy is read from the catalog
//! each round (source-region files minus destination-region ones), so a copy a killed worker left
//! unrecorded is simply done again by the next holder of the stream, at once.

use futures::TryStreamExt;
use std::collections::HashSet;
use std::sync::Arc;
use tokio_util::io::StreamReader;
use xbak_catalog::Catalog;
use xbak_domain::{LogFile, LogFileState};
use xbak_storage::throttle::{Throttled, Throttles};
use xbak_storage::{Checksum, RegionStore};

use super::sink::publish_verified;
use super::BinlogError;

/// Copies one stream's closed files to the destination region.
pub(super) struct Shipper {
    pub catalog: Arc<dyn Catalog>,
    pub source: RegionStore,
    pub instance_id: i64,
    pub lease_token: String,
    /// The bandwidth limit per destination (`--bwlimit`), shared with the backup set copies.
    pub throttles: Arc<Throttles>,
}

impl Shipper {
    /// Copies every closed file the destination lacks, oldest first; returns how many. Nothing
    /// while the policy has log backup off or no destination; the destination's store is opened
    /// only when there is something to copy.
    pub async fn ship_pending(&self) -> Result<usize, BinlogError> {
        let Some(dest_id) = self.destination_id().await? else {
            return Ok(0);
        };
        let files = self.catalog.log_files(self.instance_id).await?;
        let copied: HashSet<&str> = files
            .iter()
            .filter(|f| f.region_id == dest_id)
            .map(|f| f.file_name.as_str())
            .collect();
        let pending: Vec<&LogFile> = files
            .iter()
            .filter(|f| f.region_id == self.source.region_id() && f.state == LogFileState::Closed)
            .filter(|f| !copied.contains(f.file_name.as_str()))
            .collect();
        if pending.is_empty() {
            return Ok(0);
        }
        let region = self.catalog.region(&dest_id).await?.ok_or_else(|| {
            BinlogError::Setup(format!(
                "destination region {dest_id} is not in the catalog"
            ))
        })?;
        let dest = RegionStore::open(&region.region_id, &region.store_url)?;
        for file in &pending {
            self.ship(file, &dest).await?;
        }
        Ok(pending.len())
    }

    /// The destination region, when the policy ships logs.
    async fn destination_id(&self) -> Result<Option<String>, BinlogError> {
        let Some(p) = self.catalog.cross_backup_policy(self.instance_id).await? else {
            return Ok(None);
        };
        let wanted = p.policy.enabled && p.log_backup_enabled;
        Ok(Some(p.policy.dest_region_id).filter(|d| wanted && d != self.source.region_id()))
    }

    async fn ship(&self, file: &LogFile, dest: &RegionStore) -> Result<(), BinlogError> {
        let (Some(key), Some(sha256)) = (&file.object_key, &file.sha256) else {
            return Err(BinlogError::Setup(format!(
                "closed log file {} has no object or checksums",
                file.file_name
            )));
        };
        let (_, bytes) = self.source.get(key, None).await?;
        let limiter = self.throttles.for_region(dest.region_id());
        let reader = Throttled::new(
            StreamReader::new(bytes.map_err(std::io::Error::other)),
            limiter,
        );
        let recorded = Checksum {
            size: file.size,
            sha256: sha256.clone(),
        };
        publish_verified(dest, key, reader, Some(recorded)).await?;
        self.catalog
            .record_log_copy(
                self.instance_id,
                &self.lease_token,
                file,
                dest.region_id(),
                chrono::Utc::now(),
            )
            .await?;
        tracing::info!(instance = self.instance_id, file = %file.file_name, region = dest.region_id(), size = file.size, "binlog file copied");
        Ok(())
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
