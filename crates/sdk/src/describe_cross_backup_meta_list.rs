//! `DescribeCrossBackupMetaList`: typed request and the response model of the protocol crate.
//! Lists the databases (and one database's tables) of a cross-region backup set. The names
//! differ from the rest of the family as in Alibaba's model: `BackupSetId` is a
//! `CrossBackupId`, `Region` the instance's region, `PageSize`/`PageIndex` strings that page
//! only together.

pub use xbak_protocol::actions::describe_cross_backup_meta_list::{
    BackupMeta, DescribeCrossBackupMetaListResponse, MetaItems,
};

use crate::action::{action, Params};
use crate::setters::setters;

/// The action's wire name.
pub const ACTION: &str = "DescribeCrossBackupMetaList";

/// Request parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DescribeCrossBackupMetaListRequest {
    /// `BackupSetId` (required): the `CrossBackupId`.
    pub backup_set_id: String,
    /// `GetDbName`: one database, with its tables.
    pub get_db_name: Option<String>,
    /// `Pattern`: databases whose name contains it.
    pub pattern: Option<String>,
    /// `PageSize`.
    pub page_size: Option<u32>,
    /// `PageIndex` (from 1).
    pub page_index: Option<u32>,
    /// `Region`: the instance's region.
    pub region: Option<String>,
}

impl DescribeCrossBackupMetaListRequest {
    /// A request for the set with `CrossBackupId` `cross_backup_id`.
    pub fn new(cross_backup_id: i64) -> Self {
        DescribeCrossBackupMetaListRequest {
            backup_set_id: cross_backup_id.to_string(),
            ..Default::default()
        }
    }
    setters! {
        /// `GetDbName`.
        get_db_name: into String;
        /// `Pattern`.
        pattern: into String;
        /// `Region`.
        region: into String;
    }

    /// `PageSize` and `PageIndex` (they page only together).
    pub fn page(mut self, size: u32, index: u32) -> Self {
        self.page_size = Some(size);
        self.page_index = Some(index);
        self
    }

    /// The wire parameters, in the order the official SDKs send them.
    pub fn to_params(&self) -> Vec<(String, String)> {
        Params::new()
            .put("BackupSetId", Some(&self.backup_set_id))
            .put("GetDbName", self.get_db_name.as_ref())
            .put("PageIndex", self.page_index)
            .put("PageSize", self.page_size)
            .put("Pattern", self.pattern.as_ref())
            .put("Region", self.region.as_ref())
            .into_vec()
    }
}

action! {
    DescribeCrossBackupMetaListRequest => DescribeCrossBackupMetaListResponse, ACTION;
    /// The databases of a cross-region backup set (`Items.Meta[]`).
    fn describe_cross_backup_meta_list;
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
