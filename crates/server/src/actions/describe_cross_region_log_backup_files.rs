//! `DescribeCrossRegionLogBackupFiles`: the caller's instance's binlog files copied to other
//! regions (by the log shipper, each verified against its SHA-256 before it was recorded), whose
//! events overlap `[StartTime, EndTime]`, oldest first, one page at a time, each with signed links
//! to the copy's bytes in the region that holds it. `CrossBackupRegion` narrows the list to one
//! region. An unknown instance, another account's or one in another region answers the same 404.

use xbak_protocol::actions::describe_cross_region_log_backup_files::{
    CrossLogBackupItem, CrossLogBackupItems, DescribeCrossRegionLogBackupFilesParams,
    DescribeCrossRegionLogBackupFilesResponse,
};
use xbak_protocol::actions::render;

use super::log_files::{listed, overlapping, page};
use super::Call;
use crate::error::HandlerError;
use axum::body::Body;

/// Answers `DescribeCrossRegionLogBackupFiles`: one page of the instance's log file copies.
pub async fn run(
    call: &Call<'_>,
    params: DescribeCrossRegionLogBackupFilesParams,
) -> Result<Body, HandlerError> {
    let scope = &params.instance;
    let instance = call
        .own_instance(&scope.db_instance_id, Some(&scope.region_id))
        .await?;
    let ((start, start_at), (end, end_at)) = (params.start_time, params.end_time);
    let wanted = params.cross_backup_region.as_deref();
    let files = overlapping(call.state, instance.id, (start_at, end_at), |region| {
        region != instance.region_id && wanted.is_none_or(|w| w == region)
    })
    .await?;
    let mut item = Vec::new();
    for f in page(&files, params.page_size, params.page_number) {
        let shown = listed(call.state, f).await?;
        item.push(CrossLogBackupItem {
            cross_log_backup_id: f.id,
            cross_backup_region: f.region_id.clone(),
            log_file_name: f.file_name.clone(),
            cross_log_backup_size: f.size as i64,
            log_begin_time: shown.begin,
            log_end_time: shown.end,
            instance_id: instance.instance_number,
            cross_intranet_download_link: shown.link.clone(),
            cross_download_link: shown.link,
            link_expired_time: shown.expires,
        });
    }
    let response = DescribeCrossRegionLogBackupFilesResponse {
        request_id: call.request_id.to_owned(),
        region_id: instance.region_id,
        db_instance_id: instance.db_instance_id,
        start_time: start,
        end_time: end,
        total_record_count: files.len() as u64,
        page_number: params.page_number,
        page_record_count: item.len() as u32,
        items: CrossLogBackupItems { item },
    };
    Ok(Body::from(render(&response, call.format)))
}
