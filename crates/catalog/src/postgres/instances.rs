//! Regions, instances and their cross-region policies.

use deadpool_postgres::{GenericClient, Transaction};
use xbak_domain::{Instance, NewInstance, Policy, Region};

use super::rows::{
    execute, instance_at, optional_row, policy_at, query_opt, region_at, rows, secs, wall_clock,
    INSTANCE_COLUMNS,
};
use crate::{CatalogError, Result};

pub(super) async fn put_region(tx: &Transaction<'_>, region: &Region) -> Result<()> {
    execute(
        tx,
        "INSERT INTO regions (region_id, store_url) VALUES ($1, $2)
         ON CONFLICT (region_id) DO UPDATE SET store_url = excluded.store_url",
        &[&region.region_id, &region.store_url],
        || format!("region {:?}", region.region_id),
    )
    .await?;
    Ok(())
}

pub(super) async fn region(c: &impl GenericClient, region_id: &str) -> Result<Option<Region>> {
    optional_row(
        c,
        "SELECT region_id, store_url FROM regions WHERE region_id = $1",
        &[&region_id],
        region_at,
    )
    .await
}

pub(super) async fn regions(c: &impl GenericClient) -> Result<Vec<Region>> {
    rows(
        c,
        "SELECT region_id, store_url FROM regions ORDER BY region_id COLLATE \"C\"",
        &[],
        region_at,
    )
    .await
}

/// `NotFound` unless the region exists.
pub(super) async fn require_region(c: &impl GenericClient, region_id: &str) -> Result<()> {
    match query_opt(
        c,
        "SELECT 1 FROM regions WHERE region_id = $1",
        &[&region_id],
    )
    .await?
    {
        Some(_) => Ok(()),
        None => Err(CatalogError::NotFound(format!("region {region_id:?}"))),
    }
}

async fn instance_exists(c: &impl GenericClient, id: i64) -> Result<bool> {
    Ok(
        query_opt(c, "SELECT 1 FROM instances WHERE id = $1", &[&id])
            .await?
            .is_some(),
    )
}

pub(super) async fn create_instance(tx: &Transaction<'_>, new: &NewInstance) -> Result<Instance> {
    if query_opt(
        tx,
        "SELECT 1 FROM accounts WHERE id = $1",
        &[&new.account_id],
    )
    .await?
    .is_none()
    {
        return Err(CatalogError::NotFound(format!(
            "account {}",
            new.account_id
        )));
    }
    require_region(tx, &new.region_id).await?;
    let created_at = wall_clock();
    let sql = format!(
        "INSERT INTO instances AS i (db_instance_id, account_id, region_id, engine, engine_version, category,
                                     storage_type, instance_number, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (db_instance_id) DO NOTHING
         RETURNING {INSTANCE_COLUMNS}"
    );
    let row = query_opt(
        tx,
        &sql,
        &[
            &new.db_instance_id,
            &new.account_id,
            &new.region_id,
            &new.engine,
            &new.engine_version,
            &new.category.as_str(),
            &new.storage_type.as_str(),
            &new.instance_number,
            &created_at,
        ],
    )
    .await?
    .ok_or_else(|| CatalogError::Conflict(format!("instance {:?}", new.db_instance_id)))?;
    instance_at(&row, 0)
}

async fn instance_where(
    c: &impl GenericClient,
    condition: &str,
    param: &(dyn tokio_postgres::types::ToSql + Sync),
) -> Result<Option<Instance>> {
    let sql = format!("SELECT {INSTANCE_COLUMNS} FROM instances i WHERE {condition}");
    optional_row(c, &sql, &[param], |row| instance_at(row, 0)).await
}

pub(super) async fn instance_by_id(c: &impl GenericClient, id: i64) -> Result<Option<Instance>> {
    instance_where(c, "i.id = $1", &id).await
}

pub(super) async fn instance_by_db_instance_id(
    c: &impl GenericClient,
    db_instance_id: &str,
) -> Result<Option<Instance>> {
    instance_where(c, "i.db_instance_id = $1", &db_instance_id).await
}

/// Stores the policy as given (its `updated_at` included) and returns what was stored.
pub(super) async fn put_policy(tx: &Transaction<'_>, policy: &Policy) -> Result<Policy> {
    if !instance_exists(tx, policy.instance_id).await? {
        return Err(CatalogError::NotFound(format!(
            "instance {}",
            policy.instance_id
        )));
    }
    require_region(tx, &policy.dest_region_id).await?;
    execute(
        tx,
        "INSERT INTO policies (instance_id, enabled, dest_region_id, retention_days, updated_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (instance_id) DO UPDATE SET
             enabled = excluded.enabled, dest_region_id = excluded.dest_region_id,
             retention_days = excluded.retention_days, updated_at = excluded.updated_at",
        &[
            &policy.instance_id,
            &policy.enabled,
            &policy.dest_region_id,
            &policy.retention_days,
            &secs(policy.updated_at),
        ],
        || format!("policy of instance {}", policy.instance_id),
    )
    .await?;
    self::policy(tx, policy.instance_id)
        .await?
        .ok_or_else(|| CatalogError::Internal("stored policy vanished".into()))
}

pub(super) async fn policy(c: &impl GenericClient, instance_id: i64) -> Result<Option<Policy>> {
    optional_row(
        c,
        "SELECT instance_id, enabled, dest_region_id, retention_days, updated_at FROM policies WHERE instance_id = $1",
        &[&instance_id], policy_at).await
}
