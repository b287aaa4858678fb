//! Continuous binlog backup: each instance's stream (lease and durable position), its log files
//! and their segments, and the gaps (SQL in `crate::binlog_sql`).

use std::time::Duration;

use rusqlite::{Connection, Row, Transaction};
use xbak_domain::binlog::binlog_sequence;
use xbak_domain::time::Timestamp;
use xbak_domain::{
    BinlogPosition, BinlogProgress, BinlogStreamClaim, LeaseHolder, LogFile, LogFileState, LogGap,
    LogSegment,
};

use super::errors::{bad_value, SqlResultExt};
use super::rows::{opt_time_at, optional_row, secs, time_at};
use crate::binlog_sql as sql;
use crate::rules::NewLease;
use crate::{CatalogError, Result};

/// The streams, log files, segments and gaps. Offsets and sizes are bytes of the source's file.
pub(super) const V9_BINLOGS: &str = r#"
CREATE TABLE binlog_streams (
    instance_id   INTEGER PRIMARY KEY REFERENCES instances (id),
    file          TEXT,
    file_offset   INTEGER NOT NULL DEFAULT 0,
    gtid_state    TEXT NOT NULL DEFAULT '',
    lease_token   TEXT,
    lease_until   INTEGER,
    lease_holder  TEXT,
    claimed_at    INTEGER,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE log_files (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id     INTEGER NOT NULL REFERENCES instances (id),
    region_id       TEXT NOT NULL REFERENCES regions (region_id),
    file_name       TEXT NOT NULL,
    sequence        INTEGER NOT NULL,
    size            INTEGER NOT NULL,
    first_event_at  INTEGER,
    last_event_at   INTEGER,
    state           TEXT NOT NULL CHECK (state IN ('open', 'closed')),
    object_key      TEXT,
    sha256          TEXT,
    crc64           TEXT,
    created_at      INTEGER NOT NULL,
    UNIQUE (instance_id, region_id, file_name)
);
CREATE INDEX log_files_by_time ON log_files (instance_id, last_event_at);

CREATE TABLE log_segments (
    log_file_id  INTEGER NOT NULL REFERENCES log_files (id),
    file_offset  INTEGER NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    object_key   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (log_file_id, file_offset)
);

CREATE TABLE log_gaps (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id  INTEGER NOT NULL REFERENCES instances (id),
    from_file    TEXT NOT NULL,
    from_offset  INTEGER NOT NULL,
    to_file      TEXT NOT NULL,
    to_offset    INTEGER NOT NULL,
    from_time    INTEGER,
    reason       TEXT NOT NULL,
    recorded_at  INTEGER NOT NULL
);
CREATE INDEX log_gaps_by_instance ON log_gaps (instance_id, id);
"#;

fn size_of(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn opt_secs(t: Option<Timestamp>) -> Option<i64> {
    t.map(secs)
}

fn position_at(row: &Row<'_>, base: usize) -> rusqlite::Result<Option<BinlogPosition>> {
    let file: Option<String> = row.get(base)?;
    let offset: i64 = row.get(base + 1)?;
    let gtid_state: String = row.get(base + 2)?;
    Ok(file.map(|file| BinlogPosition {
        file,
        offset: u64::try_from(offset).unwrap_or(0),
        gtid_state,
    }))
}

pub(super) fn claim_binlog_stream(
    tx: &Transaction<'_>,
    now: Timestamp,
    lease: Duration,
    holder: &LeaseHolder,
) -> Result<Option<BinlogStreamClaim>> {
    let NewLease {
        now,
        token,
        until,
        holder,
    } = NewLease::new(now, lease, holder);
    optional_row(tx, sql::CLAIM_STREAM, (now, &token, until, holder), |r| {
        Ok(BinlogStreamClaim {
            instance_id: r.get(0)?,
            lease_token: token.clone(),
            position: position_at(r, 1)?,
        })
    })
}

pub(super) fn renew_binlog_stream(
    tx: &Transaction<'_>,
    instance_id: i64,
    token: &str,
    until: Timestamp,
) -> Result<bool> {
    let n = tx
        .prepare_cached(sql::RENEW_STREAM)
        .db()?
        .execute((instance_id, token, secs(until)))
        .db()?;
    if n != 1 {
        return Err(CatalogError::LeaseLost(instance_id));
    }
    let wanted: i64 = tx
        .prepare_cached(sql::STREAM_WANTED)
        .db()?
        .query_row([instance_id], |r| r.get(0))
        .db()?;
    Ok(wanted > 0)
}

pub(super) fn release_binlog_stream(
    tx: &Transaction<'_>,
    instance_id: i64,
    token: &str,
) -> Result<()> {
    tx.prepare_cached(sql::RELEASE_STREAM)
        .db()?
        .execute((instance_id, token))
        .db()?;
    Ok(())
}

pub(super) fn binlog_position(
    conn: &Connection,
    instance_id: i64,
) -> Result<Option<BinlogPosition>> {
    Ok(optional_row(conn, sql::POSITION, [instance_id], |r| position_at(r, 0))?.flatten())
}

pub(super) fn advance_binlog_stream(
    tx: &Transaction<'_>,
    instance_id: i64,
    token: &str,
    progress: &BinlogProgress,
    now: Timestamp,
) -> Result<()> {
    let held: Option<(Option<String>, i64)> =
        optional_row(tx, sql::HELD_POSITION, (instance_id, token), |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let Some((from_file, from_offset)) = held else {
        return Err(CatalogError::LeaseLost(instance_id));
    };
    let to = progress.position();
    tx.prepare_cached(sql::MOVE_POSITION)
        .db()?
        .execute((
            instance_id,
            token,
            &to.file,
            size_of(to.offset),
            &to.gtid_state,
            secs(now),
        ))
        .db()?;
    match progress {
        BinlogProgress::Gap {
            reason, from_time, ..
        } => {
            tx.prepare_cached(sql::INSERT_GAP)
                .db()?
                .execute((
                    instance_id,
                    from_file.unwrap_or_default(),
                    from_offset,
                    &to.file,
                    size_of(to.offset),
                    opt_secs(*from_time),
                    reason,
                    secs(now),
                ))
                .db()?;
            Ok(())
        }
        stored => {
            let region = instance_region(tx, instance_id)?;
            store_in_region(tx, instance_id, &region, stored, now)
        }
    }
}

/// Records a segment or a closed file of instance `instance_id` as stored in `region`.
fn store_in_region(
    tx: &Transaction<'_>,
    instance_id: i64,
    region: &str,
    progress: &BinlogProgress,
    now: Timestamp,
) -> Result<()> {
    match progress {
        BinlogProgress::Segment {
            file_name,
            segment,
            first_event_at,
            last_event_at,
            ..
        } => {
            let region = region.to_owned();
            let end = size_of(segment.offset + segment.size);
            let id = match find_file(tx, instance_id, &region, file_name)? {
                Some((id, size, LogFileState::Open)) if size == size_of(segment.offset) => {
                    tx.prepare_cached(sql::GROW_FILE)
                        .db()?
                        .execute((id, end, opt_secs(*last_event_at), opt_secs(*first_event_at)))
                        .db()?;
                    id
                }
                None if segment.offset == xbak_domain::binlog::BINLOG_FIRST_EVENT => {
                    let params = (
                        instance_id,
                        &region,
                        file_name,
                        sequence_of(file_name)?,
                        end,
                        opt_secs(*first_event_at),
                        opt_secs(*last_event_at),
                        secs(now),
                    );
                    tx.prepare_cached(sql::INSERT_OPEN_FILE)
                        .db()?
                        .query_row(params, |r| r.get(0))
                        .db()?
                }
                _ => return Err(not_contiguous(file_name, segment.offset)),
            };
            tx.prepare_cached(sql::INSERT_SEGMENT)
                .db()?
                .execute((
                    id,
                    size_of(segment.offset),
                    size_of(segment.size),
                    &segment.sha256,
                    &segment.object_key,
                    secs(now),
                ))
                .db_as(|| format!("segment {file_name}@{}", segment.offset))?;
        }
        BinlogProgress::Closed {
            file_name,
            size,
            sha256,
            crc64,
            object_key,
            first_event_at,
            last_event_at,
            ..
        } => {
            let region = region.to_owned();
            match find_file(tx, instance_id, &region, file_name)? {
                Some((id, stored, LogFileState::Open)) if stored <= size_of(*size) => {
                    tx.prepare_cached(sql::CLOSE_FILE)
                        .db()?
                        .execute((
                            id,
                            size_of(*size),
                            sha256,
                            object_key,
                            opt_secs(*last_event_at),
                            opt_secs(*first_event_at),
                            crc64.to_string(),
                        ))
                        .db()?;
                    tx.prepare_cached(sql::DROP_SEGMENTS)
                        .db()?
                        .execute([id])
                        .db()?;
                }
                None => {
                    tx.prepare_cached(sql::INSERT_CLOSED_FILE)
                        .db()?
                        .execute((
                            instance_id,
                            &region,
                            file_name,
                            sequence_of(file_name)?,
                            size_of(*size),
                            opt_secs(*first_event_at),
                            opt_secs(*last_event_at),
                            secs(now),
                            sha256,
                            object_key,
                            crc64.to_string(),
                        ))
                        .db()?;
                }
                _ => return Err(not_contiguous(file_name, *size)),
            }
        }
        BinlogProgress::Gap { .. } => {
            return Err(CatalogError::Internal(
                "a gap is not stored in a region".into(),
            ))
        }
    }
    Ok(())
}

fn instance_region(tx: &Transaction<'_>, instance_id: i64) -> Result<String> {
    optional_row(tx, sql::INSTANCE_REGION, [instance_id], |r| r.get(0))?
        .ok_or_else(|| CatalogError::NotFound(format!("instance {instance_id}")))
}

fn find_file(
    tx: &Transaction<'_>,
    instance_id: i64,
    region: &str,
    file_name: &str,
) -> Result<Option<(i64, i64, LogFileState)>> {
    optional_row(tx, sql::FIND_FILE, (instance_id, region, file_name), |r| {
        let state: String = r.get(2)?;
        let state = LogFileState::parse(&state).ok_or_else(|| bad_value(2, BadState(state)))?;
        Ok((r.get(0)?, r.get(1)?, state))
    })
}

fn sequence_of(file_name: &str) -> Result<i64> {
    binlog_sequence(file_name)
        .ok_or_else(|| CatalogError::Internal(format!("not a binlog file name: {file_name:?}")))
}

fn not_contiguous(file_name: &str, offset: u64) -> CatalogError {
    CatalogError::Conflict(format!("log file {file_name} at offset {offset}"))
}

#[derive(Debug, thiserror::Error)]
#[error("invalid log file state in catalog: {0}")]
struct BadState(String);

pub(super) fn log_files(conn: &Connection, instance_id: i64) -> Result<Vec<LogFile>> {
    let mut files = conn
        .prepare_cached(sql::FILES)
        .db()?
        .query_map([instance_id], |r| {
            let state: String = r.get(8)?;
            Ok(LogFile {
                id: r.get(0)?,
                instance_id: r.get(1)?,
                region_id: r.get(2)?,
                file_name: r.get(3)?,
                sequence: r.get(4)?,
                size: r.get::<_, i64>(5)?.try_into().unwrap_or(0),
                first_event_at: opt_time_at(r, 6)?,
                last_event_at: opt_time_at(r, 7)?,
                state: LogFileState::parse(&state).ok_or_else(|| bad_value(8, BadState(state)))?,
                object_key: r.get(9)?,
                sha256: r.get(10)?,
                crc64: r.get::<_, Option<String>>(11)?.and_then(|c| c.parse().ok()),
                segments: Vec::new(),
            })
        })
        .db()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .db()?;
    let segments = conn
        .prepare_cached(sql::SEGMENTS)
        .db()?
        .query_map([instance_id], |r| {
            let file_id: i64 = r.get(0)?;
            Ok((
                file_id,
                LogSegment {
                    offset: r.get::<_, i64>(1)?.try_into().unwrap_or(0),
                    size: r.get::<_, i64>(2)?.try_into().unwrap_or(0),
                    sha256: r.get(3)?,
                    object_key: r.get(4)?,
                },
            ))
        })
        .db()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .db()?;
    for (file_id, segment) in segments {
        if let Some(file) = files.iter_mut().find(|f| f.id == file_id) {
            file.segments.push(segment);
        }
    }
    Ok(files)
}

pub(super) fn log_gaps(conn: &Connection, instance_id: i64) -> Result<Vec<LogGap>> {
    conn.prepare_cached(sql::GAPS)
        .db()?
        .query_map([instance_id], |r| {
            Ok(LogGap {
                id: r.get(0)?,
                instance_id: r.get(1)?,
                from_file: r.get(2)?,
                from_offset: r.get::<_, i64>(3)?.try_into().unwrap_or(0),
                to_file: r.get(4)?,
                to_offset: r.get::<_, i64>(5)?.try_into().unwrap_or(0),
                from_time: opt_time_at(r, 6)?,
                reason: r.get(7)?,
                recorded_at: time_at(r, 8)?,
            })
        })
        .db()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .db()
}

pub(super) fn log_backup_freshness(conn: &Connection) -> Result<Vec<crate::LogBackupFreshness>> {
    conn.prepare_cached(sql::FRESHNESS)
        .db()?
        .query_map([], |r| {
            Ok(crate::LogBackupFreshness {
                db_instance_id: r.get(0)?,
                recovery_point: opt_time_at(r, 1)?,
                gaps: r.get::<_, i64>(2)?.try_into().unwrap_or(0),
                destination_recovery_point: opt_time_at(r, 3)?,
            })
        })
        .db()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .db()
}

pub(super) fn record_log_copy(
    tx: &Transaction<'_>,
    instance_id: i64,
    token: &str,
    file: &LogFile,
    region_id: &str,
    now: Timestamp,
) -> Result<bool> {
    let held: Option<Option<String>> =
        optional_row(tx, sql::HELD_POSITION, (instance_id, token), |r| r.get(0))?;
    if held.is_none() {
        return Err(CatalogError::LeaseLost(instance_id));
    }
    let home = instance_region(tx, instance_id)?;
    if find_file(tx, instance_id, &home, &file.file_name)?.is_none() {
        // Expired by retention since the shipper read it: copying it back would resurrect it.
        return Ok(false);
    }
    let there = find_file(tx, instance_id, region_id, &file.file_name)?;
    let held = there.map(|(_, size, state)| (u64::try_from(size).unwrap_or(0), state));
    let added = file.missing_from(held);
    for progress in &added {
        store_in_region(tx, instance_id, region_id, progress, now)?;
    }
    Ok(!added.is_empty())
}
