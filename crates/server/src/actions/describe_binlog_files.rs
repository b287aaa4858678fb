//! `DescribeBinlogFiles`: the caller's instance's binlog files stored whole in its own region
//! (closed files; the open one is still segments), whose events overlap `[StartTime, EndTime]`,
//! oldest first, one page at a time, each with signed links to its bytes.
//!
//! `RegionId` is optional (the SDK models have none); when sent, the instance must be there. An
//! unknown instance, another account's or one in another region answers the same 404.

use xbak_protocol::actions::describe_binlog_files::{
    BinLogFile, BinLogFiles, DescribeBinlogFilesParams, DescribeBinlogFilesResponse,
};
use xbak_protocol::actions::render;

use super::log_files::{listed, overlapping, page};
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
    let window = (params.start_time, params.end_time);
    let files = overlapping(call.state, instance.id, window, |region| {
        region == instance.region_id
    })
    .await?;
    let mut items = Vec::new();
    for f in page(&files, params.page_size, params.page_number) {
        let shown = listed(call.state, f).await?;
        items.push(BinLogFile {
            log_file_name: f.file_name.clone(),
            file_size: f.size,
            log_begin_time: shown.begin,
            log_end_time: shown.end,
            intranet_download_link: shown.link.clone(),
            download_link: shown.link,
            link_expired_time: shown.expires,
            checksum: f.crc64.map(|c| c.to_string()).unwrap_or_default(),
            host_instance_id: instance.instance_number.to_string(),
            remote_status: COMPLETED.to_owned(),
        });
    }
    let response = DescribeBinlogFilesResponse {
        request_id: call.request_id.to_owned(),
        total_record_count: files.len() as u64,
        page_number: params.page_number,
        page_record_count: items.len() as u32,
        total_file_size: files.iter().map(|f| f.size).sum(),
        items: BinLogFiles {
            bin_log_file: items,
        },
    };
    Ok(Body::from(render(&response, call.format)))
}
