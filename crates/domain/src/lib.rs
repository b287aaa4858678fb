//! xbak's business vocabulary: accounts, regions, instances, backup sets, cross-region copies
//! and their progress events, policies, the listing query and bandwidth rates. Pure types and rules; no IO, no wire format, no SQL.
//!
//! Wire names (`"P"`, `"F"`, `"HighAvailability"`, …) live here because they are also the values
//! the catalog stores; the protocol crate decides how they are rendered.

pub mod agent;
pub mod backup;
pub mod binlog;
pub mod copy;
pub mod copy_event;
pub mod instance;
pub mod lease;
pub mod naming;
pub mod policy;
pub mod query;
pub mod rate;
pub mod recovery;
pub mod time;
mod words;

pub use agent::{
    BackupNode, BackupRun, BackupRunStatus, BackupSchedule, BackupSetDetails, Dsn,
    InstanceConnection, NewBackupRun,
};
pub use backup::{BackupMethod, BackupSet, BackupSetScale, BackupType, NewBackupSet};
pub use binlog::{
    BinlogPosition, BinlogProgress, BinlogStreamClaim, LogFile, LogFileState, LogGap, LogSegment,
};
pub use copy::{CopyJob, CopyStatus, CrossRegionCopy, ListedCopy};
pub use copy_event::CopyEvent;
pub use instance::{
    AccessKey, Account, Category, CrossBackupPolicy, Instance, NewInstance, Policy, Region,
    StorageType,
};
pub use lease::LeaseHolder;
pub use policy::{PolicyChange, PolicyRefusal, RequestState, RequestedBackup};
pub use query::{CopyListing, CopyQuery, PageSize};

/// A rule of the domain was broken by the caller's input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A value is outside the set the domain accepts (`field`, offending value).
    #[error("invalid {field}: {value:?}")]
    InvalidValue { field: &'static str, value: String },
}
