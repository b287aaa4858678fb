//! `DescribeInstanceCrossBackupPolicy`: typed request and the response model of the protocol
//! crate. Reads an instance's cross-region backup policy with a few of the instance's details.

pub use xbak_protocol::actions::describe_instance_cross_backup_policy::DescribeInstanceCrossBackupPolicyResponse;

use crate::action::action;

/// The action's wire name.
pub const ACTION: &str = "DescribeInstanceCrossBackupPolicy";

action! {
    /// An instance's cross-region backup policy (`BackupEnabled` is `"Enable"`/`"Disable"`).
    fn describe_instance_cross_backup_policy(ACTION) -> DescribeInstanceCrossBackupPolicyResponse;

    /// Request parameters. `RegionId` falls back to the client's region when `None`.
    pub struct DescribeInstanceCrossBackupPolicyRequest: InstanceScope {}
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
