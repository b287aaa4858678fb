//! The instances whose cross-region backup is on, with their policies, a page at a time
//! (`DescribeCrossRegionBackupDBInstance`).

use deadpool_postgres::ClientWrapper;

use super::cross_policy::cross_backup_policy;
use super::errors::PgResultExt;
use super::rows::{get, instance_at, query, query_one, read_snapshot, INSTANCE_COLUMNS};
use crate::{CatalogError, CrossBackupInstances, Result};

/// Every instance of the account in the region with an enabled policy; `$3`, when not empty,
/// keeps the ones it names.
const FROM: &str = "FROM instances i JOIN policies p ON p.instance_id = i.id
     WHERE i.account_id = $1 AND i.region_id = $2 AND p.enabled
       AND (cardinality($3::text[]) = 0 OR i.db_instance_id = ANY($3::text[]))";

/// The instances of `account_id` in `region_id` whose policy is enabled (only those named in
/// `db_instance_ids`, when it is not empty), by `DBInstanceId`: page `page_number` of
/// `page_size`, and how many there are, read in one snapshot.
pub(super) async fn cross_backup_instances(
    client: &mut ClientWrapper,
    account_id: i64,
    region_id: &str,
    db_instance_ids: &[String],
    page_size: u32,
    page_number: u32,
) -> Result<CrossBackupInstances> {
    let tx = read_snapshot(client).await?;
    let ids = db_instance_ids.to_vec();
    let total: i64 = get(
        &query_one(
            &tx,
            &format!("SELECT COUNT(*) {FROM}"),
            &[&account_id, &region_id, &ids],
        )
        .await?,
        0,
    )?;
    let (limit, offset) = (
        i64::from(page_size),
        i64::from(page_number.saturating_sub(1)) * i64::from(page_size),
    );
    let rows = query(
        &tx,
        &format!("SELECT {INSTANCE_COLUMNS} {FROM} ORDER BY i.db_instance_id LIMIT $4 OFFSET $5"),
        &[&account_id, &region_id, &ids, &limit, &offset],
    )
    .await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        let instance = instance_at(row, 0)?;
        let policy = cross_backup_policy(&tx, instance.id)
            .await?
            .ok_or_else(|| CatalogError::Internal("listed policy vanished".into()))?;
        items.push((instance, policy));
    }
    tx.commit().await.db()?;
    Ok(CrossBackupInstances {
        total: total.max(0) as u64,
        items,
    })
}
