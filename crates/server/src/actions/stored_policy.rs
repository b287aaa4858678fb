//! The policy as stored, in the words both policy actions answer with.

use xbak_domain::{CrossBackupPolicy, Instance};
use xbak_protocol::actions::describe_instance_cross_backup_policy::response::enable_word;
use xbak_protocol::actions::modify_instance_cross_backup_policy::params::ONLY_TYPE;
use xbak_protocol::actions::modify_instance_cross_backup_policy::ModifyInstanceCrossBackupPolicyResponse;

/// `instance`'s policy as stored (both switches `Disable`, no destination and
/// `default_retention` days when it has none): all of `ModifyInstanceCrossBackupPolicy`'s answer,
/// and the policy part of `DescribeInstanceCrossBackupPolicy`'s.
pub fn stored_policy(
    request_id: &str,
    instance: &Instance,
    stored: Option<&CrossBackupPolicy>,
    default_retention: i64,
) -> ModifyInstanceCrossBackupPolicyResponse {
    let word = |on: bool| enable_word(on).to_owned();
    ModifyInstanceCrossBackupPolicyResponse {
        request_id: request_id.to_owned(),
        db_instance_id: instance.db_instance_id.clone(),
        region_id: instance.region_id.clone(),
        backup_enabled: word(stored.is_some_and(|s| s.policy.enabled)),
        log_backup_enabled: word(stored.is_some_and(|s| s.log_backup_enabled)),
        cross_backup_region: stored
            .map(|s| s.policy.dest_region_id.clone())
            .unwrap_or_default(),
        cross_backup_type: ONLY_TYPE.to_owned(),
        retent_type: 1,
        retention: stored.map_or(default_retention, |s| s.policy.retention_days),
    }
}
