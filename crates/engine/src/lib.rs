//! Background work: the backup [`agent`] (takes logical and physical backups into the
//! instance's region, on demand or on a daily schedule) and the cross-region [`Replicator`],
//! which drains the catalog's copy queue: claim a job with a lease, stream the backup set from
//! its source region into staging in the destination region, read the staged bytes back and
//! compare them with the checksum recorded when the set was registered, publish atomically,
//! mark the copy Completed.
//!
//! [`restore`] brings a copied set back (into a server or a data directory) and verifies it
//! against the set's manifest.
//!
//! [`Retention`] deletes copies older than their instance policy's retention (object first, then
//! row); [`throttle`] limits the bandwidth of copies per destination region.
//!
//! What lives here: the backup agent and its tools ([`db`], [`tools`]), the copy procedure, leases kept alive while copying, the retry schedule
//! ([`RetryPolicy`]), progress events ([`CopyEvent`]). What does not: SQL (the catalog), object
//! stores and atomic publish (storage), rendering progress (the CLI) or metrics (the server).
//! The engine and the API server talk only through catalog rows.

pub mod agent;
mod config;
mod copy;
pub mod db;
mod events;
mod lease;
mod replicator;
pub mod restore;
mod resume;
mod retention;
mod retry;
pub mod throttle;
pub mod tools;

pub use agent::{
    AgentConfig, AgentError, AgentProgress, BackupAgent, BackupOutcome, BackupRequest,
    BackupScheduler,
};
pub use config::ReplicatorConfig;
pub use events::CopyEvent;
pub use replicator::{regions_from_catalog, Replicator, RunSummary};
pub use retention::{Retention, RetentionSummary};
pub use retry::RetryPolicy;

use xbak_catalog::CatalogError;
use xbak_storage::StorageError;

/// What stops the replicator as a whole (one copy's failure is recorded on its row instead).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The catalog refused or could not be reached while claiming work.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// A region's store could not be opened or swept.
    #[error(transparent)]
    Storage(#[from] StorageError),
}
