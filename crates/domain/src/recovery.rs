//! How far a copied backup set can be rolled forward in its region (from the set's consistent
//! time through the binlog files copied there, as long as they follow each other with no gap),
//! and which of those files a roll forward to a time replays.

use crate::binlog::{binlog_sequence, LogFile, LogFileState, LogGap};
use crate::time::Timestamp;

/// The end of the unbroken log coverage from `consistent_at` in one region, given that region's
/// copies of the instance's log files and the instance's gaps: the chain starts at the newest
/// file whose first event is at or before `consistent_at` and goes on while each next file (by
/// sequence) is there, the one before it is closed and no gap starts in it; it ends at the
/// chain's last event (of an open file: of its last stored segment). `consistent_at` itself
/// when no file reaches back to it (the set alone restores only to its own point).
pub fn recovery_end(consistent_at: Timestamp, files: &[LogFile], gaps: &[LogGap]) -> Timestamp {
    let mut sorted: Vec<&LogFile> = files.iter().collect();
    sorted.sort_by_key(|f| f.sequence);
    let Some(start) = sorted
        .iter()
        .rposition(|f| f.first_event_at.is_some_and(|t| t <= consistent_at))
    else {
        return consistent_at;
    };
    let broken_after = |f: &LogFile| {
        gaps.iter()
            .any(|g| binlog_sequence(&g.from_file) == Some(f.sequence))
    };
    let mut last = sorted[start];
    for next in &sorted[start + 1..] {
        let followed = last.state == LogFileState::Closed && !broken_after(last);
        if next.sequence != last.sequence + 1 || !followed {
            break;
        }
        last = next;
    }
    last.last_event_at
        .map_or(consistent_at, |t| t.max(consistent_at))
}

/// The files to replay from `start_file` (a restored set's binlog file) to reach `to_time`: that
/// file and each next one by sequence while events at or before `to_time` can be in it (an open
/// file, with its stored segments, ends the list). An error when one it needs is not among
/// `files`.
pub fn files_to_replay<'a>(
    files: &'a [LogFile],
    start_file: &str,
    to_time: Timestamp,
) -> Result<Vec<&'a LogFile>, String> {
    let mut sorted: Vec<&LogFile> = files.iter().collect();
    sorted.sort_by_key(|f| f.sequence);
    let first = sorted
        .iter()
        .position(|f| f.file_name == start_file)
        .ok_or_else(|| {
            format!("binlog file {start_file} (where the set's data ends) is not in the region")
        })?;
    let mut chosen = vec![sorted[first]];
    for next in &sorted[first + 1..] {
        let last = chosen[chosen.len() - 1];
        let stop_is_in_last = last.last_event_at.is_some_and(|t| t > to_time);
        let next_starts_later = next.first_event_at.is_some_and(|t| t > to_time);
        let last_is_open = last.state == LogFileState::Open;
        if stop_is_in_last
            || next_starts_later
            || last_is_open
            || next.sequence != last.sequence + 1
        {
            break;
        }
        chosen.push(next);
    }
    let last = chosen[chosen.len() - 1];
    let followed = sorted
        .iter()
        .any(|f| f.sequence == last.sequence + 1 && f.first_event_at.is_some_and(|t| t > to_time));
    if last.last_event_at.is_none_or(|t| t < to_time) && !followed {
        // Only a window check that raced retention could get here.
        return Err(format!(
            "the binlog in the region ends with {} before the time asked for",
            last.file_name
        ));
    }
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone, Utc};

    fn at(minute: i64) -> Timestamp {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + Duration::minutes(minute)
    }

    /// Closed file `bin.00000<n>` with events from minute `first` to minute `last`.
    fn file(n: i64, first: i64, last: i64) -> LogFile {
        LogFile {
            id: n,
            instance_id: 1,
            region_id: "cn-shanghai".into(),
            file_name: format!("bin.00000{n}"),
            sequence: n,
            size: 100,
            first_event_at: Some(at(first)),
            last_event_at: Some(at(last)),
            state: LogFileState::Closed,
            object_key: Some(format!("binlogs/rm-a/bin.00000{n}")),
            sha256: None,
            crc64: None,
            segments: vec![],
        }
    }

    fn gap_after(n: i64) -> LogGap {
        LogGap {
            id: 1,
            instance_id: 1,
            from_file: format!("bin.00000{n}"),
            from_offset: 4,
            to_file: format!("bin.00000{}", n + 2),
            to_offset: 4,
            from_time: None,
            reason: "purged".into(),
            recorded_at: at(0),
        }
    }

    #[test]
    fn contiguous_files_carry_the_window_to_their_last_event() {
        let files = [file(3, 20, 29), file(1, 0, 9), file(2, 10, 19)];
        assert_eq!(recovery_end(at(5), &files, &[]), at(29));
        assert_eq!(recovery_end(at(15), &files, &[]), at(29));
    }

    #[test]
    fn a_missing_file_or_a_gap_ends_it() {
        let files = [file(1, 0, 9), file(2, 10, 19), file(4, 30, 39)];
        assert_eq!(recovery_end(at(5), &files, &[]), at(19));
        let files = [file(1, 0, 9), file(2, 10, 19), file(3, 20, 29)];
        assert_eq!(recovery_end(at(5), &files, &[gap_after(2)]), at(19));
        assert_eq!(recovery_end(at(25), &files, &[gap_after(2)]), at(29));
    }

    #[test]
    fn no_file_reaching_back_leaves_the_sets_own_point() {
        assert_eq!(recovery_end(at(5), &[file(1, 10, 19)], &[]), at(5));
        assert_eq!(recovery_end(at(5), &[], &[]), at(5));
        // A set newer than the last event of the last file: its own point.
        assert_eq!(recovery_end(at(50), &[file(1, 0, 9)], &[]), at(50));
    }

    #[test]
    fn an_open_file_counts_to_its_last_segment_and_ends_the_chain() {
        let mut open = file(2, 10, 14);
        open.state = LogFileState::Open;
        let files = [file(1, 0, 9), open.clone(), file(3, 20, 29)];
        assert_eq!(recovery_end(at(5), &files, &[]), at(14));
        assert_eq!(recovery_end(at(12), &files, &[]), at(14));
        assert_eq!(
            sequences(&files_to_replay(&files, "bin.000001", at(14)).unwrap()),
            [1, 2]
        );
        assert!(files_to_replay(&files, "bin.000001", at(20)).is_err());
    }

    fn sequences(files: &[&LogFile]) -> Vec<i64> {
        files.iter().map(|f| f.sequence).collect()
    }

    #[test]
    fn replay_starts_at_the_sets_file_and_stops_in_the_file_holding_the_time() {
        let files = [
            file(3, 20, 29),
            file(1, 0, 9),
            file(2, 10, 19),
            file(4, 30, 39),
        ];
        assert_eq!(
            sequences(&files_to_replay(&files, "bin.000001", at(5)).unwrap()),
            [1]
        );
        assert_eq!(
            sequences(&files_to_replay(&files, "bin.000001", at(25)).unwrap()),
            [1, 2, 3]
        );
        assert_eq!(
            sequences(&files_to_replay(&files, "bin.000002", at(39)).unwrap()),
            [2, 3, 4]
        );
        // The second a file ends in can go on in the next one.
        let files = [file(1, 0, 10), file(2, 10, 19)];
        assert_eq!(
            sequences(&files_to_replay(&files, "bin.000001", at(10)).unwrap()),
            [1, 2]
        );
        // A time between two files' events: the next file starts later, so it is not read.
        let files = [file(1, 0, 9), file(2, 12, 19)];
        assert_eq!(
            sequences(&files_to_replay(&files, "bin.000001", at(10)).unwrap()),
            [1]
        );
    }

    #[test]
    fn a_missing_start_file_or_a_log_ending_early_is_an_error() {
        let files = [file(2, 10, 19), file(3, 20, 29)];
        assert!(files_to_replay(&files, "bin.000001", at(15)).is_err());
        assert!(files_to_replay(&files, "bin.000002", at(35)).is_err());
    }
}
