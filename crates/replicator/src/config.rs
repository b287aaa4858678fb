//! [`ReplicatorConfig`]: how hard and how often the replicator works.

use crate::backoff::Backoff;
use std::time::Duration;

/// Tuning of a [`crate::Replicator`]. `Default` gives production values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicatorConfig {
    /// How long a claimed job stays ours without news; renewed every `lease / 3` while copying.
    /// A worker that dies loses its jobs to others once this runs out.
    pub lease: Duration,
    /// When failed attempts are retried, and how many are made.
    pub retry: Backoff,
    /// Copies run at the same time by one replicator (at least 1).
    pub concurrency: usize,
    /// Longest an idle [`crate::Replicator::run`] sleeps before looking for new work (jobs
    /// queued by the API server in another process wake nobody).
    pub poll_interval: Duration,
    /// Staging objects idle this long are leftovers of a crash and are swept at start-up. Far
    /// longer than any pause of a live copy (a live upload writes every few milliseconds).
    pub staging_max_age: Duration,
    /// Bandwidth limit per destination region in bytes per second, shared by all the copies this
    /// replicator runs into that region (0: unlimited, the default).
    pub bwlimit: u64,
}

impl Default for ReplicatorConfig {
    fn default() -> Self {
        ReplicatorConfig {
            lease: Duration::from_secs(60),
            retry: Backoff::default(),
            concurrency: 2,
            poll_interval: Duration::from_secs(2),
            staging_max_age: Duration::from_secs(6 * 3600),
            bwlimit: 0,
        }
    }
}
