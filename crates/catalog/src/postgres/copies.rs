//! Reading copies: the `DescribeCrossRegionBackups` listing (the API hot path), single copies and
//! counts by state.
//!
//! The same plan as the SQLite adapter's: a page is one index-only range scan of
//! `listed_copies_in_order` (every listed copy with its backup set's columns, migration 7); the
//! total of an unfiltered (or destination-only) listing is one row of `copy_listing_totals`, a
//! window's sums the whole days inside it from `copy_listing_days` and counts only the partial
//! first and last days through the narrower index `copies_listed`; other filters count through
//! that index. Page and total are one statement (one snapshot, so they agree under
//! concurrent writes, and one round trip); only a page past the first of a kept total reads that
//! total first, in a repeatable-read transaction, to walk from the nearer end. The one statement
//! runs on a connection shared with concurrent callers (`readers`), the transaction on a pooled one.

use deadpool_postgres::{GenericClient, Pool};
use tokio_postgres::types::ToSql;
use tokio_postgres::{IsolationLevel, Row};
use xbak_domain::{CopyListing, CopyQuery, CrossRegionCopy, ListedCopy};

use super::errors::{translate_pool, PgResultExt};
use super::readers::Readers;
use super::rows::{
    copy_and_instance_at, copy_columns, get, listed_copy_at, optional_row, query, query_one, secs,
    INSTANCE_COLUMNS,
};
use crate::columns::LISTING_COLUMNS;
use crate::rules::{page_window, split_window};
use crate::{CatalogError, CopyCounts, Result};

/// The listed states: the predicate of the partial index `copies_listed`, which counts over
/// `copies` repeat; every row of `listed_copies` has one of them already.
const LISTED: &str = "status IN ('completed', 'failed')";
const LISTING_ORDER: &str = "backup_started_at DESC, id DESC";
const REVERSE_ORDER: &str = "backup_started_at ASC, id ASC";

/// One bound parameter of a listing statement.
#[derive(Debug, Clone)]
enum Value {
    Int(i64),
    Text(String),
}

impl Value {
    fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Value::Int(v) => v,
            Value::Text(v) => v,
        }
    }
}

fn refs(values: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    values.iter().map(Value::as_sql).collect()
}

/// Binds `value` as the next parameter; returns its placeholder.
fn bind(params: &mut Vec<Value>, value: Value) -> String {
    params.push(value);
    format!("${}", params.len())
}

/// The `WHERE` clause for `query` (unqualified columns of `listed_copies`, or of `copies` after
/// [`LISTED`]), with the window (inclusive, unix seconds) given, its parameters appended to
/// `params`.
fn filter_sql(query: &CopyQuery, window: Option<(i64, i64)>, params: &mut Vec<Value>) -> String {
    let mut sql = format!(
        "instance_id = {}",
        bind(params, Value::Int(query.instance_id))
    );
    let mut push = |term: &str, value: Value| {
        let at = bind(params, value);
        sql.push_str(&format!(" AND {term} {at}"));
    };
    if let Some(id) = query.cross_backup_id {
        push("id =", Value::Int(id));
    }
    if let Some((from, to)) = window {
        push("backup_started_at >=", Value::Int(from));
        push("backup_started_at <=", Value::Int(to));
    }
    if let Some(region) = &query.dest_region_id {
        push("dest_region_id =", Value::Text(region.clone()));
    }
    if let Some(set_id) = query.backup_set_id {
        push("backup_set_id =", Value::Int(set_id));
    }
    sql
}

fn query_window(query: &CopyQuery) -> Option<(i64, i64)> {
    query.window.map(|(from, to)| (secs(from), secs(to)))
}

/// The page's rows (the columns of [`LISTING_COLUMNS`]), walking `listed_copies` from the
/// newest end (or the oldest when `reverse`).
fn page_sql(
    query: &CopyQuery,
    reverse: bool,
    limit: i64,
    offset: i64,
    params: &mut Vec<Value>,
) -> String {
    let order = if reverse {
        REVERSE_ORDER
    } else {
        LISTING_ORDER
    };
    let filter = filter_sql(query, query_window(query), params);
    let limit = bind(params, Value::Int(limit));
    let offset = bind(params, Value::Int(offset));
    format!(
        "SELECT {LISTING_COLUMNS} FROM listed_copies WHERE {filter} \
         ORDER BY {order} LIMIT {limit} OFFSET {offset}"
    )
}

/// Whether `copy_listing_totals` keeps the total: the query filters by nothing it does not key.
fn total_is_kept(query: &CopyQuery) -> bool {
    query.cross_backup_id.is_none() && query.window.is_none() && query.backup_set_id.is_none()
}

/// A scalar subquery: the kept total (see [`total_is_kept`]).
fn kept_total_sql(query: &CopyQuery, params: &mut Vec<Value>) -> String {
    let mut sql = format!(
        "(SELECT COALESCE(SUM(listed), 0)::BIGINT FROM copy_listing_totals WHERE instance_id = {}",
        bind(params, Value::Int(query.instance_id))
    );
    if let Some(region) = &query.dest_region_id {
        let at = bind(params, Value::Text(region.clone()));
        sql.push_str(&format!(" AND dest_region_id = {at}"));
    }
    sql.push(')');
    sql
}

/// A scalar subquery: the listed copies matching `query` with `window` instead of its own.
fn count_sql(query: &CopyQuery, window: Option<(i64, i64)>, params: &mut Vec<Value>) -> String {
    format!(
        "(SELECT COUNT(*) FROM copies WHERE {LISTED} AND {})",
        filter_sql(query, window, params)
    )
}

/// A scalar expression: the total of `query`'s listing. Kept when it is (one row); a window
/// filtered by nothing else than the destination sums the whole days inside it from
/// `copy_listing_days` and counts only the partial first and last days, so its cost is bounded
/// by the days of the window rather than its copies; anything else is counted.
fn total_sql(query: &CopyQuery, params: &mut Vec<Value>) -> String {
    if total_is_kept(query) {
        return kept_total_sql(query, params);
    }
    let split = match query_window(query) {
        Some((from, to)) if query.cross_backup_id.is_none() && query.backup_set_id.is_none() => {
            split_window(from, to)
        }
        _ => None,
    };
    let Some(split) = split else {
        return count_sql(query, query_window(query), params);
    };
    let mut sql = format!(
        "(SELECT COALESCE(SUM(listed), 0)::BIGINT FROM copy_listing_days WHERE instance_id = {}",
        bind(params, Value::Int(query.instance_id))
    );
    let (first, last) = split.days;
    let first = bind(params, Value::Int(first));
    let last = bind(params, Value::Int(last));
    sql.push_str(&format!(" AND day BETWEEN {first} AND {last}"));
    if let Some(region) = &query.dest_region_id {
        let at = bind(params, Value::Text(region.clone()));
        sql.push_str(&format!(" AND dest_region_id = {at}"));
    }
    sql.push(')');
    for range in split.partial {
        sql.push_str(" + ");
        sql.push_str(&count_sql(query, Some(range), params));
    }
    sql
}

/// One statement (so one snapshot, and one round trip) answering a listing: the page's rows,
/// each with the total after the page's columns; an empty page is one row of NULL columns and
/// the total (the page is the inner side of an outer join with a one-row relation). The total's
/// subqueries are InitPlans, run once per statement.
///
/// Written without a CTE: the former `WITH page AS MATERIALIZED (…), counted AS (…)` form, which
/// skipped the count for a partial page, cost PostgreSQL ~107 µs a statement against ~90 µs for
/// this one on the 1M-copy catalog (pgbench, bench/results.md 2026-12-06T16:00Z); a full page,
/// the common case, counts in both.
fn listing_sql(query: &CopyQuery, limit: i64, offset: i64, params: &mut Vec<Value>) -> String {
    let page = page_sql(query, false, limit, offset, params);
    let total = total_sql(query, params);
    format!(
        "SELECT page.*, ({total})::BIGINT \
         FROM (VALUES (1)) AS one LEFT JOIN ({page}) AS page ON TRUE"
    )
}

/// The rows of [`listing_sql`] as a listing, in listing order.
fn listing_from(rows: &[Row]) -> Result<CopyListing> {
    // The one-row relation on the outer side: the statement returns at least one row.
    let first = rows
        .first()
        .ok_or_else(|| CatalogError::Internal("the listing statement returned no row".into()))?;
    let total = get::<i64>(first, first.len() - 1)?.max(0) as u64;
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        if get::<Option<i64>>(row, 0)?.is_some() {
            items.push(listed_copy_at(row)?);
        }
    }
    sort_listing(&mut items);
    Ok(CopyListing { total, items })
}

/// Listing order, restored over the page only.
fn sort_listing(items: &mut [ListedCopy]) {
    items.sort_unstable_by(|a, b| {
        (b.started_at, b.cross_backup_id).cmp(&(a.started_at, a.cross_backup_id))
    });
}

/// A page on a shared connection ([`Readers`]): one statement; past a kept total's first page,
/// a snapshot on a connection of `pool`.
pub(super) async fn list_copies(
    readers: &Readers,
    pool: &Pool,
    query: &CopyQuery,
) -> Result<CopyListing> {
    let limit = i64::from(query.page_size.get());
    let offset = i64::try_from(query.offset()).unwrap_or(i64::MAX);
    if offset > 0 && total_is_kept(query) {
        // Past the first page, a kept total decides the direction of the walk (a page near the
        // end is read from the oldest end), so it is read first, in the same snapshot.
        let mut client = pool.get().await.map_err(translate_pool)?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .db()?;
        let listing = list_after_kept_total(&tx, query, limit, offset).await?;
        tx.commit().await.db()?;
        return Ok(listing);
    }
    let mut params = Vec::new();
    let sql = listing_sql(query, limit, offset, &mut params);
    let client = readers.get().await?;
    listing_from(&self::query(&*client, &sql, &refs(&params)).await?)
}

async fn list_after_kept_total(
    tx: &impl GenericClient,
    query: &CopyQuery,
    limit: i64,
    offset: i64,
) -> Result<CopyListing> {
    let mut params = Vec::new();
    let sql = format!("SELECT {}", kept_total_sql(query, &mut params));
    let row = query_one(tx, &sql, &refs(&params)).await?;
    let total = get::<i64>(&row, 0)?.max(0) as u64;
    // A page past the end costs nothing.
    if offset as u64 >= total {
        return Ok(CopyListing {
            total,
            items: Vec::new(),
        });
    }
    let (reverse, page_limit, page_offset) = page_window(limit, offset, Some(total));
    let mut params = Vec::new();
    let sql = page_sql(query, reverse, page_limit, page_offset, &mut params);
    let rows = self::query(tx, &sql, &refs(&params)).await?;
    let mut items = rows
        .iter()
        .map(listed_copy_at)
        .collect::<Result<Vec<ListedCopy>>>()?;
    sort_listing(&mut items);
    Ok(CopyListing { total, items })
}

pub(super) async fn copy(c: &impl GenericClient, id: i64) -> Result<Option<CrossRegionCopy>> {
    let sql = format!(
        "SELECT {}, {INSTANCE_COLUMNS} FROM copies c \
         JOIN backup_sets b ON b.id = c.backup_set_id JOIN instances i ON i.id = c.instance_id \
         WHERE c.id = $1",
        copy_columns()
    );
    optional_row(c, &sql, &[&id], copy_and_instance_at).await
}

pub(super) async fn copy_counts(c: &impl GenericClient) -> Result<CopyCounts> {
    let mut counts = CopyCounts::default();
    for row in query(
        c,
        "SELECT status, COUNT(*) FROM copies GROUP BY status",
        &[],
    )
    .await?
    {
        let status: String = get(&row, 0)?;
        let n = get::<i64>(&row, 1)?.max(0) as u64;
        counts.add(&status, n);
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use xbak_domain::PageSize;

    #[test]
    fn filters_number_their_parameters_in_order() {
        let t = chrono::DateTime::from_timestamp(1_560_000_000, 0).unwrap();
        let q = CopyQuery {
            instance_id: 1,
            cross_backup_id: Some(9),
            window: Some((t, t)),
            dest_region_id: Some("cn-shanghai".into()),
            backup_set_id: Some(4),
            page_size: PageSize::Thirty,
            page_number: 1,
        };
        let mut params = Vec::new();
        let sql = filter_sql(&q, query_window(&q), &mut params);
        assert_eq!(
            sql,
            "instance_id = $1 AND id = $2 \
             AND backup_started_at >= $3 AND backup_started_at <= $4 AND dest_region_id = $5 \
             AND backup_set_id = $6"
        );
        assert_eq!(params.len(), 6);
        let mut params = Vec::new();
        let page = page_sql(&q, false, 30, 0, &mut params);
        assert!(page.contains("LIMIT $7 OFFSET $8"), "{page}");
        assert_eq!(params.len(), 8);
    }

    /// Listing queries of every filter shape: none, destination, a window over days, a window
    /// inside a day with a destination, a window with a backup set.
    fn shapes() -> Vec<CopyQuery> {
        let day = 86_400;
        let at = |s: i64| chrono::DateTime::from_timestamp(s, 0).unwrap();
        let base = CopyQuery {
            instance_id: 1,
            cross_backup_id: None,
            window: None,
            dest_region_id: None,
            backup_set_id: None,
            page_size: PageSize::Thirty,
            page_number: 1,
        };
        vec![
            base.clone(),
            CopyQuery {
                dest_region_id: Some("cn-shanghai".into()),
                ..base.clone()
            },
            CopyQuery {
                window: Some((at(100 * day + 5), at(140 * day + 7))),
                ..base.clone()
            },
            CopyQuery {
                window: Some((at(100 * day), at(101 * day - 1))),
                dest_region_id: Some("cn-shanghai".into()),
                ..base.clone()
            },
            CopyQuery {
                window: Some((at(5), at(9))),
                backup_set_id: Some(3),
                ..base.clone()
            },
        ]
    }

    /// Every parameter a listing statement binds is used, under its own number.
    #[test]
    fn listing_statements_use_every_parameter() {
        for q in shapes() {
            let mut params = Vec::new();
            let sql = listing_sql(&q, 30, 0, &mut params);
            for n in 1..=params.len() {
                let placeholder = format!("${n}");
                let used = sql.match_indices(&placeholder).any(|(i, _)| {
                    !sql[i + placeholder.len()..].starts_with(|c: char| c.is_ascii_digit())
                });
                assert!(used, "{placeholder} unused in {sql}");
            }
            assert!(!sql.contains(&format!("${}", params.len() + 1)), "{sql}");
        }
    }

    /// Every listing statement reads its page with an index-only scan of `listed_copies_in_order`
    /// in index order and counts through indexes: no sort, no sequential scan, no per-row lookup
    /// of `copies` or `backup_sets`, whatever the filters (planned with sorts and sequential scans
    /// priced out, so the plan shows one only where no index can serve).
    #[tokio::test]
    async fn listing_statements_read_indexes_in_order() {
        let scratch = crate::suite::scratch::ScratchDatabase::create().await;
        crate::postgres::PostgresCatalog::open(scratch.url())
            .await
            .expect("open");
        let (client, connection) = tokio_postgres::connect(scratch.url(), tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(connection);
        client
            .batch_execute("SET enable_seqscan = off; SET enable_sort = off;")
            .await
            .unwrap();
        for q in shapes() {
            for (name, sql, params) in [
                {
                    let mut params = Vec::new();
                    let sql = listing_sql(&q, 30, 0, &mut params);
                    ("first page", sql, params)
                },
                {
                    let mut params = Vec::new();
                    let sql = page_sql(&q, true, 30, 60, &mut params);
                    ("page from the oldest end", sql, params)
                },
            ] {
                let plan: Vec<String> = client
                    .query(&format!("EXPLAIN {sql}"), &refs(&params))
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
                let plan = plan.join("\n");
                assert!(
                    plan.contains("Index Only Scan using listed_copies_in_order")
                        || plan.contains("Index Only Scan Backward using listed_copies_in_order"),
                    "{name} of {q:?}:\n{plan}"
                );
                for bad in ["Sort", "Seq Scan", "copies_pkey", "backup_sets_pkey"] {
                    assert!(!plan.contains(bad), "{bad} in the {name} of {q:?}:\n{plan}");
                }
            }
        }
    }
}
