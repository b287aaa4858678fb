//! The `DescribeCrossRegionBackups` query, as the catalog executes it.

use crate::copy::ListedCopy;
use crate::time::Timestamp;

/// Page sizes Alibaba accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PageSize {
    Thirty,
    Fifty,
    Hundred,
}

impl PageSize {
    pub fn get(self) -> u32 {
        match self {
            PageSize::Thirty => 30,
            PageSize::Fifty => 50,
            PageSize::Hundred => 100,
        }
    }

    pub fn from_u32(v: u32) -> Option<Self> {
        match v {
            30 => Some(PageSize::Thirty),
            50 => Some(PageSize::Fifty),
            100 => Some(PageSize::Hundred),
            _ => None,
        }
    }
}

/// A validated listing query for one instance. The catalog returns only `Completed` and `Failed`
/// copies, ordered by `BackupStartTime` descending then `CrossBackupId` descending.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CopyQuery {
    /// Catalog id of the instance (already resolved and authorised by the caller).
    pub instance_id: i64,
    pub cross_backup_id: Option<i64>,
    /// Inclusive window on the backup set's start time.
    pub window: Option<(Timestamp, Timestamp)>,
    pub dest_region_id: Option<String>,
    /// Catalog id of the source backup set (`BackupId`).
    pub backup_set_id: Option<i64>,
    pub page_size: PageSize,
    /// 1-based.
    pub page_number: u32,
}

impl CopyQuery {
    /// The first page of `page_size` items of the instance's whole listing, no filter.
    pub fn first_page(instance_id: i64, page_size: PageSize) -> CopyQuery {
        CopyQuery {
            instance_id,
            cross_backup_id: None,
            window: None,
            dest_region_id: None,
            backup_set_id: None,
            page_size,
            page_number: 1,
        }
    }

    /// Rows skipped before the requested page.
    pub fn offset(&self) -> u64 {
        u64::from(self.page_number.saturating_sub(1)) * u64::from(self.page_size.get())
    }
}

/// One page of a listing plus the size of the whole filtered set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyListing {
    pub total: u64,
    pub items: Vec<ListedCopy>,
}
