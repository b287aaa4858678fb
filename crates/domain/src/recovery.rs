//! How far a copied backup set can be rolled forward in its region: from the set's consistent
//! time through the binlog files copied there, as long as they follow each other with no gap.

use crate::binlog::{binlog_sequence, LogFile, LogFileState, LogGap};
use crate::time::Timestamp;

/// The end of the unbroken log coverage from `consistent_at` in one region, given that region's
/// copies of the instance's log files and the instance's gaps: the chain starts at the newest
/// closed file whose first event is at or before `consistent_at` and goes on while each next
/// file (by sequence) is there and no gap starts in the file before it; it ends at the chain's
/// last event. `consistent_at` itself when no file reaches back to it (the set alone restores
/// only to its own point).
pub fn recovery_end(consistent_at: Timestamp, files: &[LogFile], gaps: &[LogGap]) -> Timestamp {
    let mut closed: Vec<&LogFile> = files
        .iter()
        .filter(|f| f.state == LogFileState::Closed)
        .collect();
    closed.sort_by_key(|f| f.sequence);
    let Some(start) = closed
        .iter()
        .rposition(|f| f.first_event_at.is_some_and(|t| t <= consistent_at))
    else {
        return consistent_at;
    };
    let broken_after = |f: &LogFile| {
        gaps.iter()
            .any(|g| binlog_sequence(&g.from_file) == Some(f.sequence))
    };
    let mut last = closed[start];
    for next in &closed[start + 1..] {
        if next.sequence != last.sequence + 1 || broken_after(last) {
            break;
        }
        last = next;
    }
    last.last_event_at
        .map_or(consistent_at, |t| t.max(consistent_at))
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
        let mut open = file(1, 0, 9);
        open.state = LogFileState::Open;
        assert_eq!(recovery_end(at(5), &[open], &[]), at(5));
        // A set newer than the last event of the last file: its own point.
        assert_eq!(recovery_end(at(50), &[file(1, 0, 9)], &[]), at(50));
    }
}
