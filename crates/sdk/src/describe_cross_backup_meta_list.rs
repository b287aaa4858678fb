//! `DescribeCrossBackupMetaList`: typed request and the response model of the protocol crate.
//! Lists the databases (and one database's tables) of a cross-region backup set. The names
//! differ from the rest of the family as in Alibaba's model: `BackupSetId` is a
//! `CrossBackupId`, `Region` the instance's region, `PageSize`/`PageIndex` strings that page
//! only together.

pub use xbak_protocol::actions::describe_cross_backup_meta_list::{
    BackupMeta, DescribeCrossBackupMetaListResponse, MetaItems,
};

use crate::action::action;

/// The action's wire name.
pub const ACTION: &str = "DescribeCrossBackupMetaList";

action! {
    /// The databases of a cross-region backup set (`Items.Meta[]`).
    fn describe_cross_backup_meta_list(ACTION) -> DescribeCrossBackupMetaListResponse;

    /// Request parameters.
    pub struct DescribeCrossBackupMetaListRequest {
        /// A request for the set with `CrossBackupId` `backup_set_id`.
        new(backup_set_id: i64 = "BackupSetId");
        /// `GetDbName`: one database, with its tables.
        get_db_name: String = "GetDbName",
        /// `PageIndex` (from 1).
        page_index: u32 = "PageIndex",
        /// `PageSize`.
        page_size: u32 = "PageSize",
        /// `Pattern`: databases whose name contains it.
        pattern: String = "Pattern",
        /// `Region`: the instance's region.
        region: String = "Region",
    }
}

impl DescribeCrossBackupMetaListRequest {
    /// `PageSize` and `PageIndex` (they page only together).
    pub fn page(mut self, size: u32, index: u32) -> Self {
        self.page_size = Some(size);
        self.page_index = Some(index);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_in_order_and_only_when_set() {
        assert_eq!(
            DescribeCrossBackupMetaListRequest::new(7).to_params(),
            vec![("BackupSetId".to_owned(), "7".to_owned())]
        );
        let keys: Vec<String> = DescribeCrossBackupMetaListRequest::new(7)
            .region("cn-hangzhou")
            .pattern("shop")
            .get_db_name("shop")
            .page(10, 2)
            .to_params()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(
            keys,
            [
                "BackupSetId",
                "GetDbName",
                "PageIndex",
                "PageSize",
                "Pattern",
                "Region"
            ]
        );
    }
}
