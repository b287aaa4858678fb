//! `DescribeBinlogFiles`: the caller's instance's binlog files stored whole in its own region
//! (closed files; the open one is still segments), whose events overlap `[StartTime, EndTime]`,
//! oldest first, one page at a time, each with signed links to its bytes.
//!
//! `RegionId` is optional (the SDK models have none); when sent, the instance must be there. An
//! unknown instance, another account's or one in another region answers the same 404.

use xbak_domain::{LogFile, LogFileState};
use xbak_protocol::actions::describe_binlog_files::{
    BinLogFile, BinLogFiles, DescribeBinlogFilesParams, DescribeBinlogFilesResponse,
};
use xbak_protocol::actions::render;
use xbak_protocol::time::format_utc;

use super::common::object_link;
use super::Call;
use crate::error::HandlerError;
use axum::body::Body;

/// `RemoteStatus` of a file stored whole.
const COMPLETED: &str = "Completed";

/// Answers `DescribeBinlogFiles`: one page of the instance's stored binlog files.
pub async fn run(call: &Call<'_>, params: DescribeBinlogFilesParams) -> Result<Body, HandlerError> {
    let instance = call
        .own_instance(&params.db_instance_id, params.region_id.as_deref())
        .await?;
    let state = call.state;
    let mut files: Vec<LogFile> = state
        .catalog
        .log_files(instance.id)
        .await?
        .into_iter()
        .filter(|f| f.region_id == instance.region_id && f.state == LogFileState::Closed)
        .filter(|f| {
            let begin = f.first_event_at.or(f.last_event_at);
            let end = f.last_event_at.or(f.first_event_at);
            begin.is_some_and(|b| b <= params.end_time)
                && end.is_some_and(|e| e >= params.start_time)
        })
        .collect();
    files.sort_by_key(|f| f.sequence);
    let total_file_size = files.iter().map(|f| f.size).sum();
    let total_record_count = files.len() as u64;
    let mut items = Vec::new();
    for f in files
        .iter()
        .skip(params.offset())
        .take(params.page_size as usize)
    {
        let Some(key) = &f.object_key else { continue };
        let (link, expires_at) = object_link(state, &f.region_id, key).await?;
        let expires = chrono::DateTime::from_timestamp(expires_at, 0).unwrap_or_default();
        items.push(BinLogFile {
            log_file_name: f.file_name.clone(),
            file_size: f.size,
            log_begin_time: f.first_event_at.map(format_utc).unwrap_or_default(),
            log_end_time: f.last_event_at.map(format_utc).unwrap_or_default(),
            intranet_download_link: link.clone(),
            download_link: link,
            link_expired_time: format_utc(expires),
            checksum: f.crc64.map(|c| c.to_string()).unwrap_or_default(),
            host_instance_id: instance.instance_number.to_string(),
            remote_status: COMPLETED.to_owned(),
        });
    }
    let response = DescribeBinlogFilesResponse {
        request_id: call.request_id.to_owned(),
        total_record_count,
        page_number: params.page_number,
        page_record_count: items.len() as u32,
        total_file_size,
        items: BinLogFiles {
            bin_log_file: items,
        },
    };
    Ok(Body::from(render(&response, call.format)))
}
