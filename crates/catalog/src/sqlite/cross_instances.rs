//! The instances whose cross-region backup is on, with their policies, a page at a time
//! (`DescribeCrossRegionBackupDBInstance`).

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection};

use super::cross_policy::cross_backup_policy;
use super::errors::SqlResultExt;
use super::rows::{instance_at, INSTANCE_COLUMNS};
use crate::{CatalogError, CrossBackupInstances, Result};

/// The instances of `account_id` in `region_id` whose policy is enabled (only those named in
/// `db_instance_ids`, when it is not empty), by `DBInstanceId`: page `page_number` of
/// `page_size`, and how many there are, read in one snapshot.
pub(super) fn cross_backup_instances(
    conn: &Connection,
    account_id: i64,
    region_id: &str,
    db_instance_ids: &[String],
    page_size: u32,
    page_number: u32,
) -> Result<CrossBackupInstances> {
    let mut filter = "i.account_id = ?1 AND i.region_id = ?2 AND p.enabled".to_owned();
    let mut params = vec![
        Value::Integer(account_id),
        Value::Text(region_id.to_owned()),
    ];
    if !db_instance_ids.is_empty() {
        let marks: Vec<String> = (0..db_instance_ids.len())
            .map(|k| format!("?{}", k + 3))
            .collect();
        filter.push_str(&format!(" AND i.db_instance_id IN ({})", marks.join(", ")));
        params.extend(db_instance_ids.iter().cloned().map(Value::Text));
    }
    let from = format!("FROM instances i JOIN policies p ON p.instance_id = i.id WHERE {filter}");
    let tx = conn.unchecked_transaction().db()?;
    let total: i64 = tx
        .prepare(&format!("SELECT COUNT(*) {from}"))
        .db()?
        .query_row(params_from_iter(params.clone()), |r| r.get(0))
        .db()?;
    let offset = i64::from(page_number.saturating_sub(1)) * i64::from(page_size);
    let n = params.len();
    params.extend([Value::Integer(page_size.into()), Value::Integer(offset)]);
    let sql = format!(
        "SELECT {INSTANCE_COLUMNS} {from} ORDER BY i.db_instance_id LIMIT ?{} OFFSET ?{}",
        n + 1,
        n + 2
    );
    let instances = tx
        .prepare(&sql)
        .db()?
        .query_map(params_from_iter(params), |row| instance_at(row, 0))
        .db()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .db()?;
    let mut items = Vec::with_capacity(instances.len());
    for instance in instances {
        let policy = cross_backup_policy(&tx, instance.id)?
            .ok_or_else(|| CatalogError::Internal("listed policy vanished".into()))?;
        items.push((instance, policy));
    }
    Ok(CrossBackupInstances {
        total: total.max(0) as u64,
        items,
    })
}
