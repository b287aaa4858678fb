//! Reading copies: the `DescribeCrossRegionBackups` listing (the API hot path), single copies and
//! counts by state.
//!
//! The same plan as the SQLite adapter's: a page walks the partial index `copies_listed` and
//! joins only its rows; the total of an unfiltered (or destination-only) listing is one row of
//! `copy_listing_totals`, a window's sums the whole days inside it from `copy_listing_days` and
//! counts only the partial first and last days; other filters count through the index. Page and
//! total are read in one repeatable-read snapshot, so they agree under concurrent writes.

use deadpool_postgres::{ClientWrapper, GenericClient};
use tokio_postgres::types::ToSql;
use xbak_domain::{CopyListing, CopyQuery, CrossRegionCopy};

use super::errors::PgResultExt;
use super::instances::instance_by_id;
use super::rows::{
    copy_and_instance_at, copy_at, copy_columns, get, query, query_one, query_opt, read_snapshot,
    secs, INSTANCE_COLUMNS,
};
use crate::rules::{page_window, split_window};
use crate::{CopyCounts, Result};

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

/// The `WHERE` clause over `copies` (unqualified columns) for `query`, and its parameters,
/// with the window (inclusive, unix seconds) given.
fn listing_filter_in(query: &CopyQuery, window: Option<(i64, i64)>) -> (String, Vec<Value>) {
    let mut sql = format!("instance_id = $1 AND {LISTED}");
    let mut params = vec![Value::Int(query.instance_id)];
    let mut push = |sql: &mut String, term: &str, value: Value| {
        params.push(value);
        sql.push_str(&format!(" AND {term} ${}", params.len()));
    };
    if let Some(id) = query.cross_backup_id {
        push(&mut sql, "id =", Value::Int(id));
    }
    if let Some((from, to)) = window {
        push(&mut sql, "backup_started_at >=", Value::Int(from));
        push(&mut sql, "backup_started_at <=", Value::Int(to));
    }
    if let Some(region) = &query.dest_region_id {
        push(&mut sql, "dest_region_id =", Value::Text(region.clone()));
    }
    if let Some(set_id) = query.backup_set_id {
        push(&mut sql, "backup_set_id =", Value::Int(set_id));
    }
    (sql, params)
}

fn listing_filter(query: &CopyQuery) -> (String, Vec<Value>) {
    let window = query.window.map(|(from, to)| (secs(from), secs(to)));
    listing_filter_in(query, window)
}

/// The page's rows with their backup sets, unordered: the ids first, walking `copies_listed`
/// from the newest end (or the oldest when `reverse`), then one lookup per row and table.
/// `n` is the number of filter parameters; limit and offset follow them.
fn page_sql(filter: &str, n: usize, reverse: bool) -> String {
    let order = if reverse {
        REVERSE_ORDER
    } else {
        LISTING_ORDER
    };
    format!(
        "SELECT {} FROM (SELECT id FROM copies WHERE {filter} ORDER BY {order} LIMIT ${} OFFSET ${}) AS page \
         JOIN copies c ON c.id = page.id JOIN backup_sets b ON b.id = c.backup_set_id",
        copy_columns(),
        n + 1,
        n + 2,
    )
}

fn count_sql(filter: &str) -> String {
    format!("SELECT COUNT(*) FROM copies WHERE {filter}")
}

/// Listed copies on days `$2..=$3`, all destinations.
const DAYS_SUM_SQL: &str = "SELECT COALESCE(SUM(listed), 0)::BIGINT FROM copy_listing_days \
     WHERE instance_id = $1 AND day BETWEEN $2 AND $3";
/// Listed copies into destination `$4` on days `$2..=$3`.
const DAYS_SUM_DEST_SQL: &str = "SELECT COALESCE(SUM(listed), 0)::BIGINT FROM copy_listing_days \
     WHERE instance_id = $1 AND day BETWEEN $2 AND $3 AND dest_region_id = $4";

/// The total kept in `copy_listing_totals` when the query filters by nothing it does not key.
async fn kept_total(c: &impl GenericClient, query: &CopyQuery) -> Result<Option<u64>> {
    if query.cross_backup_id.is_some() || query.window.is_some() || query.backup_set_id.is_some() {
        return Ok(None);
    }
    let row = match &query.dest_region_id {
        None => {
            query_one(
                c,
                "SELECT COALESCE(SUM(listed), 0)::BIGINT FROM copy_listing_totals WHERE instance_id = $1",
                &[&query.instance_id],
            )
            .await?
        }
        Some(region) => {
            query_one(
                c,
                "SELECT COALESCE(SUM(listed), 0)::BIGINT FROM copy_listing_totals
                 WHERE instance_id = $1 AND dest_region_id = $2",
                &[&query.instance_id, region],
            )
            .await?
        }
    };
    Ok(Some(get::<i64>(&row, 0)?.max(0) as u64))
}

/// The total of a windowed listing (filtered by nothing else than the destination), with cost
/// bounded by the days of the window rather than its copies; `None` to count instead.
async fn windowed_total(c: &impl GenericClient, query: &CopyQuery) -> Result<Option<u64>> {
    let Some((from, to)) = query.window else {
        return Ok(None);
    };
    if query.cross_backup_id.is_some() || query.backup_set_id.is_some() {
        return Ok(None);
    }
    let Some(split) = split_window(secs(from), secs(to)) else {
        return Ok(None);
    };
    let (first, last) = split.days;
    let row = match &query.dest_region_id {
        None => query_one(c, DAYS_SUM_SQL, &[&query.instance_id, &first, &last]).await?,
        Some(region) => {
            query_one(
                c,
                DAYS_SUM_DEST_SQL,
                &[&query.instance_id, &first, &last, region],
            )
            .await?
        }
    };
    let mut total: i64 = get(&row, 0)?;
    for range in split.partial {
        total += count(c, query, Some(range)).await?;
    }
    Ok(Some(total.max(0) as u64))
}

async fn count(
    c: &impl GenericClient,
    query: &CopyQuery,
    window: Option<(i64, i64)>,
) -> Result<i64> {
    let (filter, params) = listing_filter_in(query, window);
    let row = query_one(c, &count_sql(&filter), &refs(&params)).await?;
    get(&row, 0)
}

pub(super) async fn list_copies(
    client: &mut ClientWrapper,
    query: &CopyQuery,
) -> Result<CopyListing> {
    let tx = read_snapshot(client).await?;
    let listing = list_in(&tx, query).await?;
    tx.commit().await.db()?;
    Ok(listing)
}

async fn list_in(tx: &impl GenericClient, query: &CopyQuery) -> Result<CopyListing> {
    let limit = i64::from(query.page_size.get());
    let offset = i64::try_from(query.offset()).unwrap_or(i64::MAX);

    // When the total is kept, read it first: a page past the end then costs nothing.
    let kept = kept_total(tx, query).await?;
    if kept.is_some_and(|total| offset as u64 >= total) {
        return Ok(CopyListing {
            total: kept.unwrap_or(0),
            items: Vec::new(),
        });
    }
    let Some(instance) = instance_by_id(tx, query.instance_id).await? else {
        return Ok(CopyListing {
            total: 0,
            items: Vec::new(),
        });
    };
    let (filter, params) = listing_filter(query);
    let (reverse, page_limit, page_offset) = page_window(limit, offset, kept);
    let mut page_params = params.clone();
    page_params.extend([Value::Int(page_limit), Value::Int(page_offset)]);
    let rows = self::query(
        tx,
        &page_sql(&filter, params.len(), reverse),
        &refs(&page_params),
    )
    .await?;
    let mut items = rows
        .iter()
        .map(|row| copy_at(row, instance.clone()))
        .collect::<Result<Vec<CrossRegionCopy>>>()?;
    // Listing order, restored over the page only.
    items.sort_unstable_by(|a, b| {
        (b.backup_set.started_at, b.cross_backup_id)
            .cmp(&(a.backup_set.started_at, a.cross_backup_id))
    });

    let total = match kept {
        Some(total) => total,
        // A partial page that is not empty ends the listing: its total needs no count.
        None if !items.is_empty() && (items.len() as i64) < limit => {
            offset as u64 + items.len() as u64
        }
        None => match windowed_total(tx, query).await? {
            Some(total) => total,
            None => count(tx, query, query.window.map(|(f, t)| (secs(f), secs(t))))
                .await?
                .max(0) as u64,
        },
    };
    Ok(CopyListing { total, items })
}

pub(super) async fn copy(c: &impl GenericClient, id: i64) -> Result<Option<CrossRegionCopy>> {
    let sql = format!(
        "SELECT {}, {INSTANCE_COLUMNS} FROM copies c \
         JOIN backup_sets b ON b.id = c.backup_set_id JOIN instances i ON i.id = c.instance_id \
         WHERE c.id = $1",
        copy_columns()
    );
    query_opt(c, &sql, &[&id])
        .await?
        .map(|row| copy_and_instance_at(&row))
        .transpose()
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
        match status.as_str() {
            "pending" => counts.pending = n,
            "completed" => counts.completed = n,
            "failed" => counts.failed = n,
            // The CHECK constraint makes this unreachable.
            _ => {}
        }
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
        let (sql, params) = listing_filter(&q);
        assert_eq!(
            sql,
            "instance_id = $1 AND status IN ('completed', 'failed') AND id = $2 \
             AND backup_started_at >= $3 AND backup_started_at <= $4 AND dest_region_id = $5 \
             AND backup_set_id = $6"
        );
        assert_eq!(params.len(), 6);
        let page = page_sql(&sql, params.len(), false);
        assert!(page.contains("LIMIT $7 OFFSET $8"), "{page}");
    }
}
