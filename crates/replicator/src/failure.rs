//! [`CopyFailure`]: why one copy attempt did not complete. A leaf: the copy procedure, the
//! lease keeper and resumable uploads all produce it, and it imports none of them.

use xbak_storage::StorageError;

/// Why a copy attempt did not complete.
#[derive(Debug)]
pub(crate) enum CopyFailure {
    /// Worth another attempt, per the [`crate::backoff::Backoff`] schedule.
    Retryable(String),
    /// No retry can fix it: the copy fails for good now.
    Permanent(String),
    /// Another worker holds the job now (or will, once the lease runs out); record nothing.
    LeaseLost,
}

impl std::fmt::Display for CopyFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CopyFailure::Retryable(m) | CopyFailure::Permanent(m) => f.write_str(m),
            CopyFailure::LeaseLost => f.write_str("lease lost"),
        }
    }
}

impl CopyFailure {
    /// A storage error while `doing` something: malformed keys and unsupported backends are
    /// permanent; everything else (missing source included: it may yet appear) is retried.
    pub(crate) fn storage(doing: &str, e: StorageError) -> Self {
        let message = format!("{doing}: {e}");
        match e {
            StorageError::InvalidKey(_) | StorageError::Unsupported(_) => {
                CopyFailure::Permanent(message)
            }
            _ => CopyFailure::Retryable(message),
        }
    }
}
