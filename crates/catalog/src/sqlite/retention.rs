//! Retention and freshness: which listed copies have outlived their instance's policy, turning
//! their rows into tombstones until their objects are deleted, and how far each instance's
//! copies are behind (for metrics).
//!
//! Every query here walks the partial index `copies_listed` (repeating its `WHERE` term word
//! for word) or `copies_due` (pending copies only), one instance at a time.

use rusqlite::{Connection, Transaction};
use xbak_domain::time::Timestamp;

use super::errors::SqlResultExt;
use super::rows::{all_rows, expired_copy_at, optional_row, secs};
use crate::{CatalogError, CopyFreshness, ExpiredCopy, ExpiringObject, Result};

pub(super) fn expired_copies(
    conn: &Connection,
    now: Timestamp,
    limit: u32,
) -> Result<Vec<ExpiredCopy>> {
    all_rows(
        conn,
        "SELECT c.id, c.instance_id, c.dest_region_id, c.object_key, c.status, c.backup_started_at
             FROM policies p CROSS JOIN copies c
             WHERE c.instance_id = p.instance_id AND status IN ('completed', 'failed')
               AND c.backup_started_at < ?1 - p.retention_days * 86400
             ORDER BY c.backup_started_at, c.id
             LIMIT ?2",
        (secs(now), i64::from(limit)),
        expired_copy_at,
    )
}

pub(super) fn begin_expiry(
    tx: &Transaction<'_>,
    copy_id: i64,
    now: Timestamp,
) -> Result<Option<ExpiringObject>> {
    let copy = optional_row(
        tx,
        "SELECT id, instance_id, dest_region_id, object_key FROM copies
             WHERE id = ?1 AND status IN ('completed', 'failed')",
        [copy_id],
        expiring_object,
    )?;
    let Some(copy) = copy else {
        return Ok(None);
    };
    tx.prepare_cached(
        "INSERT INTO expiring_copies (copy_id, instance_id, dest_region_id, object_key, expired_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .db()?
    .execute((
        copy.copy_id,
        copy.instance_id,
        &copy.dest_region_id,
        &copy.object_key,
        secs(now),
    ))
    .db_as(|| format!("tombstone of copy {copy_id}"))?;
    // The listing triggers take the row out of the per-instance totals.
    tx.prepare_cached("DELETE FROM copies WHERE id = ?1")
        .db()?
        .execute([copy_id])
        .db()?;
    Ok(Some(copy))
}

pub(super) fn expiring_objects(conn: &Connection, limit: u32) -> Result<Vec<ExpiringObject>> {
    all_rows(
        conn,
        "SELECT copy_id, instance_id, dest_region_id, object_key FROM expiring_copies
             ORDER BY expired_at, copy_id
             LIMIT ?1",
        [i64::from(limit)],
        expiring_object,
    )
}

pub(super) fn finish_expiry(tx: &Transaction<'_>, copy_id: i64) -> Result<bool> {
    let n = tx
        .prepare_cached("DELETE FROM expiring_copies WHERE copy_id = ?1")
        .db()?
        .execute([copy_id])
        .db()?;
    Ok(n > 0)
}

fn expiring_object(row: &rusqlite::Row<'_>) -> rusqlite::Result<ExpiringObject> {
    Ok(ExpiringObject {
        copy_id: row.get(0)?,
        instance_id: row.get(1)?,
        dest_region_id: row.get(2)?,
        object_key: row.get(3)?,
    })
}

fn to_time(s: Option<i64>) -> Result<Option<Timestamp>> {
    s.map(|s| {
        chrono::DateTime::from_timestamp(s, 0)
            .ok_or_else(|| CatalogError::Internal(format!("invalid backup start {s} in catalog")))
    })
    .transpose()
}

/// Per instance with a policy, its recovery point and oldest uncopied set: one statement,
/// whatever the number of instances (a scrape must not cost a query per instance).
pub(super) const COPY_FRESHNESS: &str = "WITH recovery AS (
       SELECT p.instance_id, i.db_instance_id,
              (SELECT c.backup_started_at FROM copies c
               WHERE c.instance_id = p.instance_id AND status IN ('completed', 'failed')
                 AND status = 'completed'
               ORDER BY c.backup_started_at DESC LIMIT 1) AS copied
       FROM policies p JOIN instances i ON i.id = p.instance_id)
     SELECT r.instance_id, r.db_instance_id, r.copied,
            (SELECT MIN(c.backup_started_at) FROM copies c
             WHERE c.instance_id = r.instance_id AND status IN ('completed', 'failed')
               AND status = 'failed'
               AND c.backup_started_at > COALESCE(r.copied, -9223372036854775807)),
            (SELECT MIN(c.backup_started_at) FROM copies c
             WHERE c.status = 'pending' AND c.instance_id = r.instance_id
               AND c.backup_started_at > COALESCE(r.copied, -9223372036854775807))
     FROM recovery r ORDER BY r.db_instance_id";

pub(super) fn copy_freshness(conn: &Connection) -> Result<Vec<CopyFreshness>> {
    let mut stmt = conn.prepare_cached(COPY_FRESHNESS).db()?;
    let rows = stmt
        .query_map([], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, Option<i64>>(2)?,
                row.get::<_, Option<i64>>(3)?,
                row.get::<_, Option<i64>>(4)?,
            ))
        })
        .db()?;
    let mut out = Vec::new();
    for row in rows {
        let (instance_id, db_instance_id, copied, failed, pending) = row.db()?;
        let oldest = match (failed, pending) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        out.push(CopyFreshness {
            instance_id,
            db_instance_id,
            recovery_point: to_time(copied)?,
            oldest_uncopied: to_time(oldest)?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::rows::{ones, query_plan};
    use super::*;

    fn plan(conn: &Connection, sql: &str, n: usize) -> String {
        query_plan(conn, sql, ones(n))
    }

    /// Retention and freshness read indexes, never the whole copies table; tombstones are read
    /// in index order.
    #[test]
    fn queries_use_the_copy_indexes() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::migrations::migrate(&mut conn).unwrap();
        let expired = plan(
            &conn,
            "SELECT c.id FROM policies p CROSS JOIN copies c
             WHERE c.instance_id = p.instance_id AND status IN ('completed', 'failed')
               AND c.backup_started_at < ?1 - p.retention_days * 86400
             ORDER BY c.backup_started_at, c.id LIMIT ?2",
            2,
        );
        assert!(expired.contains("INDEX copies_listed"), "{expired}");
        let freshness = plan(&conn, COPY_FRESHNESS, 0);
        assert!(freshness.contains("INDEX copies_listed"), "{freshness}");
        assert!(!freshness.contains("SCAN c"), "{freshness}");
        let tombstones = plan(
            &conn,
            "SELECT copy_id, instance_id, dest_region_id, object_key FROM expiring_copies
             ORDER BY expired_at, copy_id LIMIT ?1",
            1,
        );
        assert!(
            tombstones.contains("INDEX expiring_copies_by_age"),
            "{tombstones}"
        );
        assert!(!tombstones.contains("TEMP B-TREE"), "{tombstones}");
    }

    /// A scrape's per-instance figures cost one statement, however many instances there are.
    #[test]
    fn freshness_is_one_statement_for_any_number_of_instances() {
        use rusqlite::trace::{TraceEvent, TraceEventCodes};
        use std::sync::atomic::{AtomicUsize, Ordering};
        static STATEMENTS: AtomicUsize = AtomicUsize::new(0);
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::migrations::migrate(&mut conn).unwrap();
        conn.execute_batch(
            "INSERT INTO accounts (id, name, created_at) VALUES (1, 'a', 0);
             INSERT INTO regions VALUES ('r1', 'memory://'), ('r2', 'memory://');",
        )
        .unwrap();
        for n in 1..=5 {
            conn.execute(
                "INSERT INTO instances (id, db_instance_id, account_id, region_id, engine,
                   engine_version, category, storage_type, instance_number, created_at)
                 VALUES (?1, 'rm-' || ?1, 1, 'r1', 'MySQL', '5.7', 'HighAvailability',
                   'local_ssd', ?1, 0)",
                [n],
            )
            .unwrap();
            conn.execute("INSERT INTO policies (instance_id, enabled, dest_region_id, retention_days, updated_at)
                 VALUES (?1, 1, 'r2', 7, 0)", [n])
                .unwrap();
        }
        conn.trace_v2(
            TraceEventCodes::SQLITE_TRACE_STMT,
            Some(|e| {
                if let TraceEvent::Stmt(..) = e {
                    STATEMENTS.fetch_add(1, Ordering::SeqCst);
                }
            }),
        );
        let rows = copy_freshness(&conn).unwrap();
        conn.trace_v2(TraceEventCodes::empty(), None);
        assert_eq!(rows.len(), 5);
        assert_eq!(STATEMENTS.load(Ordering::SeqCst), 1);
    }
}
