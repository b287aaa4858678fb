//! The cross-region replicator: drains the catalog's copy queue. A [`Replicator`] claims a job
//! with a lease, streams the backup set from its source region into staging in the
//! destination region (resuming an earlier attempt's upload where the region allows), reads
//! the staged bytes back and compares them with the checksum recorded when the set was
//! registered, publishes atomically and marks the copy Completed; failed attempts are retried
//! on a [`Backoff`] schedule. [`Retention`] deletes copies older than their instance policy's
//! retention (object first, then row); copies wait for the per-destination bandwidth limits of
//! `xbak_storage::throttle`. Progress goes out as [`CopyEvent`]s (defined in `xbak-domain`, so that
//! readers of events need not depend on this crate).
//!
//! What lives here: the copy procedure, leases kept alive while copying, resumable uploads'
//! checkpoints, the retry schedule, retention and bandwidth limits. What does not: taking or
//! restoring backups (`xbak-agent`), SQL (the catalog), object stores and atomic publish
//! (storage), rendering progress (the CLI) or metrics (the server). The replicator and the API
//! server talk only through catalog rows.
//!
//! Modules import one way only (checked: no cycle): `replicator` → `copy` → `resume` →
//! `lease` → `failure`; `replicator`, `copy` and `resume` take a `context::CopyContext` (which
//! uses `config` and `failure`; `config` uses `backoff`); `retention` and
//! `replicator` report `error::ReplicatorError`.

mod backoff;
mod config;
mod context;
mod copy;
mod error;
mod failure;
mod lease;
mod replicator;
mod resume;
mod retention;
mod source;

pub use backoff::Backoff;
pub use config::ReplicatorConfig;
pub use error::ReplicatorError;
pub use replicator::{regions_from_catalog, Replicator, RunSummary};
pub use retention::{sweep_period, Retention, RetentionSummary};
pub use xbak_domain::CopyEvent;
pub use xbak_storage::throttle::Throttles;
