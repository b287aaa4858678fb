//! Cross-region copies of backup sets and the durable job that produces each one.

use std::sync::Arc;

use crate::backup::{BackupMethod, BackupSet, BackupSetScale, BackupType};
use crate::instance::Instance;
use crate::time::Timestamp;

/// Life cycle of a copy. Only `Completed` (BackupSetStatus 0) and `Failed` (1) are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyStatus {
    /// Queued or being copied; not visible in listings.
    Pending,
    /// Destination bytes were read back and matched the source checksum, then published.
    Completed,
    /// Gave up after the retry budget; listed with BackupSetStatus 1.
    Failed,
}

crate::words::wire_words!(CopyStatus {
    Pending => "pending",
    Completed => "completed",
    Failed => "failed",
});

impl CopyStatus {
    /// `BackupSetStatus` on the wire.
    pub fn backup_set_status(self) -> i64 {
        match self {
            CopyStatus::Failed => 1,
            _ => 0,
        }
    }
}

/// One cross-region copy, joined with its backup set and instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrossRegionCopy {
    /// `CrossBackupId`: allocated monotonically when the copy is queued, never reused.
    pub cross_backup_id: i64,
    pub dest_region_id: String,
    /// Object key in the destination region (`CrossBackupSetFile`).
    pub object_key: String,
    pub status: CopyStatus,
    pub completed_at: Option<Timestamp>,
    pub backup_set: BackupSet,
    pub instance: Arc<Instance>,
}

/// What a listing shows of one listed copy (Completed or Failed) and its backup set: the read
/// model of `DescribeCrossRegionBackups`, the API's hot path. The instance's columns are not
/// repeated on each item (the caller asked for one instance and has it), nor are the set's own
/// object key and checksum, which no listing shows: reading only these columns (and no instance
/// row) took 7.8 % of an uncached page's instructions off (bench/results.md, 2026-12-06T03:40Z).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedCopy {
    /// `CrossBackupId`.
    pub cross_backup_id: i64,
    pub dest_region_id: String,
    /// Object key in the destination region (`CrossBackupSetFile`).
    pub object_key: String,
    pub status: CopyStatus,
    /// The backup set's id.
    pub backup_set_id: i64,
    /// Region holding the original set.
    pub source_region_id: String,
    pub method: BackupMethod,
    pub backup_type: BackupType,
    pub scale: BackupSetScale,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub consistent_at: Timestamp,
    /// The instance's number when the set was taken (`InstanceId`).
    pub instance_number: i64,
    pub size_bytes: i64,
}

impl ListedCopy {
    /// Regions the copy can be restored into: the source and the destination (Alibaba's `RestoreRegions`).
    pub fn restore_regions(&self) -> Vec<&str> {
        let mut regions = vec![self.source_region_id.as_str()];
        if self.dest_region_id != self.source_region_id {
            regions.push(self.dest_region_id.as_str());
        }
        regions
    }
}

/// A claimed unit of copy work, as a worker sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyJob {
    /// The copy's `CrossBackupId`.
    pub copy_id: i64,
    pub source_region_id: String,
    pub source_key: String,
    pub dest_region_id: String,
    pub dest_key: String,
    pub size_bytes: i64,
    pub sha256: String,
    /// Attempts made before this one.
    pub attempts: i64,
    /// Opaque lease token: completion and failure reports must present it.
    pub lease_token: String,
    pub lease_until: Timestamp,
    /// What an earlier attempt saved to resume from (the storage layer's opaque JSON: a
    /// multipart upload's id and finished parts), if any. Kept across failed attempts, cleared
    /// on completion.
    pub resume_state: Option<String>,
}
