//! Backup sets: one backup of one instance, stored as one object in the instance's region.

use crate::time::Timestamp;
use crate::DomainError;

/// `BackupMethod`: how the set was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackupMethod {
    /// `L`: logical (mariadb-dump / mysqldump).
    Logical,
    /// `P`: physical (mariabackup / xtrabackup).
    Physical,
}

crate::words::wire_words!(BackupMethod as "BackupMethod" {
    Logical => "L",
    Physical => "P",
});

/// `BackupType`: full or incremental.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackupType {
    /// `F`
    Full,
    /// `I`
    Incremental,
}

crate::words::wire_words!(BackupType as "BackupType" {
    Full => "F",
    Incremental => "I",
});

/// `BackupSetScale`: whole instance (0) or a single database (1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackupSetScale {
    Instance,
    SingleDatabase,
}

impl BackupSetScale {
    pub fn as_i64(self) -> i64 {
        match self {
            BackupSetScale::Instance => 0,
            BackupSetScale::SingleDatabase => 1,
        }
    }

    pub fn from_i64(v: i64) -> Result<Self, DomainError> {
        match v {
            0 => Ok(BackupSetScale::Instance),
            1 => Ok(BackupSetScale::SingleDatabase),
            _ => Err(DomainError::InvalidValue {
                field: "BackupSetScale",
                value: v.to_string(),
            }),
        }
    }
}

/// What is recorded when a backup set exists in the instance's region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBackupSet {
    pub instance_id: i64,
    pub method: BackupMethod,
    pub backup_type: BackupType,
    pub scale: BackupSetScale,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub consistent_at: Timestamp,
    /// Node the set was taken from (`InstanceId` on the wire).
    pub instance_number: i64,
    /// Object key of the set in the source region.
    pub object_key: String,
    pub size_bytes: i64,
    /// Lower-case hex SHA-256 of the object's bytes, computed while it was stored.
    pub sha256: String,
}

/// A recorded backup set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSet {
    pub id: i64,
    pub instance_id: i64,
    /// Region holding the original (the instance's region when it was taken).
    pub source_region_id: String,
    pub method: BackupMethod,
    pub backup_type: BackupType,
    pub scale: BackupSetScale,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub consistent_at: Timestamp,
    pub instance_number: i64,
    pub object_key: String,
    pub size_bytes: i64,
    pub sha256: String,
}
