//! `ModifyInstanceCrossBackupPolicy`: turn an instance's cross-region backup on or off.
//!
//! Absent optional values keep what is stored. Turning the policy on (or keeping it on) queues
//! the copy of the newest backup set of the last 24 hours to the destination if that set has
//! none there yet, as Alibaba copies the latest backup when the feature is enabled. When the
//! policy is turned on (off → on, or created enabled) and the instance has no set that started
//! in the last 24 hours, a full backup is requested instead ([`crate::OnDemandBackups`], fire
//! and forget: the response does not wait for it); once recorded, the set's copy is queued under
//! the enabled policy like any other. `xbak serve` takes that backup with its workers when the
//! instance has a database server (`xbak instance connect`); `serve --no-workers`, or an instance
//! without a database server, takes none. Turning the policy off stops new copies and keeps the
//! old ones. `LogBackupEnabled` is stored and reported; xbak does not copy binlogs yet.

use chrono::{DateTime, Duration, Utc};
use xbak_domain::instance::DEFAULT_RETENTION_DAYS;
use xbak_domain::{Instance, Policy};
use xbak_protocol::actions::describe_instance_cross_backup_policy::response::enable_word;
use xbak_protocol::actions::modify_instance_cross_backup_policy::params::ONLY_TYPE;
use xbak_protocol::actions::modify_instance_cross_backup_policy::{
    render, ModifyInstanceCrossBackupPolicyParams, ModifyInstanceCrossBackupPolicyResponse,
};
use xbak_protocol::{ApiError, Format};

use super::common::eligible_instance;
use crate::auth::Caller;
use crate::error::HandlerError;
use crate::state::AppState;
use axum::body::Body;

/// How far back a set may have started to be copied when the policy is turned on (older: a
/// backup is requested instead).
const LATEST_SET_WINDOW_HOURS: i64 = 24;

pub async fn run(
    state: &AppState,
    caller: &Caller,
    params: ModifyInstanceCrossBackupPolicyParams,
    request_id: &str,
    format: Format,
) -> Result<Body, HandlerError> {
    let instance = eligible_instance(state, caller, &params.instance).await?;
    let current = state.catalog.cross_backup_policy(instance.id).await?;
    let was_enabled = current.as_ref().is_some_and(|c| c.policy.enabled);

    let enabled = params
        .backup_enabled
        .or(current.as_ref().map(|c| c.policy.enabled))
        .unwrap_or(false);
    if let Some(dest) = &params.cross_backup_region {
        let configured = state.catalog.region(dest).await?.is_some();
        if !configured || *dest == instance.region_id {
            return Err(ApiError::CrossBackupNotSupport.into());
        }
    }
    let dest = params
        .cross_backup_region
        .clone()
        .or(current.as_ref().map(|c| c.policy.dest_region_id.clone()));
    let log_backup_enabled = match params.log_backup_enabled {
        Some(true) if !enabled => return Err(ApiError::InvalidParametersFormat.into()),
        Some(on) => on,
        None => enabled && current.as_ref().is_some_and(|c| c.log_backup_enabled),
    };
    let retention = params
        .retention
        .or(current.as_ref().map(|c| c.policy.retention_days))
        .unwrap_or(DEFAULT_RETENTION_DAYS);

    let stored = match dest {
        None if enabled => return Err(ApiError::Missing("CrossBackupRegion").into()),
        // Turning off a policy that never existed: nothing to store.
        None => None,
        Some(dest) => {
            let now = Utc::now();
            let policy = Policy {
                instance_id: instance.id,
                enabled,
                dest_region_id: dest.clone(),
                retention_days: retention,
                updated_at: now,
            };
            let stored = state
                .catalog
                .put_cross_backup_policy(&policy, log_backup_enabled)
                .await?;
            if enabled {
                let since = now - Duration::hours(LATEST_SET_WINDOW_HOURS);
                let queued = state
                    .catalog
                    .queue_copy_of_latest_set(instance.id, &dest, since)
                    .await?;
                // Nothing queued: no recent set, or its copy exists already (it is checked).
                if !was_enabled && queued.is_none() {
                    request_backup_unless_recent(state, &instance, since).await?;
                }
            }
            Some(stored)
        }
    };

    let flag = |on: bool| enable_word(on).to_owned();
    let response = ModifyInstanceCrossBackupPolicyResponse {
        request_id: request_id.to_owned(),
        db_instance_id: instance.db_instance_id.clone(),
        region_id: instance.region_id.clone(),
        backup_enabled: flag(stored.as_ref().is_some_and(|s| s.policy.enabled)),
        log_backup_enabled: flag(stored.as_ref().is_some_and(|s| s.log_backup_enabled)),
        cross_backup_region: stored
            .as_ref()
            .map(|s| s.policy.dest_region_id.clone())
            .unwrap_or_default(),
        cross_backup_type: ONLY_TYPE.to_owned(),
        retent_type: 1,
        retention: stored
            .as_ref()
            .map_or(retention, |s| s.policy.retention_days),
    };
    Ok(Body::from(render(&response, format)))
}

/// Turning the policy on found no set to copy: asks for a backup of `instance` when it has no
/// set that started at or after `since` and something takes such backups.
async fn request_backup_unless_recent(
    state: &AppState,
    instance: &Instance,
    since: DateTime<Utc>,
) -> Result<(), HandlerError> {
    let Some(backups) = state.on_demand_backups() else {
        return Ok(());
    };
    let newest = state.catalog.newest_backup_set(instance.id).await?;
    if newest.is_some_and(|set| set.started_at >= since) {
        return Ok(());
    }
    tracing::info!(
        instance = %instance.db_instance_id,
        "cross-region policy enabled with no backup set from the last 24 hours: requesting a full backup"
    );
    backups.request(instance);
    Ok(())
}
