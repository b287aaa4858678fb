//! An instance's cross-region backup policy as the describe actions report it
//! (`DescribeInstanceCrossBackupPolicy`, each item of `DescribeCrossRegionBackupDBInstance`).
//!
//! An instance that never had a policy reports both switches `Disable`, empty enable times and
//! destination, and the default retention (7 days). `DBInstanceStatus` is always `Running` and
//! `LockMode` `Unlock` (xbak does not track either); `DBInstanceDescription` is empty (xbak keeps
//! no description).

use xbak_domain::instance::DEFAULT_RETENTION_DAYS;
use xbak_domain::{CrossBackupPolicy, Instance};
use xbak_protocol::actions::cross_backup_policy::{enable_word, InstanceCrossBackupPolicy};
use xbak_protocol::actions::modify_instance_cross_backup_policy::params::ONLY_TYPE;
use xbak_protocol::actions::modify_instance_cross_backup_policy::ModifyInstanceCrossBackupPolicyResponse;
use xbak_protocol::time::format_utc;

/// The wire fields of `instance`'s `policy` (none stored: the defaults above).
pub fn policy_fields(
    instance: &Instance,
    policy: Option<&CrossBackupPolicy>,
) -> InstanceCrossBackupPolicy {
    let time = |t: Option<xbak_domain::time::Timestamp>| t.map(format_utc).unwrap_or_default();
    InstanceCrossBackupPolicy {
        db_instance_id: instance.db_instance_id.clone(),
        backup_enabled: enable_word(policy.is_some_and(|p| p.policy.enabled)).to_owned(),
        backup_enabled_time: time(policy.and_then(|p| p.backup_enabled_at)),
        log_backup_enabled: enable_word(policy.is_some_and(|p| p.log_backup_enabled)).to_owned(),
        log_backup_enabled_time: time(policy.and_then(|p| p.log_backup_enabled_at)),
        cross_backup_region: policy
            .map(|p| p.policy.dest_region_id.clone())
            .unwrap_or_default(),
        cross_backup_type: ONLY_TYPE.to_owned(),
        retent_type: 1,
        retention: policy.map_or(DEFAULT_RETENTION_DAYS, |p| p.policy.retention_days),
        engine: instance.engine.clone(),
        engine_version: instance.engine_version.clone(),
        db_instance_status: "Running".to_owned(),
        lock_mode: "Unlock".to_owned(),
        db_instance_description: String::new(),
    }
}

/// `instance`'s policy as stored (both switches `Disable`, no destination and
/// `default_retention` days when it has none): all of `ModifyInstanceCrossBackupPolicy`'s answer.
pub fn stored_policy(
    request_id: &str,
    instance: &Instance,
    stored: Option<&CrossBackupPolicy>,
    default_retention: i64,
) -> ModifyInstanceCrossBackupPolicyResponse {
    let fields = policy_fields(instance, stored);
    ModifyInstanceCrossBackupPolicyResponse {
        request_id: request_id.to_owned(),
        db_instance_id: fields.db_instance_id,
        region_id: instance.region_id.clone(),
        backup_enabled: fields.backup_enabled,
        log_backup_enabled: fields.log_backup_enabled,
        cross_backup_region: fields.cross_backup_region,
        cross_backup_type: fields.cross_backup_type,
        retent_type: fields.retent_type,
        retention: if stored.is_some() {
            fields.retention
        } else {
            default_retention
        },
    }
}
