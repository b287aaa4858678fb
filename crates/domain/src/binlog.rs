//! Continuous binlog backup: where an instance's streamer is in the source's binary log, the log
//! files it wrote into the instance's region (closed files whole, the open file as segments) and
//! the gaps it could not fill.
//!
//! A position is durable only together with the bytes before it: every [`BinlogProgress`]
//! carries the position it leads to and is recorded in one catalog transaction after its bytes
//! were published.

use crate::time::Timestamp;

/// Offset of the first event in every binlog file (after the 4-byte magic `\xfebin`).
pub const BINLOG_FIRST_EVENT: u64 = 4;

/// The bytes every binlog file starts with (an open file's segments start after them).
pub const BINLOG_MAGIC: [u8; 4] = [0xfe, b'b', b'i', b'n'];

/// A place in the source's binary log: the next byte the streamer needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinlogPosition {
    /// Binlog file name on the source (`mysql-bin.000007`).
    pub file: String,
    /// Byte offset in that file; everything before it is stored in the region.
    pub offset: u64,
    /// The MariaDB GTID state after the last transaction stored (`0-1-42,1-1-7`), as
    /// `@@gtid_binlog_pos` would print it; empty before the first GTID.
    pub gtid_state: String,
}

impl BinlogPosition {
    /// The start of binlog file `file` with `gtid_state`.
    pub fn start_of(file: &str, gtid_state: &str) -> BinlogPosition {
        BinlogPosition {
            file: file.to_owned(),
            offset: BINLOG_FIRST_EVENT,
            gtid_state: gtid_state.to_owned(),
        }
    }
}

/// A streamer's claim on one instance ([`crate::LeaseHolder`] records who), with where it stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinlogStreamClaim {
    pub instance_id: i64,
    pub lease_token: String,
    /// The durable position; `None` when the instance was never streamed.
    pub position: Option<BinlogPosition>,
}

/// The sequence number of a binlog file: the digits after its last dot (`mysql-bin.000007` → 7).
pub fn binlog_sequence(file: &str) -> Option<i64> {
    let digits = file.rsplit_once('.')?.1;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Whether a log file in the region is still being written (segments) or complete (one object).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogFileState {
    Open,
    Closed,
}

impl LogFileState {
    pub fn as_str(self) -> &'static str {
        match self {
            LogFileState::Open => "open",
            LogFileState::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<LogFileState> {
        match s {
            "open" => Some(LogFileState::Open),
            "closed" => Some(LogFileState::Closed),
            _ => None,
        }
    }
}

/// Bytes `[offset, offset + size)` of an open log file, stored as one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSegment {
    pub offset: u64,
    pub size: u64,
    /// Lower-case hex SHA-256 of the segment's bytes.
    pub sha256: String,
    pub object_key: String,
}

/// One binlog file of an instance as stored in the instance's region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFile {
    pub id: i64,
    pub instance_id: i64,
    pub region_id: String,
    /// The source's file name (`mysql-bin.000007`).
    pub file_name: String,
    /// The file's sequence number ([`binlog_sequence`]).
    pub sequence: i64,
    /// Bytes stored: the whole file once closed, up to the durable position while open.
    pub size: u64,
    /// Time of the first and last event stored (the events' own timestamps).
    pub first_event_at: Option<Timestamp>,
    pub last_event_at: Option<Timestamp>,
    pub state: LogFileState,
    /// The whole file's object, SHA-256 and CRC-64/XZ; set once closed.
    pub object_key: Option<String>,
    pub sha256: Option<String>,
    pub crc64: Option<u64>,
    /// The open file's segments in offset order (they cover `[4, size)`; the 4-byte magic is
    /// implied). None once closed: the whole file's object replaces them.
    pub segments: Vec<LogSegment>,
}

impl LogFile {
    /// What another region lacks of this file (as the instance's region holds it), given what
    /// that region holds of it (`held`: bytes stored and state): nothing once its copy is
    /// closed; the whole file when this one is closed (a copy held open is then closed and its
    /// segments dropped); else the segments from the held size on (from the first event when
    /// nothing is held), this file's first event time on the first, its last on the last. The
    /// log shipper copies these objects; `record_log_copy` records them.
    pub fn missing_from(&self, held: Option<(u64, LogFileState)>) -> Vec<BinlogProgress> {
        let position = BinlogPosition::start_of(&self.file_name, "");
        match (self.state, held) {
            (_, Some((_, LogFileState::Closed))) => Vec::new(),
            (LogFileState::Closed, _) => vec![BinlogProgress::Closed {
                file_name: self.file_name.clone(),
                size: self.size,
                sha256: self.sha256.clone().unwrap_or_default(),
                crc64: self.crc64.unwrap_or_default(),
                object_key: self.object_key.clone().unwrap_or_default(),
                first_event_at: self.first_event_at,
                last_event_at: self.last_event_at,
                position,
            }],
            (LogFileState::Open, held) => {
                let from = held.map_or(BINLOG_FIRST_EVENT, |(size, _)| size);
                let new: Vec<_> = self.segments.iter().filter(|s| s.offset >= from).collect();
                let last = new.len().saturating_sub(1);
                new.into_iter()
                    .enumerate()
                    .map(|(i, segment)| BinlogProgress::Segment {
                        file_name: self.file_name.clone(),
                        segment: segment.clone(),
                        first_event_at: self.first_event_at.filter(|_| i == 0),
                        last_event_at: self.last_event_at.filter(|_| i == last),
                        position: position.clone(),
                    })
                    .collect()
            }
        }
    }
}

/// A stretch of binlog the streamer could not store (purged on the source before it was read).
/// A restore window ends at its start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogGap {
    pub id: i64,
    pub instance_id: i64,
    /// Where the stored log stops (the durable position then).
    pub from_file: String,
    pub from_offset: u64,
    /// Where it starts again.
    pub to_file: String,
    pub to_offset: u64,
    /// Time of the last event stored before the gap, when known.
    pub from_time: Option<Timestamp>,
    pub reason: String,
    pub recorded_at: Timestamp,
}

/// What a streamer made durable, recorded with [`BinlogProgress::position`] in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BinlogProgress {
    /// A published segment of the open file `file_name` (created as Open on its first segment).
    Segment {
        file_name: String,
        segment: LogSegment,
        /// Timestamps of the segment's first and last events.
        first_event_at: Option<Timestamp>,
        last_event_at: Option<Timestamp>,
        /// Where the segment ends (`file_name`, `segment.offset + segment.size`).
        position: BinlogPosition,
    },
    /// File `file_name` is complete and published whole (`size` bytes, magic included); the
    /// position moves to the next file.
    Closed {
        file_name: String,
        size: u64,
        sha256: String,
        /// CRC-64/XZ (ECMA-182, as OSS computes it) of the whole file: `DescribeBinlogFiles`'s
        /// `Checksum`.
        crc64: u64,
        object_key: String,
        first_event_at: Option<Timestamp>,
        last_event_at: Option<Timestamp>,
        position: BinlogPosition,
    },
    /// The log between the durable position and `position` is gone on the source.
    Gap {
        reason: String,
        from_time: Option<Timestamp>,
        position: BinlogPosition,
    },
}

impl BinlogProgress {
    /// The durable position this progress leads to.
    pub fn position(&self) -> &BinlogPosition {
        match self {
            BinlogProgress::Segment { position, .. }
            | BinlogProgress::Closed { position, .. }
            | BinlogProgress::Gap { position, .. } => position,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_is_the_numeric_suffix() {
        assert_eq!(binlog_sequence("mysql-bin.000007"), Some(7));
        assert_eq!(binlog_sequence("a.b.123"), Some(123));
        assert_eq!(binlog_sequence("mysql-bin"), None);
        assert_eq!(binlog_sequence("mysql-bin.x1"), None);
        assert_eq!(binlog_sequence("mysql-bin."), None);
    }
}
