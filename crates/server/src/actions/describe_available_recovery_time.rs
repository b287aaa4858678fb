//! `DescribeAvailableRecoveryTime`: the window a cross-region copy can be restored to in its
//! region: from its set's consistent time to the end of the binlog files copied there that follow
//! one another with no gap ([`recovery_end`]).
//!
//! A copy that is unknown, another account's, still pending (not listed by
//! `DescribeCrossRegionBackups` yet) or not of `DBInstanceId` / `RegionId` (when sent) is answered
//! 404 `InvalidBackupSetID.NotFound`, the same answer in every case; a failed copy has no
//! cross-region file: 400 `NoAvailableDisasterRestoreBakset`.

use xbak_domain::recovery::recovery_end;
use xbak_domain::CopyStatus;
use xbak_protocol::actions::describe_available_recovery_time::{
    DescribeAvailableRecoveryTimeParams, DescribeAvailableRecoveryTimeResponse,
};
use xbak_protocol::actions::render;
use xbak_protocol::time::format_utc;
use xbak_protocol::ApiError;

use super::Call;
use crate::error::HandlerError;
use axum::body::Body;

/// Answers `DescribeAvailableRecoveryTime` for one copy.
pub async fn run(
    call: &Call<'_>,
    params: DescribeAvailableRecoveryTimeParams,
) -> Result<Body, HandlerError> {
    let catalog = &call.state.catalog;
    let not_found = || HandlerError::from(ApiError::InvalidBackupSetIdNotFound);
    let copy = catalog
        .copy(params.cross_backup_id)
        .await?
        .ok_or_else(not_found)?;
    let instance = &copy.instance;
    let sent =
        |wanted: &Option<String>, actual: &str| wanted.as_deref().is_none_or(|w| w == actual);
    let visible = instance.account_id == call.caller.account_id
        && copy.status != CopyStatus::Pending
        && sent(&params.db_instance_id, &instance.db_instance_id)
        && sent(&params.region_id, &instance.region_id);
    if !visible {
        return Err(not_found());
    }
    if copy.status == CopyStatus::Failed {
        return Err(ApiError::NoAvailableDisasterRestoreBakset.into());
    }
    let in_region: Vec<_> = catalog
        .log_files(instance.id)
        .await?
        .into_iter()
        .filter(|f| f.region_id == copy.dest_region_id)
        .collect();
    let gaps = catalog.log_gaps(instance.id).await?;
    let begin = copy.backup_set.consistent_at;
    let response = DescribeAvailableRecoveryTimeResponse {
        request_id: call.request_id.to_owned(),
        region_id: instance.region_id.clone(),
        cross_backup_id: copy.cross_backup_id,
        recovery_begin_time: format_utc(begin),
        recovery_end_time: format_utc(recovery_end(begin, &in_region, &gaps)),
    };
    Ok(Body::from(render(&response, call.format)))
}
