//! The parts of the cross-region policy only the policy service uses: the log-backup switch, when
//! each switch was last turned on, queueing the copy of a recent set when the policy is turned on
//! (as Alibaba does), and the one transaction that does all of it for a policy change.

use deadpool_postgres::{GenericClient, Transaction};
use xbak_domain::naming::{copy_key, file_name_of};
use xbak_domain::policy as rules;
use xbak_domain::time::Timestamp;
use xbak_domain::{CrossBackupPolicy, Policy, PolicyChange};

use super::backups::newest_backup_set;
use super::instances::{instance_by_id, policy, put_policy, region, require_region};
use super::requests::{insert_request, open_request_of};
use super::rows::{execute, get, opt_time_at, query_opt, secs, wall_clock};
use crate::rules::switch_times;
use crate::{CatalogError, PolicyChangeError, PolicyChanged, Result};

/// Locks the instance's row until the transaction ends, so concurrent changes of one
/// instance's policy run one after another, each reading what the last wrote.
async fn lock_instance(tx: &Transaction<'_>, instance_id: i64) -> Result<()> {
    query_opt(
        tx,
        "SELECT 1 FROM instances WHERE id = $1 FOR UPDATE",
        &[&instance_id],
    )
    .await?;
    Ok(())
}

/// Stores `policy` as [`put_policy`] does, plus the log switch (forced off when the policy is
/// off) and the enable times: a switch turned on now gets `policy.updated_at`, one already on
/// keeps its time, one turned off keeps the time it was last turned on.
pub(super) async fn put_cross_backup_policy(
    tx: &Transaction<'_>,
    new: &Policy,
    log_backup_enabled: bool,
) -> Result<CrossBackupPolicy> {
    lock_instance(tx, new.instance_id).await?;
    let before = cross_backup_policy(tx, new.instance_id).await?;
    put_policy(tx, new).await?;
    let (log_on, backup_at, log_at) = switch_times(before.as_ref(), new, log_backup_enabled);
    execute(
        tx,
        "UPDATE policies SET log_backup_enabled = $2, backup_enabled_at = $3,
                             log_backup_enabled_at = $4
         WHERE instance_id = $1",
        &[
            &new.instance_id,
            &log_on,
            &backup_at.map(secs),
            &log_at.map(secs),
        ],
        || format!("policy of instance {}", new.instance_id),
    )
    .await?;
    cross_backup_policy(tx, new.instance_id)
        .await?
        .ok_or_else(|| CatalogError::Internal("stored policy vanished".into()))
}

/// The policy with its log switch and enable times. A policy turned on by `put_policy` alone
/// (the CLI) reports its `updated_at` as the enable time.
pub(super) async fn cross_backup_policy(
    c: &impl GenericClient,
    instance_id: i64,
) -> Result<Option<CrossBackupPolicy>> {
    let Some(p) = policy(c, instance_id).await? else {
        return Ok(None);
    };
    let row = query_opt(
        c,
        "SELECT log_backup_enabled, backup_enabled_at, log_backup_enabled_at
         FROM policies WHERE instance_id = $1",
        &[&instance_id],
    )
    .await?
    .ok_or_else(|| CatalogError::Internal("policy vanished".into()))?;
    let log_on: bool = get(&row, 0)?;
    let backup_at = opt_time_at(&row, 1)?.or(p.enabled.then_some(p.updated_at));
    Ok(Some(CrossBackupPolicy {
        log_backup_enabled: log_on && p.enabled,
        backup_enabled_at: backup_at,
        log_backup_enabled_at: opt_time_at(&row, 2)?,
        policy: p,
    }))
}

/// Queues the copy of the instance's newest backup set started at or after `since` to
/// `dest_region_id`, unless that set already has a copy there (in any state). Returns the new
/// `CrossBackupId`. `NotFound` if the instance or the region does not exist.
pub(super) async fn queue_copy_of_latest_set(
    tx: &Transaction<'_>,
    instance_id: i64,
    dest_region_id: &str,
    since: Timestamp,
) -> Result<Option<i64>> {
    let instance = instance_by_id(tx, instance_id)
        .await?
        .ok_or_else(|| CatalogError::NotFound(format!("instance {instance_id}")))?;
    require_region(tx, dest_region_id).await?;
    let Some(newest) = query_opt(
        tx,
        "SELECT id, object_key, started_at FROM backup_sets
         WHERE instance_id = $1 AND started_at >= $2
         ORDER BY started_at DESC, id DESC LIMIT 1",
        &[&instance_id, &secs(since)],
    )
    .await?
    else {
        return Ok(None);
    };
    let (set_id, object_key, started_at): (i64, String, i64) =
        (get(&newest, 0)?, get(&newest, 1)?, get(&newest, 2)?);
    let dest_key = copy_key(&instance.db_instance_id, file_name_of(&object_key));
    // A copy already there (queued by anyone, even concurrently) inserts nothing.
    let row = query_opt(
        tx,
        "INSERT INTO copies (backup_set_id, instance_id, dest_region_id, object_key, status,
                             backup_started_at, queued_at, next_attempt_at)
         VALUES ($1, $2, $3, $4, 'pending', $5, $6, $6)
         ON CONFLICT (backup_set_id, dest_region_id) DO NOTHING
         RETURNING id",
        &[
            &set_id,
            &instance_id,
            &dest_region_id,
            &dest_key,
            &started_at,
            &wall_clock(),
        ],
    )
    .await?;
    row.map(|r| get(&r, 0)).transpose()
}

/// The policy service's transaction: merges `change` into the stored policy by the domain's
/// rules, stores it, and, when the policy is on, queues the copy of the newest recent set or,
/// when turning it on found none, inserts a requested backup (unless one is open already).
pub(super) async fn change_cross_backup_policy(
    tx: &Transaction<'_>,
    instance_id: i64,
    change: &PolicyChange,
    now: Timestamp,
) -> Result<PolicyChanged, PolicyChangeError> {
    lock_instance(tx, instance_id).await?;
    let instance = instance_by_id(tx, instance_id)
        .await?
        .ok_or_else(|| CatalogError::NotFound(format!("instance {instance_id}")))?;
    if let Some(dest) = &change.dest_region_id {
        let configured = region(tx, dest).await?.is_some();
        rules::check_destination(dest, &instance.region_id, configured)?;
    }
    let current = cross_backup_policy(tx, instance_id).await?;
    let was_enabled = current.as_ref().is_some_and(|c| c.policy.enabled);
    let Some(resolved) = rules::resolve(instance_id, current.as_ref(), change, now)? else {
        return Ok(PolicyChanged::default());
    };
    let stored = put_cross_backup_policy(tx, &resolved.policy, resolved.log_backup_enabled).await?;
    let mut changed = PolicyChanged {
        stored: Some(stored),
        ..PolicyChanged::default()
    };
    if !resolved.policy.enabled {
        return Ok(changed);
    }
    let since = rules::copy_window_start(now);
    let dest = &resolved.policy.dest_region_id;
    changed.queued_copy_id = queue_copy_of_latest_set(tx, instance_id, dest, since).await?;
    let newest = newest_backup_set(tx, instance_id)
        .await?
        .map(|s| s.started_at);
    let needed = rules::backup_needed(
        was_enabled,
        true,
        changed.queued_copy_id.is_some(),
        newest,
        since,
    );
    if needed {
        changed.requested_backup_id = Some(match open_request_of(tx, instance_id).await? {
            Some(open) => open,
            None => insert_request(tx, instance_id, rules::POLICY_TRIGGER, now).await?,
        });
    }
    Ok(changed)
}
