//! One binlog event as the bytes the source's file holds, and the few fields the streamer reads
//! from them (header, rotate target, MariaDB GTIDs, commits).
//!
//! The replica connection hands events over as the server sent them, which for events in a file
//! are that file's bytes; [`RawEvent::from_bytes`] checks the length against the header's
//! `event_size`.

/// Length of the common event header (v4).
pub const HEADER_LEN: usize = 19;
/// Length of a CRC32 checksum at the end of an event.
const CHECKSUM_LEN: usize = 4;

/// Event types the streamer looks at (MariaDB's own are 160 and up).
pub mod kind {
    pub const QUERY: u8 = 2;
    pub const ROTATE: u8 = 4;
    pub const FORMAT_DESCRIPTION: u8 = 15;
    pub const XID: u8 = 16;
    pub const HEARTBEAT: u8 = 27;
    pub const MARIADB_GTID: u8 = 162;
    pub const MARIADB_GTID_LIST: u8 = 163;
}

/// `LOG_EVENT_ARTIFICIAL_F`: made up by the server for the replica, not in any file.
const ARTIFICIAL: u16 = 0x20;
/// MariaDB GTID event flag `FL_STANDALONE`: the group is one statement, with no commit event.
const GTID_STANDALONE: u8 = 1;

/// An event's bytes, exactly as in the source's binlog file, and whether they end in a checksum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEvent {
    pub bytes: Vec<u8>,
    pub has_checksum: bool,
}

/// The header says one length and the packet holds another: the bytes would not be the file's.
#[derive(Debug, thiserror::Error)]
#[error("binlog event of {got} bytes, header says {size}")]
pub struct LengthMismatch {
    pub got: usize,
    pub size: u32,
}

/// A MariaDB GTID: replication domain, originating server, sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gtid {
    pub domain: u32,
    pub server: u32,
    pub seq: u64,
}

/// Whether `bytes` end in the CRC32 of what precedes them.
fn ends_in_crc32(bytes: &[u8]) -> bool {
    let Some(split) = bytes
        .len()
        .checked_sub(CHECKSUM_LEN)
        .filter(|&n| n > HEADER_LEN)
    else {
        return false;
    };
    let (event, sum) = bytes.split_at(split);
    crc32fast::hash(event).to_le_bytes() == sum
}

impl RawEvent {
    /// An event as the source sent it. Whether it ends in a checksum is read from the bytes:
    /// the source checksums its events when its binlog does, and the fake rotate at connect
    /// comes before the format description that would say so.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<RawEvent, LengthMismatch> {
        let size = bytes
            .get(9..13)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .filter(|_| bytes.len() >= HEADER_LEN);
        if size != Some(bytes.len() as u32) {
            return Err(LengthMismatch {
                got: bytes.len(),
                size: size.unwrap_or(0),
            });
        }
        Ok(RawEvent {
            has_checksum: ends_in_crc32(&bytes),
            bytes,
        })
    }

    fn u32_at(&self, at: usize) -> u32 {
        let mut b = [0u8; 4];
        b.copy_from_slice(&self.bytes[at..at + 4]);
        u32::from_le_bytes(b)
    }

    /// The event's own time (unix seconds; 0 on some server-made events).
    pub fn timestamp(&self) -> u32 {
        self.u32_at(0)
    }

    pub fn kind(&self) -> u8 {
        self.bytes[4]
    }

    /// Offset just past this event in its file; 0 on events that are in no file.
    pub fn log_pos(&self) -> u32 {
        self.u32_at(13)
    }

    pub fn flags(&self) -> u16 {
        u16::from_le_bytes([self.bytes[17], self.bytes[18]])
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Whether the event is one of the source's file (rather than made up for the replica:
    /// the fake rotate and format description at connect, heartbeats, GTID lists sent first).
    pub fn is_in_file(&self) -> bool {
        self.log_pos() != 0 && self.flags() & ARTIFICIAL == 0 && self.kind() != kind::HEARTBEAT
    }

    /// The body: after the header, before the checksum.
    fn body(&self) -> &[u8] {
        let end = self.bytes.len() - if self.has_checksum { CHECKSUM_LEN } else { 0 };
        self.bytes.get(HEADER_LEN..end).unwrap_or_default()
    }

    /// A rotate event's next file name.
    pub fn rotate_target(&self) -> Option<String> {
        if self.kind() != kind::ROTATE {
            return None;
        }
        let name = self.body().get(8..)?;
        Some(String::from_utf8_lossy(name).into_owned())
    }

    /// A MariaDB GTID event's GTID and whether it stands alone (no commit event follows).
    pub fn gtid(&self) -> Option<(Gtid, bool)> {
        if self.kind() != kind::MARIADB_GTID {
            return None;
        }
        let b = self.body();
        let seq = u64::from_le_bytes(b.get(0..8)?.try_into().ok()?);
        let domain = u32::from_le_bytes(b.get(8..12)?.try_into().ok()?);
        let flags = *b.get(12)?;
        let gtid = Gtid {
            domain,
            server: self.u32_at(5),
            seq,
        };
        Some((gtid, flags & GTID_STANDALONE != 0))
    }

    /// A MariaDB GTID list event's GTIDs (the binlog state when the file began).
    pub fn gtid_list(&self) -> Option<Vec<Gtid>> {
        if self.kind() != kind::MARIADB_GTID_LIST {
            return None;
        }
        let b = self.body();
        let count = u32::from_le_bytes(b.get(0..4)?.try_into().ok()?) & 0x0fff_ffff;
        (0..count as usize)
            .map(|i| {
                let e = b.get(4 + i * 16..4 + (i + 1) * 16)?;
                Some(Gtid {
                    domain: u32::from_le_bytes(e[0..4].try_into().ok()?),
                    server: u32::from_le_bytes(e[4..8].try_into().ok()?),
                    seq: u64::from_le_bytes(e[8..16].try_into().ok()?),
                })
            })
            .collect()
    }

    /// Whether this event ends a transaction: an XID, or a `COMMIT` query.
    pub fn is_commit(&self) -> bool {
        match self.kind() {
            kind::XID => true,
            kind::QUERY => self.query_text() == Some(b"COMMIT".as_slice()),
            _ => false,
        }
    }

    /// A query event's statement.
    fn query_text(&self) -> Option<&[u8]> {
        let b = self.body();
        let db_len = *b.get(8)? as usize;
        let status_len = u16::from_le_bytes(b.get(11..13)?.try_into().ok()?) as usize;
        b.get(13 + status_len + db_len + 1..)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An event of `kind` with `body`, at file offset `log_pos - len`, with a dummy checksum.
    pub(crate) fn event(kind: u8, flags: u16, log_pos: u32, body: &[u8]) -> RawEvent {
        let size = (HEADER_LEN + body.len() + CHECKSUM_LEN) as u32;
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&1_700_000_000u32.to_le_bytes());
        bytes.push(kind);
        bytes.extend_from_slice(&7u32.to_le_bytes());
        bytes.extend_from_slice(&size.to_le_bytes());
        bytes.extend_from_slice(&log_pos.to_le_bytes());
        bytes.extend_from_slice(&flags.to_le_bytes());
        bytes.extend_from_slice(body);
        bytes.extend_from_slice(&[0xaa; 4]);
        RawEvent {
            bytes,
            has_checksum: true,
        }
    }

    pub(crate) fn query(text: &str) -> Vec<u8> {
        let mut b = vec![0u8; 13];
        b[8] = 4; // db "shop"
        b.extend_from_slice(b"shop\0");
        b.extend_from_slice(text.as_bytes());
        b
    }

    pub(crate) fn gtid_body(domain: u32, seq: u64, flags: u8) -> Vec<u8> {
        let mut b = seq.to_le_bytes().to_vec();
        b.extend_from_slice(&domain.to_le_bytes());
        b.push(flags);
        b.extend_from_slice(&[0; 6]);
        b
    }

    #[test]
    fn header_fields_and_file_membership() {
        let e = event(kind::XID, 0, 500, &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(
            (e.kind(), e.log_pos(), e.timestamp()),
            (kind::XID, 500, 1_700_000_000)
        );
        assert!(e.is_in_file() && e.is_commit());
        assert!(!event(kind::ROTATE, ARTIFICIAL, 0, b"x").is_in_file());
        assert!(!event(kind::FORMAT_DESCRIPTION, 0, 0, b"x").is_in_file());
        assert!(!event(kind::HEARTBEAT, 0, 900, b"x").is_in_file());
    }

    #[test]
    fn a_trailing_crc32_is_recognised() {
        let mut bytes = event(kind::ROTATE, ARTIFICIAL, 0, b"\x04\0\0\0\0\0\0\0bin.000001").bytes;
        bytes.truncate(bytes.len() - CHECKSUM_LEN);
        assert!(!ends_in_crc32(&bytes));
        let sum = crc32fast::hash(&bytes).to_le_bytes();
        bytes.extend_from_slice(&sum);
        assert!(ends_in_crc32(&bytes));
        bytes[HEADER_LEN] ^= 1;
        assert!(!ends_in_crc32(&bytes));
    }

    #[test]
    fn bytes_are_taken_when_the_header_gives_their_length() {
        let mut bytes = event(kind::XID, 0, 500, &[1; 8]).bytes;
        bytes.truncate(bytes.len() - CHECKSUM_LEN);
        let size = (bytes.len() + CHECKSUM_LEN) as u32;
        let sum = crc32fast::hash(&bytes).to_le_bytes();
        bytes.extend_from_slice(&sum);
        let e = RawEvent::from_bytes(bytes.clone()).unwrap();
        assert!(e.has_checksum && e.len() == size as usize);
        bytes.pop();
        assert!(RawEvent::from_bytes(bytes).is_err());
        assert!(RawEvent::from_bytes(vec![0; 12]).is_err());
    }

    #[test]
    fn rotate_names_the_next_file() {
        let mut body = 4u64.to_le_bytes().to_vec();
        body.extend_from_slice(b"bin.000002");
        let e = event(kind::ROTATE, 0, 300, &body);
        assert_eq!(e.rotate_target().as_deref(), Some("bin.000002"));
        assert_eq!(event(kind::XID, 0, 1, &[0; 8]).rotate_target(), None);
    }

    #[test]
    fn gtids_and_commits_are_read() {
        let e = event(
            kind::MARIADB_GTID,
            0,
            100,
            &gtid_body(3, 42, GTID_STANDALONE),
        );
        assert_eq!(
            e.gtid(),
            Some((
                Gtid {
                    domain: 3,
                    server: 7,
                    seq: 42
                },
                true
            ))
        );
        let mut list = 2u32.to_le_bytes().to_vec();
        for (d, s, n) in [(0u32, 1u32, 5u64), (1, 2, 9)] {
            list.extend_from_slice(&d.to_le_bytes());
            list.extend_from_slice(&s.to_le_bytes());
            list.extend_from_slice(&n.to_le_bytes());
        }
        let l = event(kind::MARIADB_GTID_LIST, 0, 100, &list);
        assert_eq!(
            l.gtid_list(),
            Some(vec![
                Gtid {
                    domain: 0,
                    server: 1,
                    seq: 5
                },
                Gtid {
                    domain: 1,
                    server: 2,
                    seq: 9
                }
            ])
        );
        assert!(event(kind::QUERY, 0, 1, &query("COMMIT")).is_commit());
        assert!(!event(kind::QUERY, 0, 1, &query("BEGIN")).is_commit());
    }
}
