//! Typed, validated request parameters. Blank values count as absent. Checks run in this order,
//! first failure wins:
//!
//! 1. `BackupSetId` absent -> `MissingBackupSetId`;
//! 2. `PageSize` given and not an integer in `1..=i32::MAX` -> `InvalidPageSize`;
//! 3. `PageIndex` given and not an integer in `1..=i32::MAX` -> `InvalidPageIndex`.
//!
//! A `BackupSetId` that is not a `CrossBackupId` (an int32) names no set: the handler answers
//! `InvalidBackupSetID.NotFound` as for an unknown one. As Alibaba documents, `PageSize` and
//! `PageIndex` page only when both are given; otherwise the page holds every entry. `Region` is
//! compared with the instance's region, not validated. `RegionId` (the SDKs' common parameter)
//! and the resource-owner fields are not used.

use crate::error::ApiError;
use crate::params::RawParams;

/// Validated `DescribeCrossBackupMetaList` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeCrossBackupMetaListParams {
    /// `BackupSetId` (required) as received.
    pub backup_set_id: String,
    /// `GetDbName`: one database, matched exactly, listed with its tables.
    pub get_db_name: Option<String>,
    /// `Pattern`: databases whose name contains it (case-insensitive), without tables.
    pub pattern: Option<String>,
    /// `(PageSize, PageIndex)` when both are given.
    pub page: Option<(u32, u32)>,
    /// `Region`: the instance's region.
    pub region: Option<String>,
}

/// Which entries of a list form the requested page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSlice {
    /// Entries before the page.
    pub skip: usize,
    /// Most entries on the page.
    pub take: usize,
    /// `PageNumber`: the page's number (1 when unpaged).
    pub page_number: u32,
    /// `TotalPageCount`: pages needed for every entry (0 for none).
    pub total_pages: u32,
}

impl DescribeCrossBackupMetaListParams {
    /// Validates the merged request params (see the module docs for the rules and their order).
    pub fn from_params(p: &RawParams) -> Result<Self, ApiError> {
        let get = |k: &str| p.get_nonempty(k).map(str::to_owned);
        let backup_set_id = get("BackupSetId").ok_or(ApiError::Missing("BackupSetId"))?;
        let positive = |key: &str, refusal: ApiError| match p.get_nonempty(key) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=i32::MAX as u32).contains(n))
                .map(Some)
                .ok_or(refusal),
        };
        let size = positive("PageSize", ApiError::InvalidPageSize)?;
        let index = positive("PageIndex", ApiError::InvalidPageIndex)?;
        Ok(DescribeCrossBackupMetaListParams {
            backup_set_id,
            get_db_name: get("GetDbName"),
            pattern: get("Pattern"),
            page: size.zip(index),
            region: get("Region"),
        })
    }

    /// The `CrossBackupId` that `BackupSetId` names, if it can name one.
    pub fn cross_backup_id(&self) -> Option<i64> {
        self.backup_set_id
            .trim()
            .parse::<i32>()
            .ok()
            .filter(|id| *id > 0)
            .map(i64::from)
    }

    /// The page of a list of `total` entries.
    pub fn slice(&self, total: usize) -> PageSlice {
        let (size, index) = match self.page {
            Some((size, index)) => (size as usize, index),
            None => (total.max(1), 1),
        };
        PageSlice {
            skip: (index as usize - 1).saturating_mul(size),
            take: size,
            page_number: index,
            total_pages: u32::try_from(total.div_ceil(size)).unwrap_or(u32::MAX),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<DescribeCrossBackupMetaListParams, ApiError> {
        DescribeCrossBackupMetaListParams::from_params(&pairs.iter().copied().collect())
    }

    #[test]
    fn refusals_in_order() {
        assert_eq!(
            parse(&[("PageSize", "0")]),
            Err(ApiError::Missing("BackupSetId"))
        );
        let id = ("BackupSetId", "7");
        for v in ["0", "-1", "x", "2147483648"] {
            assert_eq!(
                parse(&[id, ("PageSize", v), ("PageIndex", "x")]),
                Err(ApiError::InvalidPageSize)
            );
            assert_eq!(
                parse(&[id, ("PageIndex", v)]),
                Err(ApiError::InvalidPageIndex)
            );
        }
    }

    #[test]
    fn backup_set_ids() {
        let with = |v: &str| parse(&[("BackupSetId", v)]).unwrap().cross_backup_id();
        assert_eq!(with("14358"), Some(14358));
        for v in ["abc", "0", "-3", "2147483648", "1.5"] {
            assert_eq!(with(v), None, "{v}");
        }
    }

    #[test]
    fn paging_needs_both_size_and_index() {
        let p = parse(&[("BackupSetId", "1"), ("PageSize", "2")]).unwrap();
        assert_eq!(p.page, None);
        let all = p.slice(5);
        assert_eq!(
            (all.skip, all.take, all.page_number, all.total_pages),
            (0, 5, 1, 1)
        );
        assert_eq!(p.slice(0).total_pages, 0);
        let p = parse(&[("BackupSetId", "1"), ("PageSize", "2"), ("PageIndex", "3")]).unwrap();
        let s = p.slice(5);
        assert_eq!((s.skip, s.take, s.page_number, s.total_pages), (4, 2, 3, 3));
        let past = parse(&[("BackupSetId", "1"), ("PageSize", "2"), ("PageIndex", "9")])
            .unwrap()
            .slice(5);
        assert_eq!((past.skip, past.page_number, past.total_pages), (16, 9, 3));
    }
}
