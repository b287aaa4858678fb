//! The cross-region policy's rules, as pure functions: how a change merges with the stored
//! policy ([`resolve`]), which destinations are accepted ([`check_destination`]), which backup
//! set turning the policy on copies ([`copy_window_start`]) and when a backup must be requested
//! instead ([`backup_needed`]).
//!
//! The API (`ModifyInstanceCrossBackupPolicy`) and `xbak policy set` both go through these rules
//! (via the catalog's one policy transaction), so the same change stores the same policy.
//! A backup asked for by the policy is a [`RequestedBackup`] row that workers claim with a lease.

use chrono::Duration;

use crate::instance::{CrossBackupPolicy, Policy, DEFAULT_RETENTION_DAYS, RETENTION_DAYS};
use crate::time::Timestamp;

/// How far back a set may have started to be copied when the policy is turned on (older: a
/// backup is requested instead), as Alibaba copies the latest backup of the last day.
pub const LATEST_SET_WINDOW_HOURS: i64 = 24;

/// The `trigger` of backups requested by enabling a policy (and of the runs they produce).
pub const POLICY_TRIGGER: &str = "policy";

/// A change to an instance's cross-region policy. `None` keeps what is stored (or, when nothing
/// is stored, takes the default: off, retention [`DEFAULT_RETENTION_DAYS`], logs off).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyChange {
    /// Turn copies on or off.
    pub enabled: Option<bool>,
    /// The destination region.
    pub dest_region_id: Option<String>,
    /// Days to keep copies, in [`RETENTION_DAYS`].
    pub retention_days: Option<i64>,
    /// The log-backup switch (only while the policy is on).
    pub log_backup_enabled: Option<bool>,
}

/// Why a policy change is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyRefusal {
    /// Enabling needs a destination and none is given or stored.
    #[error("a destination region is required to turn cross-region copies on")]
    MissingDestination,
    /// The destination is the instance's own region.
    #[error("the destination must differ from the instance's region {0}")]
    SameRegion(String),
    /// The destination is not a configured region.
    #[error("no region {0:?}")]
    UnknownRegion(String),
    /// Retention outside 7..=1825 days.
    #[error("retention must be between 7 and 1825 days, not {0}")]
    RetentionOutOfRange(i64),
    /// Log backups asked for while the policy is (or stays) off.
    #[error("log backups ride on data backups: turn the policy on to turn them on")]
    LogBackupWhileOff,
}

/// The policy a change stores, with its log-backup switch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedPolicy {
    pub policy: Policy,
    pub log_backup_enabled: bool,
}

/// Refuses a destination that is the instance's own region (`instance_region`) or not a
/// configured region (`configured` false).
pub fn check_destination(
    dest_region_id: &str,
    instance_region: &str,
    configured: bool,
) -> Result<(), PolicyRefusal> {
    if dest_region_id == instance_region {
        return Err(PolicyRefusal::SameRegion(instance_region.to_owned()));
    }
    if !configured {
        return Err(PolicyRefusal::UnknownRegion(dest_region_id.to_owned()));
    }
    Ok(())
}

/// Merges `change` into the stored policy `current` of instance `instance_id`: values not given
/// keep the stored ones, defaults apply only when nothing is stored. The log switch not given
/// stays on only while the policy stays on. `Ok(None)`: nothing to store (turning off a policy
/// that never existed). The destination itself is checked by [`check_destination`].
pub fn resolve(
    instance_id: i64,
    current: Option<&CrossBackupPolicy>,
    change: &PolicyChange,
    now: Timestamp,
) -> Result<Option<ResolvedPolicy>, PolicyRefusal> {
    if let Some(days) = change.retention_days {
        if !RETENTION_DAYS.contains(&days) {
            return Err(PolicyRefusal::RetentionOutOfRange(days));
        }
    }
    let enabled = change
        .enabled
        .or(current.map(|c| c.policy.enabled))
        .unwrap_or(false);
    let log_backup_enabled = match change.log_backup_enabled {
        Some(true) if !enabled => return Err(PolicyRefusal::LogBackupWhileOff),
        Some(on) => on,
        None => enabled && current.is_some_and(|c| c.log_backup_enabled),
    };
    let retention_days = change
        .retention_days
        .or(current.map(|c| c.policy.retention_days))
        .unwrap_or(DEFAULT_RETENTION_DAYS);
    let dest = change
        .dest_region_id
        .clone()
        .or(current.map(|c| c.policy.dest_region_id.clone()));
    match dest {
        None if enabled => Err(PolicyRefusal::MissingDestination),
        None => Ok(None),
        Some(dest_region_id) => Ok(Some(ResolvedPolicy {
            policy: Policy {
                instance_id,
                enabled,
                dest_region_id,
                retention_days,
                updated_at: now,
            },
            log_backup_enabled,
        })),
    }
}

/// The earliest start time of a set that turning the policy on at `now` copies.
pub fn copy_window_start(now: Timestamp) -> Timestamp {
    now - Duration::hours(LATEST_SET_WINDOW_HOURS)
}

/// Whether a change must request a backup: the policy is turned on (it was off or did not
/// exist), no copy was queued, and the instance's newest set (`newest_set_started`) did not
/// start at or after `since` ([`copy_window_start`]).
pub fn backup_needed(
    was_enabled: bool,
    enabled: bool,
    queued_copy: bool,
    newest_set_started: Option<Timestamp>,
    since: Timestamp,
) -> bool {
    enabled && !was_enabled && !queued_copy && newest_set_started.is_none_or(|s| s < since)
}

/// Where a [`RequestedBackup`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestState {
    /// Not claimed yet.
    Waiting,
    /// A worker holds its lease and is taking the backup; claimable again once the lease
    /// expires (the worker died).
    Claimed,
    /// The backup was taken (or one already running covered it).
    Done,
    /// No backup could be taken; `last_error` says why.
    Failed,
}

crate::words::wire_words!(RequestState {
    Waiting => "waiting",
    Claimed => "claimed",
    Done => "done",
    Failed => "failed",
});

/// A durable request for a full backup of an instance (enabling a policy with no recent set
/// inserts one). Workers claim it with a lease, like a copy job; a request whose worker died is
/// claimed again once its lease expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedBackup {
    pub id: i64,
    pub instance_id: i64,
    /// Why it was requested ([`POLICY_TRIGGER`]); the run it produces carries the same trigger.
    pub trigger: String,
    pub state: RequestState,
    /// The holder's lease token while claimed.
    pub lease_token: Option<String>,
    pub lease_until: Option<Timestamp>,
    /// Claims so far.
    pub attempts: i64,
    pub created_at: Timestamp,
    /// The latest claim.
    pub claimed_at: Option<Timestamp>,
    /// The backup run it produced (or found running).
    pub backup_run_id: Option<i64>,
    pub last_error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32) -> Timestamp {
        chrono::Utc.with_ymd_and_hms(2026, 3, 1, h, 0, 0).unwrap()
    }

    fn stored(enabled: bool, retention: i64, log: bool) -> CrossBackupPolicy {
        CrossBackupPolicy {
            policy: Policy {
                instance_id: 1,
                enabled,
                dest_region_id: "cn-shanghai".into(),
                retention_days: retention,
                updated_at: at(0),
            },
            log_backup_enabled: log,
            backup_enabled_at: None,
            log_backup_enabled_at: None,
        }
    }

    fn on(dest: &str) -> PolicyChange {
        PolicyChange {
            enabled: Some(true),
            dest_region_id: Some(dest.into()),
            ..PolicyChange::default()
        }
    }

    #[test]
    fn defaults_apply_only_without_a_stored_policy() {
        let r = resolve(1, None, &on("cn-shanghai"), at(1))
            .unwrap()
            .unwrap();
        assert_eq!(r.policy.retention_days, DEFAULT_RETENTION_DAYS);
        assert!(r.policy.enabled && !r.log_backup_enabled);
        assert_eq!(r.policy.updated_at, at(1));

        let current = stored(true, 30, true);
        let r = resolve(1, Some(&current), &on("cn-beijing"), at(1))
            .unwrap()
            .unwrap();
        assert_eq!(r.policy.retention_days, 30, "retention not given: kept");
        assert!(r.log_backup_enabled, "log switch not given: kept");
        assert_eq!(r.policy.dest_region_id, "cn-beijing");
    }

    #[test]
    fn values_not_given_keep_the_stored_ones() {
        let current = stored(true, 90, false);
        let change = PolicyChange {
            retention_days: Some(60),
            ..PolicyChange::default()
        };
        let r = resolve(1, Some(&current), &change, at(1)).unwrap().unwrap();
        assert!(r.policy.enabled);
        assert_eq!(r.policy.dest_region_id, "cn-shanghai");
        assert_eq!(r.policy.retention_days, 60);
    }

    #[test]
    fn turning_off_drops_the_log_switch_and_keeps_the_rest() {
        let current = stored(true, 90, true);
        let off = PolicyChange {
            enabled: Some(false),
            ..PolicyChange::default()
        };
        let r = resolve(1, Some(&current), &off, at(1)).unwrap().unwrap();
        assert!(!r.policy.enabled && !r.log_backup_enabled);
        assert_eq!(r.policy.retention_days, 90);
        // Turning off what never existed stores nothing.
        assert_eq!(resolve(1, None, &off, at(1)), Ok(None));
    }

    #[test]
    fn refusals() {
        let bad_days = PolicyChange {
            retention_days: Some(6),
            ..on("cn-shanghai")
        };
        assert_eq!(
            resolve(1, None, &bad_days, at(1)),
            Err(PolicyRefusal::RetentionOutOfRange(6))
        );
        for days in [7, 1825] {
            let ok = PolicyChange {
                retention_days: Some(days),
                ..on("cn-shanghai")
            };
            assert!(resolve(1, None, &ok, at(1)).is_ok());
        }
        let logs_while_off = PolicyChange {
            log_backup_enabled: Some(true),
            ..PolicyChange::default()
        };
        assert_eq!(
            resolve(1, Some(&stored(false, 7, false)), &logs_while_off, at(1)),
            Err(PolicyRefusal::LogBackupWhileOff)
        );
        let on_without_dest = PolicyChange {
            enabled: Some(true),
            ..PolicyChange::default()
        };
        assert_eq!(
            resolve(1, None, &on_without_dest, at(1)),
            Err(PolicyRefusal::MissingDestination)
        );
        assert_eq!(
            check_destination("cn-hangzhou", "cn-hangzhou", true),
            Err(PolicyRefusal::SameRegion("cn-hangzhou".into()))
        );
        assert_eq!(
            check_destination("cn-nowhere", "cn-hangzhou", false),
            Err(PolicyRefusal::UnknownRegion("cn-nowhere".into()))
        );
        assert_eq!(
            check_destination("cn-shanghai", "cn-hangzhou", true),
            Ok(())
        );
    }

    #[test]
    fn the_copy_window_is_the_last_day() {
        assert_eq!(copy_window_start(at(23)), at(23) - Duration::hours(24));
    }

    #[test]
    fn a_backup_is_needed_only_when_turning_on_without_a_recent_set() {
        let since = at(1);
        assert!(backup_needed(false, true, false, None, since));
        assert!(backup_needed(false, true, false, Some(at(0)), since));
        // A set started at the window's start counts as recent.
        assert!(!backup_needed(false, true, false, Some(since), since));
        assert!(
            !backup_needed(false, true, true, None, since),
            "copy queued"
        );
        assert!(!backup_needed(true, true, false, None, since), "stays on");
        assert!(!backup_needed(false, false, false, None, since), "off");
    }
}
