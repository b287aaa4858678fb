//! The SQL of continuous binlog backup, the same on both backends (SQLite's `?N` parameters,
//! turned into `$N` by [`crate::lease_sql::dollars`] for PostgreSQL): the streams (one row per
//! instance: its lease and durable position), the log files and their segments, the gaps.
//!
//! Booleans are tested bare (`p.enabled AND p.log_backup_enabled`): SQLite's integers and
//! PostgreSQL's booleans both read that way.

/// Claims the lowest instance that has a connection, a policy with log backup on and no live
/// streamer: inserts its stream row or takes over one whose lease ran out. `?1` now, `?2` token,
/// `?3` lease end, `?4` holder. Returns `instance_id, file, file_offset, gtid_state`.
pub(crate) const CLAIM_STREAM: &str = "
INSERT INTO binlog_streams (instance_id, gtid_state, lease_token, lease_until, lease_holder,
                            claimed_at, updated_at)
SELECT c.instance_id, '', CAST(?2 AS TEXT), CAST(?3 AS BIGINT), CAST(?4 AS TEXT), ?1, ?1
FROM instance_connections c
JOIN policies p ON p.instance_id = c.instance_id
LEFT JOIN binlog_streams s ON s.instance_id = c.instance_id
WHERE p.enabled AND p.log_backup_enabled
  AND (s.instance_id IS NULL OR s.lease_until IS NULL OR s.lease_until < ?1)
ORDER BY c.instance_id
LIMIT 1
ON CONFLICT (instance_id) DO UPDATE
   SET lease_token = excluded.lease_token, lease_until = excluded.lease_until,
       lease_holder = excluded.lease_holder, claimed_at = excluded.claimed_at
   WHERE binlog_streams.lease_until IS NULL OR binlog_streams.lease_until < excluded.claimed_at
RETURNING instance_id, file, file_offset, gtid_state";

/// Extends instance `?1`'s stream lease held by `?2` to `?3`.
pub(crate) const RENEW_STREAM: &str =
    "UPDATE binlog_streams SET lease_until = ?3 WHERE instance_id = ?1 AND lease_token = ?2";

/// Whether instance `?1` still wants a streamer (a connection, and a policy with log backup on).
pub(crate) const STREAM_WANTED: &str = "
SELECT COUNT(*) FROM instance_connections c JOIN policies p ON p.instance_id = c.instance_id
WHERE c.instance_id = ?1 AND p.enabled AND p.log_backup_enabled";

/// Ends instance `?1`'s stream lease held by `?2`.
pub(crate) const RELEASE_STREAM: &str = "
UPDATE binlog_streams SET lease_token = NULL, lease_until = NULL, lease_holder = NULL
WHERE instance_id = ?1 AND lease_token = ?2";

/// The durable position of instance `?1`'s stream held by `?2` (`file, file_offset`).
pub(crate) const HELD_POSITION: &str =
    "SELECT file, file_offset FROM binlog_streams WHERE instance_id = ?1 AND lease_token = ?2";

/// Moves instance `?1`'s stream held by `?2` to `?3`, `?4` with GTID state `?5` at `?6`.
pub(crate) const MOVE_POSITION: &str = "
UPDATE binlog_streams SET file = ?3, file_offset = ?4, gtid_state = ?5, updated_at = ?6
WHERE instance_id = ?1 AND lease_token = ?2";

/// Instance `?1`'s durable position (`file, file_offset, gtid_state`; the file may be NULL).
pub(crate) const POSITION: &str =
    "SELECT file, file_offset, gtid_state FROM binlog_streams WHERE instance_id = ?1";

/// The region of instance `?1`.
pub(crate) const INSTANCE_REGION: &str = "SELECT region_id FROM instances WHERE id = ?1";

/// Log file `?3` of instance `?1` in region `?2`: `id, size, state`.
pub(crate) const FIND_FILE: &str = "
SELECT id, size, state FROM log_files WHERE instance_id = ?1 AND region_id = ?2 AND file_name = ?3";

/// A new open log file: instance `?1`, region `?2`, name `?3`, sequence `?4`, size `?5`, event
/// times `?6`, `?7`, created `?8`. Returns its id.
pub(crate) const INSERT_OPEN_FILE: &str = "
INSERT INTO log_files (instance_id, region_id, file_name, sequence, size, first_event_at,
                       last_event_at, state, created_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'open', ?8)
RETURNING id";

/// Grows open log file `?1` to `?2` bytes, its last event at `?3` when given.
pub(crate) const GROW_FILE: &str = "
UPDATE log_files SET size = ?2, last_event_at = COALESCE(?3, last_event_at),
                     first_event_at = COALESCE(first_event_at, ?4)
WHERE id = ?1";

/// Segment of log file `?1`: offset `?2`, size `?3`, SHA-256 `?4`, key `?5`, created `?6`.
pub(crate) const INSERT_SEGMENT: &str = "
INSERT INTO log_segments (log_file_id, file_offset, size, sha256, object_key, created_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// Closes log file `?1`: size `?2`, SHA-256 `?3`, key `?4`, last event `?5`, first event `?6`,
/// CRC-64 `?7` (decimal).
pub(crate) const CLOSE_FILE: &str = "
UPDATE log_files SET state = 'closed', size = ?2, sha256 = ?3, object_key = ?4,
                     last_event_at = COALESCE(?5, last_event_at),
                     first_event_at = COALESCE(first_event_at, ?6), crc64 = ?7
WHERE id = ?1";

/// The segment rows of log file `?1`, dropped when it closes (its whole object replaces them).
pub(crate) const DROP_SEGMENTS: &str = "DELETE FROM log_segments WHERE log_file_id = ?1";

/// A closed log file, stored at once (no segment before) or copied into another region: as
/// [`INSERT_OPEN_FILE`] plus SHA-256 `?9`, key `?10` and CRC-64 `?11` (decimal); once per region.
pub(crate) const INSERT_CLOSED_FILE: &str = "
INSERT INTO log_files (instance_id, region_id, file_name, sequence, size, first_event_at,
                       last_event_at, state, created_at, sha256, object_key, crc64)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'closed', ?8, ?9, ?10, ?11)
ON CONFLICT (instance_id, region_id, file_name) DO NOTHING";

/// A gap of instance `?1`: from `?2`, `?3` to `?4`, `?5`, last event before it `?6`, reason
/// `?7`, recorded `?8`.
pub(crate) const INSERT_GAP: &str = "
INSERT INTO log_gaps (instance_id, from_file, from_offset, to_file, to_offset, from_time, reason,
                      recorded_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

/// Instance `?1`'s log files, in order.
pub(crate) const FILES: &str = "
SELECT id, instance_id, region_id, file_name, sequence, size, first_event_at, last_event_at,
       state, object_key, sha256, crc64
FROM log_files WHERE instance_id = ?1 ORDER BY sequence, file_name, region_id";

/// Instance `?1`'s segments (`log_file_id, file_offset, size, sha256, object_key`), in order.
pub(crate) const SEGMENTS: &str = "
SELECT g.log_file_id, g.file_offset, g.size, g.sha256, g.object_key
FROM log_segments g JOIN log_files f ON f.id = g.log_file_id
WHERE f.instance_id = ?1 ORDER BY g.log_file_id, g.file_offset";

/// Instance `?1`'s gaps, oldest first.
pub(crate) const GAPS: &str = "
SELECT id, instance_id, from_file, from_offset, to_file, to_offset, from_time, reason, recorded_at
FROM log_gaps WHERE instance_id = ?1 ORDER BY id";

/// Per instance with a binlog stream: its id, the newest stored event's time in its own region,
/// how many gaps it recorded, and the newest event's time copied to another region.
pub(crate) const FRESHNESS: &str = "
SELECT i.db_instance_id,
       (SELECT MAX(f.last_event_at) FROM log_files f
         WHERE f.instance_id = s.instance_id AND f.region_id = i.region_id),
       (SELECT COUNT(*) FROM log_gaps g WHERE g.instance_id = s.instance_id),
       (SELECT MAX(f.last_event_at) FROM log_files f
         WHERE f.instance_id = s.instance_id AND f.region_id <> i.region_id)
FROM binlog_streams s JOIN instances i ON i.id = s.instance_id
ORDER BY i.db_instance_id";

/// Closed log files, in every region, whose last event is before `?1` minus their instance
/// policy's `retention_days`, oldest first, at most `?2`: `id, instance_id, region_id,
/// file_name, object_key, last_event_at`. Policies drive the join so each instance's files are
/// read through `log_files_by_time`.
pub(crate) const EXPIRED_FILES: &str = "
SELECT f.id, f.instance_id, f.region_id, f.file_name, f.object_key, f.last_event_at
FROM policies p CROSS JOIN log_files f
WHERE f.instance_id = p.instance_id AND f.state = 'closed' AND f.object_key IS NOT NULL
  AND f.last_event_at < ?1 - p.retention_days * 86400
ORDER BY f.last_event_at, f.id
LIMIT ?2";

/// Log file tombstones (`log_file_id, instance_id, region_id, object_key`), oldest first, at
/// most `?1`.
pub(crate) const LOG_TOMBSTONES: &str = "
SELECT log_file_id, instance_id, region_id, object_key FROM expiring_log_files
ORDER BY expired_at, log_file_id
LIMIT ?1";

/// Removes the tombstone of log file `?1`.
pub(crate) const FINISH_LOG_TOMBSTONE: &str =
    "DELETE FROM expiring_log_files WHERE log_file_id = ?1";
