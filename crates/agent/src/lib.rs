//! The database agent: everything that talks to a MariaDB server.
//!
//! [`backup`] takes logical (`mariadb-dump`) and physical (`mariabackup`) backups of an
//! instance's database server and streams them into the instance's region, on demand
//! ([`BackupAgent`]) or on a daily schedule ([`BackupScheduler`]), recording each as a backup
//! set, which queues its cross-region copy. [`restore`] brings a copied set back (into a server
//! or a data directory) and verifies it against the set's manifest. [`db`] is the SQL session
//! (consistent points, table checksums) and [`tools`] runs the MariaDB client tools.
//!
//! [`binlog`] streams each instance's binary log into its region continuously.
//!
//! What lives here: the backup and restore procedures, their manifests and framing, the tools
//! and the database sessions. What does not: copying sets between regions (`xbak-replicator`),
//! SQL of the catalog (the catalog), object stores (storage) or rendering progress (the CLI).
//! Errors: [`AgentError`] for taking backups, [`RestoreError`] for restoring them.

/// `From<std::io::Error>` for an error enum whose `Io(String)` variant carries the message (a
/// `String`, so the variant is also built from messages of the agent's own).
macro_rules! io_error_from {
    ($error:ident) => {
        impl From<std::io::Error> for $error {
            fn from(e: std::io::Error) -> Self {
                $error::Io(e.to_string())
            }
        }
    };
}

pub mod backup;
pub mod binlog;
pub mod db;
pub mod restore;
pub mod tools;

pub use backup::{
    AgentConfig, AgentError, AgentProgress, BackupAgent, BackupOutcome, BackupRequest,
    BackupScheduler, TablesStored,
};
pub use restore::RestoreError;
