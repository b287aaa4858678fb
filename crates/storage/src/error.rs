//! The storage layer's one error enum, translated from `object_store`'s errors.

use crate::Checksum;

/// Why a storage operation failed. Messages name keys, never credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// The object (or, for [`crate::RegionStore::publish`], its staging object) does not exist.
    #[error("object {0:?} not found")]
    NotFound(String),
    /// Publishing onto a key that already holds different bytes.
    #[error("object {0:?} already exists with different content")]
    AlreadyExists(String),
    /// An object's bytes are not the ones expected ([`crate::RegionStore::verify`]).
    #[error("checksum mismatch for {key:?}: expected {expected}, found {actual}")]
    ChecksumMismatch {
        key: String,
        expected: Checksum,
        actual: Checksum,
    },
    /// The URL scheme or operation is not available on this backend.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A key that can never name a visible object (empty or `.`/`..` segments, control
    /// characters, the reserved `.staging/` prefix…). Only writes report it; reads of such a
    /// key report [`StorageError::NotFound`].
    #[error("invalid object key {0:?}")]
    InvalidKey(String),
    /// A byte range that is empty or starts at or past the end of the object.
    #[error("unsatisfiable range {start}..{end} of an object of {size} bytes")]
    InvalidRange { start: u64, end: u64, size: u64 },
    /// The backend failed (disk, network, permissions…).
    #[error("storage I/O error: {0}")]
    Io(String),
}

impl StorageError {
    /// Whether the same call may succeed if retried (a transient backend failure).
    pub fn is_retryable(&self) -> bool {
        matches!(self, StorageError::Io(_))
    }

    /// Translates an `object_store` error about `key`.
    pub(crate) fn from_store(key: &str, e: object_store::Error) -> Self {
        use object_store::Error as E;
        match e {
            E::NotFound { .. } => StorageError::NotFound(key.to_owned()),
            E::AlreadyExists { .. } | E::Precondition { .. } => {
                StorageError::AlreadyExists(key.to_owned())
            }
            E::NotSupported { .. } | E::NotImplemented => StorageError::Unsupported(e.to_string()),
            E::InvalidPath { .. } => StorageError::InvalidKey(key.to_owned()),
            other => StorageError::Io(other.to_string()),
        }
    }

    pub(crate) fn from_io(key: &str, e: std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::NotFound => StorageError::NotFound(key.to_owned()),
            _ => StorageError::Io(format!("{key}: {e}")),
        }
    }

    pub(crate) fn from_join(e: tokio::task::JoinError) -> Self {
        StorageError::Io(format!("background task failed: {e}"))
    }
}
