//! [`ReplicatorError`]: what stops the replicator or a retention pass as a whole.

use xbak_catalog::CatalogError;
use xbak_storage::StorageError;

/// What stops the replicator as a whole (one copy's failure is recorded on its row instead).
#[derive(Debug, thiserror::Error)]
pub enum ReplicatorError {
    /// The catalog refused or could not be reached while claiming work.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// A region's store could not be opened or swept.
    #[error(transparent)]
    Storage(#[from] StorageError),
}
