//! Regions as object stores: each region is an [`object_store::ObjectStore`] (a local
//! directory, or an S3-compatible bucket: [`s3`]) wrapped in a [`RegionStore`] that adds what a
//! backup service needs:
//!
//! - **staged, atomic writes**: bytes are streamed into `.staging/<token>/<key>` and only become
//!   visible at `<key>` through [`RegionStore::publish`], after the caller verified them; a crash
//!   never leaves a half-written object visible, and [`RegionStore::sweep_staging`] removes what
//!   a crash left behind;
//! - **checksummed streams**: uploads and read-backs compute size and SHA-256 as they go, with
//!   bounded memory (never a whole object in memory);
//! - **resumable uploads** on S3-compatible regions ([`resumable`]): a copy killed midway
//!   continues from the parts already uploaded;
//! - **signed, expiring download links**: presigned by the region's own server on S3-compatible
//!   regions ([`RegionStore::presigned_get`]), served by xbak for local ones ([`links`]).
//!
//! What does not live here: which object a backup set or copy is stored under (the domain's
//! `naming`), whether a copy is complete (the catalog), and retry policy (the engine).
//! With the `testing` feature (tests only, never a release build): `conformance` is the one
//! test suite every backend runs, and `faults` a fault-injecting store wrapper for the tests of
//! the layers above.

mod behind;
mod conditional;
mod error;
mod keys;
mod presign;
mod read;
mod region;
mod regions;
mod sweep;
mod upload;

#[cfg(feature = "testing")]
pub mod conformance;
#[cfg(feature = "testing")]
pub mod faults;
pub mod links;
pub mod private;
pub mod resumable;
pub mod s3;
pub mod throttle;

pub use behind::{start_writeback, ReadBehind};
pub use error::StorageError;
pub use presign::MAX_LINK_VALIDITY;
pub use region::RegionStore;
pub use regions::Regions;
pub use resumable::{ResumableStaged, ResumableUpload, ResumeState, UploadError, LOCAL_UPLOAD_ID};

/// Size of the parts an upload is cut into: large enough for S3's 5 MiB minimum part and for
/// few, large writes; small enough that a few in flight stay cheap.
pub const PART_SIZE: usize = 8 * 1024 * 1024;

/// A verified-or-not object in staging, as returned by [`RegionStore::upload_staged`]: where it
/// is and what the upload saw go by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staged {
    /// Key of the staging object (`.staging/<token>/<key>`); readable with
    /// [`RegionStore::checksum`] and [`RegionStore::get`], never listed.
    pub staging_key: String,
    /// Bytes written.
    pub size: u64,
    /// Lower-case hex SHA-256 of the bytes written.
    pub sha256: String,
}

impl Staged {
    /// The size and checksum the upload computed.
    pub fn checksum(&self) -> Checksum {
        Checksum {
            size: self.size,
            sha256: self.sha256.clone(),
        }
    }
}

/// Size and lower-case hex SHA-256 of an object's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksum {
    pub size: u64,
    pub sha256: String,
}

impl Checksum {
    /// What was read from `key` (`self`), if it has the `expected` size and SHA-256; else
    /// [`StorageError::ChecksumMismatch`].
    pub fn confirm(self, key: &str, expected: &Checksum) -> Result<Checksum, StorageError> {
        if self.size != expected.size || !self.sha256.eq_ignore_ascii_case(&expected.sha256) {
            return Err(StorageError::ChecksumMismatch {
                key: key.to_owned(),
                expected: expected.clone(),
                actual: self,
            });
        }
        Ok(self)
    }
}

impl std::fmt::Display for Checksum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} bytes, sha256 {}", self.size, self.sha256)
    }
}
