//! [`CopyEvent`]: what the replicator tells its subscribers (the CLI draws progress bars from
//! them, the server turns them into metrics). Plain data, here so that the server can read
//! events without depending on the replicator. Events are best-effort: a slow subscriber misses
//! some (`broadcast` lag) and nobody listening costs nothing.

use std::time::Duration;

/// One step of one copy attempt. `copy_id` is the copy's `CrossBackupId`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyEvent {
    /// An attempt began; `size` is the source's recorded size in bytes.
    Started { copy_id: i64, size: u64 },
    /// The attempt takes up an earlier attempt's upload, which already holds `from` bytes.
    Resumed { copy_id: i64, from: u64 },
    /// Bytes of the object in staging so far (about once per 8 MiB; a resumed attempt counts
    /// from where it resumed).
    Progress { copy_id: i64, bytes: u64 },
    /// The staged bytes were read back and matched the recorded checksum.
    Verified { copy_id: i64 },
    /// Published and recorded as Completed.
    Completed {
        copy_id: i64,
        /// The region the copy was published in.
        dest_region_id: String,
        bytes: u64,
        elapsed: Duration,
        /// Where this attempt took up an earlier attempt's upload (0: it started from zero).
        resumed_from: u64,
        /// Bytes this attempt wrote to the destination (parts written again included).
        sent: u64,
    },
    /// The attempt failed; `will_retry` says whether the copy stays queued.
    Failed {
        copy_id: i64,
        error: String,
        will_retry: bool,
    },
}

impl CopyEvent {
    /// The copy the event is about.
    pub fn copy_id(&self) -> i64 {
        match self {
            CopyEvent::Started { copy_id, .. }
            | CopyEvent::Resumed { copy_id, .. }
            | CopyEvent::Progress { copy_id, .. }
            | CopyEvent::Verified { copy_id }
            | CopyEvent::Completed { copy_id, .. }
            | CopyEvent::Failed { copy_id, .. } => *copy_id,
        }
    }
}
