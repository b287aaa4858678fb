//! Object names, after Alibaba's pattern: `{region}_{DBInstanceId}_hins{InstanceId}_data_{yyyyMMddHHmmss}`
//! followed by `_qp.xb` for physical sets and `.tar.gz` for logical ones.

use crate::backup::BackupMethod;
use crate::time::Timestamp;

/// File name of a backup set taken at `started_at` (UTC; Alibaba uses Beijing time, see compatibility.md).
pub fn backup_set_file_name(
    region_id: &str,
    db_instance_id: &str,
    instance_number: i64,
    started_at: Timestamp,
    method: BackupMethod,
) -> String {
    let suffix = match method {
        BackupMethod::Physical => "_qp.xb",
        BackupMethod::Logical => ".tar.gz",
    };
    format!(
        "{region_id}_{db_instance_id}_hins{instance_number}_data_{}{suffix}",
        started_at.format("%Y%m%d%H%M%S")
    )
}

/// Object key of a backup set in its instance's region.
pub fn backup_set_key(db_instance_id: &str, file_name: &str) -> String {
    format!("backups/{db_instance_id}/{file_name}")
}

/// Largest manifest stored beside a set that is read whole (one of a few hundred thousand
/// tables): by the copy job carrying it, and by restores.
pub const MANIFEST_MAX_BYTES: u64 = 256 * 1024 * 1024;

/// Object key of the manifest stored beside a set, or beside a copy of it (`<set key>.manifest.json`).
pub fn manifest_key(set_key: &str) -> String {
    format!("{set_key}.manifest.json")
}

/// Object key of a cross-region copy in the destination region.
pub fn copy_key(db_instance_id: &str, file_name: &str) -> String {
    format!("cross/{db_instance_id}/{file_name}")
}

/// Object key of a closed binlog file in its instance's region.
pub fn log_file_key(db_instance_id: &str, file_name: &str) -> String {
    format!("binlogs/{db_instance_id}/{file_name}")
}

/// Object key of the segment of open binlog file `file_name` that starts at `offset` and ends
/// at `end` (the end is in the name: a segment published by a streamer killed before recording
/// it never collides with the one its successor publishes).
pub fn log_segment_key(db_instance_id: &str, file_name: &str, offset: u64, end: u64) -> String {
    let segments = log_segments_prefix(&log_file_key(db_instance_id, file_name));
    format!("{segments}/{offset:012}-{end:012}")
}

/// The prefix under which the segments of the binlog file stored whole at `file_key` (its
/// [`log_file_key`]) are kept: what is left of them once the file is closed is found there.
pub fn log_segments_prefix(file_key: &str) -> String {
    format!("{file_key}.segments")
}

/// The file name part of an object key (`CrossBackupSetFile`).
pub fn file_name_of(key: &str) -> &str {
    key.rsplit('/').next().unwrap_or(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use xbak_protocol::time::parse_utc_seconds;

    /// A closed file's leftover segments are found under its own key's segment prefix.
    #[test]
    fn segments_live_under_their_files_key() {
        let key = log_segment_key("rm-1", "bin.000007", 4, 100);
        assert_eq!(
            key,
            "binlogs/rm-1/bin.000007.segments/000000000004-000000000100"
        );
        let prefix = log_segments_prefix(&log_file_key("rm-1", "bin.000007"));
        assert!(
            key.starts_with(&format!("{prefix}/")),
            "{key} under {prefix}"
        );
    }

    #[test]
    fn names_follow_alibabas_pattern() {
        let t = parse_utc_seconds("2019-06-11T12:52:01Z").unwrap();
        assert_eq!(
            backup_set_file_name("cn-hangzhou", "rm-bp1", 7986073, t, BackupMethod::Logical),
            "cn-hangzhou_rm-bp1_hins7986073_data_20190611125201.tar.gz"
        );
        assert_eq!(
            backup_set_file_name("cn-hangzhou", "rm-bp1", 81, t, BackupMethod::Physical),
            "cn-hangzhou_rm-bp1_hins81_data_20190611125201_qp.xb"
        );
    }
}
