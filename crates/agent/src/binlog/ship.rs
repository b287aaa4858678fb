//! Cross-region log copies: while a stream runs, every closed log file stored in the instance's
//! region that the policy's destination region does not hold yet is copied there whole (staged,
//! read back against the SHA-256 recorded when it was stored, published under the same key), then
//! recorded as that region's copy under the stream's lease. What to copy is read from the catalog
//! each round (source-region files minus destination-region ones), so a copy a killed worker left
//! unrecorded is simply done again by the next holder of the stream, at once.

use futures::TryStreamExt;
use std::collections::HashSet;
use std::sync::Arc;
use tokio_util::io::StreamReader;
use xbak_catalog::Catalog;
use xbak_domain::{LogFile, LogFileState};
use xbak_storage::{Checksum, RegionStore};

use super::sink::publish_verified;
use super::BinlogError;

/// Copies one stream's closed files to the destination region.
pub(super) struct Shipper {
    pub catalog: Arc<dyn Catalog>,
    pub source: RegionStore,
    pub instance_id: i64,
    pub lease_token: String,
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
        let reader = StreamReader::new(bytes.map_err(std::io::Error::other));
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
