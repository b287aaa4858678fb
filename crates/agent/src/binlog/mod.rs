//! Continuous binlog backup: a streamer per instance reads the source's binary log over the
//! replication protocol (a replica connection with its own server id) and stores it in the
//! instance's region: the open file's new tail as a segment at least every flush interval, each
//! file whole once it rotates. The bytes stored are the source's file's bytes, so a file
//! rebuilt from the region replays with `mariadb-binlog` and compares with `cmp`.
//!
//! Crash safety: a segment or file is staged, read back and published before the catalog
//! records it together with the position after it ([`xbak_catalog::Catalog::advance_binlog_stream`]),
//! so a streamer killed at any instant resumes from the last recorded position: nothing it
//! records twice, nothing skipped. Binlogs purged on the source before they were read are
//! recorded as a gap.
//!
//! [`BinlogStreamers`] claims the instances to stream (a lease per instance, like copy jobs) and
//! runs one [`streamer`] task for each.

pub mod event;
pub mod gtid;
mod pool;
mod ship;
mod sink;
mod source;
pub mod streamer;
mod wire;

pub use pool::BinlogStreamers;
pub use streamer::{StreamEnd, Streamer};

use std::sync::Arc;
use std::time::Duration;

use xbak_storage::throttle::Throttles;

/// How streamers run.
#[derive(Debug, Clone)]
pub struct StreamerConfig {
    /// The open file's new tail is stored at least this often (`--log-flush-seconds`).
    pub flush_interval: Duration,
    /// A tail this large is stored at once, whatever the interval.
    pub max_tail: usize,
    /// Replica server ids are `server_id_base + instance id`: distinct per instance and
    /// (pick the base so) from any real replica of the source.
    pub server_id_base: u32,
    /// How long a claim holds a stream without renewal; renewed every third of it.
    pub lease: Duration,
    /// The source sends a heartbeat this often when idle; three missed mean a dead connection.
    pub heartbeat: Duration,
    /// Wait before reconnecting after a failure (doubled up to 30 s while failures repeat).
    pub retry: Duration,
    /// The bandwidth limits of copies into each region (`--bwlimit`), shared with the
    /// replicator's copies of backup sets; unlimited by default.
    pub throttles: Arc<Throttles>,
}

impl Default for StreamerConfig {
    fn default() -> Self {
        StreamerConfig {
            flush_interval: Duration::from_secs(5),
            max_tail: 64 * 1024 * 1024,
            server_id_base: 3_000_000_000,
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_secs(5),
            retry: Duration::from_secs(1),
            throttles: Arc::new(Throttles::new(0)),
        }
    }
}

/// Why a streamer stopped or had to reconnect.
#[derive(Debug, thiserror::Error)]
pub enum BinlogError {
    #[error(transparent)]
    Catalog(#[from] xbak_catalog::CatalogError),
    #[error(transparent)]
    Storage(#[from] xbak_storage::StorageError),
    #[error(transparent)]
    Sql(#[from] crate::db::SqlError),
    #[error("binlog stream: {0}")]
    Replication(#[from] wire::WireError),
    #[error(transparent)]
    Length(#[from] event::LengthMismatch),
    /// An event does not start where the stored bytes end.
    #[error("binlog event of {file} starts at {start}, stored bytes end at {expected}")]
    Discontinuity {
        file: String,
        start: u64,
        expected: u64,
    },
    /// The source has no binary log to read (`log_bin` off, or none listed).
    #[error("the source lists no binary logs (is log_bin on?)")]
    NoBinlogs,
    #[error("no heartbeat nor event from the source for {0:?}")]
    Silent(Duration),
    #[error("{0}")]
    Setup(String),
}
