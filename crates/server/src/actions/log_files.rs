//! What both log listings share (`DescribeBinlogFiles` in the instance's region,
//! `DescribeCrossRegionLogBackupFiles` in the others): the stored files of an instance whose
//! events overlap a window, oldest first, one page of them, and each file's download link.

use chrono::{DateTime, Utc};
use xbak_domain::{LogFile, LogFileState};
use xbak_protocol::time::format_utc;

use super::common::object_link;
use crate::error::HandlerError;
use crate::state::AppState;

/// The instance's files stored whole in a region `in_region` accepts whose events overlap
/// `[start, end]`, by sequence (then region).
pub async fn overlapping(
    state: &AppState,
    instance_id: i64,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    in_region: impl Fn(&str) -> bool,
) -> Result<Vec<LogFile>, HandlerError> {
    let mut files: Vec<LogFile> = state
        .catalog
        .log_files(instance_id)
        .await?
        .into_iter()
        .filter(|f| f.state == LogFileState::Closed && f.object_key.is_some())
        .filter(|f| in_region(&f.region_id))
        .filter(|f| {
            let begin = f.first_event_at.or(f.last_event_at);
            let last = f.last_event_at.or(f.first_event_at);
            begin.is_some_and(|b| b <= end) && last.is_some_and(|e| e >= start)
        })
        .collect();
    files.sort_by(|a, b| (a.sequence, &a.region_id).cmp(&(b.sequence, &b.region_id)));
    Ok(files)
}

/// Page `number` (from 1) of `size` files.
pub fn page(files: &[LogFile], size: u32, number: u32) -> &[LogFile] {
    let from = (number as usize - 1).saturating_mul(size as usize);
    let from = from.min(files.len());
    &files[from..files.len().min(from + size as usize)]
}

/// A file's listed fields: its signed link, when the link expires, and its first and last
/// event times (`yyyy-MM-ddTHH:mm:ssZ`, empty when unknown).
pub struct Listed {
    pub link: String,
    pub expires: String,
    pub begin: String,
    pub end: String,
}

/// [`Listed`] of `f`, which is stored whole (has an object key).
pub async fn listed(state: &AppState, f: &LogFile) -> Result<Listed, HandlerError> {
    let key = f.object_key.as_deref().unwrap_or_default();
    let (link, expires_at) = object_link(state, &f.region_id, key).await?;
    let time = |t: Option<xbak_domain::time::Timestamp>| t.map(format_utc).unwrap_or_default();
    Ok(Listed {
        link,
        expires: format_utc(DateTime::from_timestamp(expires_at, 0).unwrap_or_default()),
        begin: time(f.first_event_at),
        end: time(f.last_event_at),
    })
}
