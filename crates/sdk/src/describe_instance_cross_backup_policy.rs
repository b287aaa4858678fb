//! `DescribeInstanceCrossBackupPolicy`: typed request and the response model of the protocol
//! crate. Reads an instance's cross-region backup policy with a few of the instance's details.

pub use xbak_protocol::actions::describe_instance_cross_backup_policy::DescribeInstanceCrossBackupPolicyResponse;

use crate::action::{action, Params};
use crate::setters::setters;

/// The action's wire name.
pub const ACTION: &str = "DescribeInstanceCrossBackupPolicy";

/// Request parameters. `RegionId` falls back to the client's region when `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DescribeInstanceCrossBackupPolicyRequest {
    /// `DBInstanceId` (required).
    pub db_instance_id: String,
    /// `RegionId`: the instance's region.
    pub region_id: Option<String>,
    /// `ResourceGroupId`.
    pub resource_group_id: Option<String>,
}

impl DescribeInstanceCrossBackupPolicyRequest {
    /// A request for `db_instance_id`.
    pub fn new(db_instance_id: impl Into<String>) -> Self {
        DescribeInstanceCrossBackupPolicyRequest {
            db_instance_id: db_instance_id.into(),
            ..Default::default()
        }
    }
    setters! {
        /// `RegionId`.
        region_id: into String;
        /// `ResourceGroupId`.
        resource_group_id: into String;
    }

    /// The wire parameters, in the order the official SDKs send them.
    pub fn to_params(&self) -> Vec<(String, String)> {
        Params::new()
            .put("DBInstanceId", Some(&self.db_instance_id))
            .put("RegionId", self.region_id.as_ref())
            .put("ResourceGroupId", self.resource_group_id.as_ref())
            .into_vec()
    }
}

action! {
    DescribeInstanceCrossBackupPolicyRequest => DescribeInstanceCrossBackupPolicyResponse, ACTION;
    /// An instance's cross-region backup policy (`BackupEnabled` is `"Enable"`/`"Disable"`).
    fn describe_instance_cross_backup_policy;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_in_order_and_only_when_set() {
        let r = DescribeInstanceCrossBackupPolicyRequest::new("rm-1");
        assert_eq!(
            r.to_params(),
            vec![("DBInstanceId".to_owned(), "rm-1".to_owned())]
        );
        let keys: Vec<String> = r
            .region_id("cn-hangzhou")
            .resource_group_id("rg-1")
            .to_params()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, ["DBInstanceId", "RegionId", "ResourceGroupId"]);
    }
}
