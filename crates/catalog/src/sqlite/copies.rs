//! Reading copies: the `DescribeCrossRegionBackups` listing (the API hot path), single copies and
//! counts by state.
//!
//! A listing's page is one primary-key range of `listed_copies` (every Completed and Failed copy
//! with its backup set's columns, clustered by instance in listing order, kept by triggers): no
//! sort, no join, no lookup per row. The total of an unfiltered (or destination-only) listing is
//! one row of `copy_listing_totals`, kept by triggers; a window's (with or without a destination)
//! sums the whole days inside it from `copy_listing_days` (also kept by triggers) and counts only
//! its partial first and last days as primary-key ranges of `listed_copies`; other filters count
//! through the partial index `copies_listed` without touching the table. Cost grows with the
//! instance's copies at worst, never with the catalog's.

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection};
use xbak_domain::{CopyListing, CopyQuery, CrossRegionCopy, ListedCopy};

use super::errors::SqlResultExt;
use super::rows::{
    copy_and_instance_at, copy_columns, listed_copy_at, optional_row, secs, INSTANCE_COLUMNS,
};
use crate::columns::LISTING_COLUMNS;
use crate::rules::{page_window, split_window};
use crate::{CopyCounts, Result};

/// The listed states, repeated by counts over `copies`: must match the `WHERE` of the
/// `copies_listed` index word for word, or SQLite will not use it. Every row of `listed_copies` has
/// one of them already.
const LISTED: &str = "status IN ('completed', 'failed')";
const LISTING_ORDER: &str = "backup_started_at DESC, id DESC";
const REVERSE_ORDER: &str = "backup_started_at ASC, id ASC";

/// The `WHERE` clause for `query` (unqualified columns of `listed_copies`, or of `copies` after
/// [`LISTED`]), and its parameters.
fn listing_filter(query: &CopyQuery) -> (String, Vec<Value>) {
    let window = query.window.map(|(from, to)| (secs(from), secs(to)));
    listing_filter_in(query, window)
}

/// [`listing_filter`] with the window (inclusive, unix seconds) given instead of `query.window`.
fn listing_filter_in(query: &CopyQuery, window: Option<(i64, i64)>) -> (String, Vec<Value>) {
    let mut sql = String::from("instance_id = ?");
    let mut params = vec![Value::Integer(query.instance_id)];
    if let Some(id) = query.cross_backup_id {
        sql.push_str(" AND id = ?");
        params.push(Value::Integer(id));
    }
    if let Some((from, to)) = window {
        sql.push_str(" AND backup_started_at BETWEEN ? AND ?");
        params.push(Value::Integer(from));
        params.push(Value::Integer(to));
    }
    if let Some(region) = &query.dest_region_id {
        sql.push_str(" AND dest_region_id = ?");
        params.push(Value::Text(region.clone()));
    }
    if let Some(set_id) = query.backup_set_id {
        sql.push_str(" AND backup_set_id = ?");
        params.push(Value::Integer(set_id));
    }
    (sql, params)
}

/// The page's rows with their backup sets: one primary-key range of `listed_copies` (migration
/// 12), in listing order, or from the oldest end when `reverse`.
fn page_sql(filter: &str, reverse: bool) -> String {
    let order = if reverse {
        REVERSE_ORDER
    } else {
        LISTING_ORDER
    };
    format!(
        "SELECT {LISTING_COLUMNS} FROM listed_copies WHERE {filter} ORDER BY {order} LIMIT ? OFFSET ?"
    )
}

/// The total from `copy_listing_totals` when the query filters by nothing it does not key
/// (instance, and optionally destination region).
fn kept_total_sql(query: &CopyQuery) -> Option<&'static str> {
    if query.cross_backup_id.is_some() || query.window.is_some() || query.backup_set_id.is_some() {
        return None;
    }
    Some(match query.dest_region_id {
        None => "SELECT COALESCE(SUM(listed), 0) FROM copy_listing_totals WHERE instance_id = ?1",
        Some(_) => {
            "SELECT COALESCE(SUM(listed), 0) FROM copy_listing_totals WHERE instance_id = ?1 AND dest_region_id = ?2"
        }
    })
}

fn count_sql(filter: &str) -> String {
    format!("SELECT COUNT(*) FROM copies WHERE {LISTED} AND {filter}")
}

/// The count of a window's partial first or last day: a primary-key range of `listed_copies`,
/// next to (often on the same pages as) the page's own rows, where `copies_listed` would be a
/// second tree to walk down (bench/results.md, 2026-12-05T19:05Z).
fn partial_day_count_sql(filter: &str) -> String {
    format!("SELECT COUNT(*) FROM listed_copies WHERE {filter}")
}

/// Listed copies on days `?2..=?3` (all destinations: one primary-key range per destination
/// the instance has, found in `copy_listing_totals`).
const DAYS_SUM_SQL: &str = "SELECT COALESCE(SUM(d.listed), 0) FROM copy_listing_totals t \
     CROSS JOIN copy_listing_days d ON d.instance_id = t.instance_id \
     AND d.dest_region_id = t.dest_region_id AND d.day BETWEEN ?2 AND ?3 WHERE t.instance_id = ?1";
/// Listed copies into destination `?4` on days `?2..=?3`.
const DAYS_SUM_DEST_SQL: &str = "SELECT COALESCE(SUM(listed), 0) FROM copy_listing_days \
     WHERE instance_id = ?1 AND dest_region_id = ?4 AND day BETWEEN ?2 AND ?3";

/// The total of a windowed listing (filtered by nothing else than the destination), with cost
/// bounded by the days of the window rather than its copies; `None` to count instead.
fn windowed_total(conn: &Connection, query: &CopyQuery) -> Result<Option<u64>> {
    let Some((from, to)) = query.window else {
        return Ok(None);
    };
    if query.cross_backup_id.is_some() || query.backup_set_id.is_some() {
        return Ok(None);
    }
    let Some(split) = split_window(secs(from), secs(to)) else {
        return Ok(None);
    };
    let mut params = vec![
        Value::Integer(query.instance_id),
        Value::Integer(split.days.0),
        Value::Integer(split.days.1),
    ];
    let sql = match &query.dest_region_id {
        None => DAYS_SUM_SQL,
        Some(region) => {
            params.push(Value::Text(region.clone()));
            DAYS_SUM_DEST_SQL
        }
    };
    let mut total: i64 = conn
        .prepare_cached(sql)
        .db()?
        .query_row(params_from_iter(params), |r| r.get(0))
        .db()?;
    for range in split.partial {
        let (filter, params) = listing_filter_in(query, Some(range));
        let n: i64 = conn
            .prepare_cached(&partial_day_count_sql(&filter))
            .db()?
            .query_row(params_from_iter(params), |r| r.get(0))
            .db()?;
        total += n;
    }
    Ok(Some(total.max(0) as u64))
}

pub(super) fn list_copies(conn: &Connection, query: &CopyQuery) -> Result<CopyListing> {
    let (filter, params) = listing_filter(query);
    let limit = i64::from(query.page_size.get());
    let offset = i64::try_from(query.offset()).unwrap_or(i64::MAX);

    // One snapshot for the page and the total, so they agree under concurrent writes.
    let tx = conn.unchecked_transaction().db()?;

    // When the total is kept, read it first: a page past the end then costs nothing.
    let kept = match kept_total_sql(query) {
        Some(sql) => {
            let mut kept_params = vec![Value::Integer(query.instance_id)];
            kept_params.extend(query.dest_region_id.clone().map(Value::Text));
            let n: i64 = tx
                .prepare_cached(sql)
                .db()?
                .query_row(params_from_iter(kept_params), |r| r.get(0))
                .db()?;
            Some(n.max(0) as u64)
        }
        None => None,
    };
    if kept.is_some_and(|total| offset as u64 >= total) {
        return Ok(CopyListing {
            total: kept.unwrap_or(0),
            items: Vec::new(),
        });
    }

    let (reverse, page_limit, page_offset) = page_window(limit, offset, kept);
    let mut page_params = params.clone();
    page_params.extend([Value::Integer(page_limit), Value::Integer(page_offset)]);
    let mut items = {
        let mut stmt = tx.prepare_cached(&page_sql(&filter, reverse)).db()?;
        let rows = stmt
            .query_map(params_from_iter(page_params), listed_copy_at)
            .db()?;
        rows.collect::<rusqlite::Result<Vec<ListedCopy>>>().db()?
    };
    if reverse {
        items.reverse();
    }

    let total = match kept {
        Some(total) => total,
        // A partial page that is not empty ends the listing: its total needs no count.
        None if !items.is_empty() && (items.len() as i64) < limit => {
            offset as u64 + items.len() as u64
        }
        None => match windowed_total(&tx, query)? {
            Some(total) => total,
            None => {
                let sql = count_sql(&filter);
                let n: i64 = tx
                    .prepare_cached(&sql)
                    .db()?
                    .query_row(params_from_iter(params), |r| r.get(0))
                    .db()?;
                n as u64
            }
        },
    };
    tx.finish().db()?;
    Ok(CopyListing { total, items })
}

pub(super) fn copy(conn: &Connection, id: i64) -> Result<Option<CrossRegionCopy>> {
    let sql = format!(
        "SELECT {}, {INSTANCE_COLUMNS} FROM copies c \
         JOIN backup_sets b ON b.id = c.backup_set_id JOIN instances i ON i.id = c.instance_id \
         WHERE c.id = ?1",
        copy_columns()
    );
    optional_row(conn, &sql, [id], copy_and_instance_at)
}

pub(super) fn copy_counts(conn: &Connection) -> Result<CopyCounts> {
    let mut counts = CopyCounts::default();
    let mut stmt = conn
        .prepare_cached("SELECT status, COUNT(*) FROM copies GROUP BY status")
        .db()?;
    let rows = stmt
        .query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
        })
        .db()?;
    for row in rows {
        let (status, n) = row.db()?;
        let n = n as u64;
        counts.add(&status, n);
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::super::rows::{query_plan, select_all};
    use super::*;
    use crate::columns::LISTED_COPY_COLUMNS;
    use xbak_domain::PageSize;

    fn plan(conn: &Connection, sql: &str, params: Vec<Value>) -> String {
        query_plan(conn, sql, params_from_iter(params))
    }

    fn query() -> CopyQuery {
        CopyQuery {
            page_number: 3,
            ..CopyQuery::first_page(1, PageSize::Thirty)
        }
    }

    /// `copy_listing_totals` and `copy_listing_days` (kept by triggers) must always equal a count of
    /// the listed rows, and `listed_copies` the listed rows joined with their backup sets.
    #[test]
    fn kept_totals_follow_every_change() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::migrations::migrate(&mut conn).unwrap();
        conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
        let check = |conn: &Connection, step: &str| {
            let counted: Vec<(i64, String, i64)> = select_all(conn, &format!(
                    "SELECT instance_id, dest_region_id, COUNT(*) FROM copies WHERE {LISTED} GROUP BY 1, 2 ORDER BY 1, 2"
                ), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)));
            let kept: Vec<(i64, String, i64)> = select_all(conn, "SELECT instance_id, dest_region_id, listed FROM copy_listing_totals WHERE listed <> 0 ORDER BY 1, 2", |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)));
            assert_eq!(kept, counted, "after {step}");
            let counted: Vec<(i64, String, i64, i64)> = select_all(conn, &format!(
                    "SELECT instance_id, dest_region_id, backup_started_at / 86400, COUNT(*) FROM copies \
                     WHERE {LISTED} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
                ), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)));
            let kept: Vec<(i64, String, i64, i64)> = select_all(conn, "SELECT instance_id, dest_region_id, day, listed FROM copy_listing_days ORDER BY 1, 2, 3", |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)));
            assert_eq!(kept, counted, "days after {step}");
            let joined: Vec<String> = select_all(
                conn,
                &format!(
                    "SELECT json_array(c.instance_id, c.backup_started_at, {}) FROM copies c \
                     JOIN backup_sets b ON b.id = c.backup_set_id WHERE c.{LISTED} ORDER BY c.id",
                    copy_columns()
                ),
                |r| r.get(0),
            );
            let kept: Vec<String> = select_all(
                conn,
                &format!(
                    "SELECT json_array(instance_id, backup_started_at, {LISTED_COPY_COLUMNS}) \
                     FROM listed_copies ORDER BY id"
                ),
                |r| r.get(0),
            );
            assert_eq!(kept, joined, "listed copies after {step}");
        };
        let statuses = ["pending", "completed", "failed"];
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(7);
        let mut next = |n: u64| rand::Rng::random_range(&mut rng, 0..n);
        for id in 1..=60i64 {
            conn.execute(
                "INSERT INTO backup_sets (id, instance_id, source_region_id, method, backup_type, scale,
                                         started_at, finished_at, consistent_at, instance_number,
                                         object_key, size_bytes, sha256, recorded_at)
                 VALUES (?1, 1, 'src', 'Physical', 'FullBackup', 0, 5, 6, 6, 7, 'set' || ?1, ?1, 'h', 0)",
                [id],
            )
            .unwrap();
            let (instance, dest, status) = (
                next(3) as i64 + 1,
                ["a", "b"][next(2) as usize],
                statuses[next(3) as usize],
            );
            let started = next(4) as i64 * 86_400 + [0, 1, 43_200, 86_399][next(4) as usize];
            conn.execute(
                "INSERT INTO copies (id, backup_set_id, instance_id, dest_region_id, object_key, status,
                                     backup_started_at, queued_at) VALUES (?1, ?1, ?2, ?3, 'k', ?4, ?5, 0)",
                (id, instance, dest, status, started),
            )
            .unwrap();
        }
        check(&conn, "inserts");
        for step in 0..300 {
            let id = next(60) as i64 + 1;
            match next(7) {
                5 => conn.execute(
                    "UPDATE copies SET object_key = 'k' || ?2, completed_at = ?2 WHERE id = ?1",
                    (id, next(1000) as i64),
                ),
                6 => conn.execute(
                    "UPDATE backup_sets SET size_bytes = ?2, sha256 = 'h' || ?2 WHERE id = ?1",
                    (id, next(1000) as i64),
                ),
                4 => conn.execute(
                    "UPDATE copies SET backup_started_at = ?2 WHERE id = ?1",
                    (
                        id,
                        next(4) as i64 * 86_400 + [0, 1, 86_399][next(3) as usize],
                    ),
                ),
                0 => conn.execute(
                    "UPDATE copies SET status = ?2 WHERE id = ?1",
                    (id, statuses[next(3) as usize]),
                ),
                1 => conn.execute(
                    "UPDATE copies SET dest_region_id = ?2 WHERE id = ?1",
                    (id, ["a", "b", "c"][next(3) as usize]),
                ),
                2 => conn.execute(
                    "UPDATE copies SET instance_id = ?2, status = ?3 WHERE id = ?1",
                    (id, next(3) as i64 + 1, statuses[next(3) as usize]),
                ),
                _ => conn.execute("DELETE FROM copies WHERE id = ?1", [id]),
            }
            .unwrap();
            check(&conn, &format!("step {step}"));
        }
    }

    /// The property the hot path depends on: no sort and no table scan, whatever the filters.
    #[test]
    fn listing_pages_and_counts_never_sort_or_scan() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::migrations::migrate(&mut conn).unwrap();
        let t = chrono::DateTime::from_timestamp(1_560_000_000, 0).unwrap();
        let variants = [
            query(),
            CopyQuery {
                window: Some((t, t)),
                ..query()
            },
            CopyQuery {
                dest_region_id: Some("cn-shanghai".into()),
                ..query()
            },
            CopyQuery {
                window: Some((t, t)),
                dest_region_id: Some("cn-shanghai".into()),
                ..query()
            },
        ];
        for q in variants {
            let (filter, params) = listing_filter(&q);
            let mut page_params = params.clone();
            page_params.extend([Value::Integer(30), Value::Integer(60)]);
            for reverse in [false, true] {
                let page = plan(&conn, &page_sql(&filter, reverse), page_params.clone());
                assert!(
                    page.contains("SEARCH listed_copies USING PRIMARY KEY (instance_id=?"),
                    "{filter}:\n{page}"
                );
                assert!(!page.contains("TEMP B-TREE"), "{filter}:\n{page}");
                assert!(!page.contains("SCAN"), "{filter}:\n{page}");
            }
            let count = plan(&conn, &count_sql(&filter), params.clone());
            assert!(
                count.contains("USING COVERING INDEX copies_listed"),
                "{filter}:\n{count}"
            );
            let partial = plan(&conn, &partial_day_count_sql(&filter), params);
            assert!(
                partial.contains("SEARCH listed_copies USING PRIMARY KEY (instance_id=?"),
                "{filter}:\n{partial}"
            );
            assert!(!partial.contains("SCAN"), "{filter}:\n{partial}");
        }
        // A window's whole days: one primary-key range of copy_listing_days per destination.
        let days = plan(
            &conn,
            DAYS_SUM_SQL,
            vec![Value::Integer(1), Value::Integer(10), Value::Integer(20)],
        );
        assert!(
            days.contains("SEARCH t USING PRIMARY KEY (instance_id=?)"),
            "{days}"
        );
        assert!(
            days.contains(
                "SEARCH d USING PRIMARY KEY (instance_id=? AND dest_region_id=? AND day>? AND day<?)"
            ),
            "{days}"
        );
        assert!(!days.contains("SCAN"), "{days}");
        let days = plan(
            &conn,
            DAYS_SUM_DEST_SQL,
            vec![
                Value::Integer(1),
                Value::Integer(10),
                Value::Integer(20),
                Value::Text("cn-shanghai".into()),
            ],
        );
        assert!(
            days.contains(
                "SEARCH copy_listing_days USING PRIMARY KEY (instance_id=? AND dest_region_id=? AND day>? AND day<?)"
            ),
            "{days}"
        );
        assert!(!days.contains("SCAN"), "{days}");
    }
}
