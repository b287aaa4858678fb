//! `DescribeCrossBackupMetaList`: the databases (and, for one database, its tables) held by a
//! cross-region backup set, from the set's manifest.
//!
//! Its parameters are named unlike the rest of the family on purpose (Alibaba's model):
//! `BackupSetId` is a `CrossBackupId`, `Region` the instance's region, and `PageSize`/`PageIndex`
//! are strings. [`params`] validates the request; [`response`] renders the page.

pub mod params;
pub mod response;

pub use params::DescribeCrossBackupMetaListParams;
pub use response::{BackupMeta, DescribeCrossBackupMetaListResponse, MetaItems};
