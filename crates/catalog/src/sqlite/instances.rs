//! Regions, instances and their cross-region policies.

use rusqlite::{Connection, Transaction};
use xbak_domain::{Instance, NewInstance, Policy, Region};

use super::errors::SqlResultExt;
use super::rows::{
    all_rows, instance_at, optional_row, policy_at, region_at, secs, wall_clock, INSTANCE_COLUMNS,
};
use crate::{CatalogError, Result};

pub(super) fn put_region(tx: &Transaction<'_>, region: &Region) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO regions (region_id, store_url) VALUES (?1, ?2)
         ON CONFLICT (region_id) DO UPDATE SET store_url = excluded.store_url",
    )
    .db()?
    .execute((&region.region_id, &region.store_url))
    .db_as(|| format!("region {:?}", region.region_id))?;
    Ok(())
}

pub(super) fn region(conn: &Connection, region_id: &str) -> Result<Option<Region>> {
    optional_row(
        conn,
        "SELECT region_id, store_url FROM regions WHERE region_id = ?1",
        [region_id],
        region_at,
    )
}

pub(super) fn regions(conn: &Connection) -> Result<Vec<Region>> {
    all_rows(
        conn,
        "SELECT region_id, store_url FROM regions ORDER BY region_id",
        [],
        region_at,
    )
}

fn exists(conn: &Connection, sql: &str, param: impl rusqlite::ToSql) -> Result<bool> {
    conn.prepare_cached(sql).db()?.exists([param]).db()
}

/// `NotFound` unless the region exists.
pub(super) fn require_region(conn: &Connection, region_id: &str) -> Result<()> {
    if exists(
        conn,
        "SELECT 1 FROM regions WHERE region_id = ?1",
        region_id,
    )? {
        Ok(())
    } else {
        Err(CatalogError::NotFound(format!("region {region_id:?}")))
    }
}

pub(super) fn create_instance(tx: &Transaction<'_>, new: &NewInstance) -> Result<Instance> {
    if !exists(tx, "SELECT 1 FROM accounts WHERE id = ?1", new.account_id)? {
        return Err(CatalogError::NotFound(format!(
            "account {}",
            new.account_id
        )));
    }
    require_region(tx, &new.region_id)?;
    let created_at = wall_clock();
    tx.prepare_cached(
        "INSERT INTO instances (db_instance_id, account_id, region_id, engine, engine_version, category,
                                storage_type, instance_number, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .db()?
    .execute((
        &new.db_instance_id,
        new.account_id,
        &new.region_id,
        &new.engine,
        &new.engine_version,
        new.category.as_str(),
        new.storage_type.as_str(),
        new.instance_number,
        created_at,
    ))
    .db_as(|| format!("instance {:?}", new.db_instance_id))?;
    let id = tx.last_insert_rowid();
    instance_by_id(tx, id)?
        .ok_or_else(|| CatalogError::Internal("inserted instance vanished".into()))
}

fn instance_where(
    conn: &Connection,
    condition: &str,
    param: impl rusqlite::ToSql,
) -> Result<Option<Instance>> {
    let sql = format!("SELECT {INSTANCE_COLUMNS} FROM instances i WHERE {condition}");
    optional_row(conn, &sql, [param], |row| instance_at(row, 0))
}

pub(super) fn instance_by_id(conn: &Connection, id: i64) -> Result<Option<Instance>> {
    instance_where(conn, "i.id = ?1", id)
}

pub(super) fn instance_by_db_instance_id(
    conn: &Connection,
    db_instance_id: &str,
) -> Result<Option<Instance>> {
    instance_where(conn, "i.db_instance_id = ?1", db_instance_id)
}

/// Stores the policy as given (its `updated_at` included) and returns what was stored.
pub(super) fn put_policy(tx: &Transaction<'_>, policy: &Policy) -> Result<Policy> {
    if !exists(
        tx,
        "SELECT 1 FROM instances WHERE id = ?1",
        policy.instance_id,
    )? {
        return Err(CatalogError::NotFound(format!(
            "instance {}",
            policy.instance_id
        )));
    }
    require_region(tx, &policy.dest_region_id)?;
    tx.prepare_cached(
        "INSERT INTO policies (instance_id, enabled, dest_region_id, retention_days, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (instance_id) DO UPDATE SET
             enabled = excluded.enabled, dest_region_id = excluded.dest_region_id,
             retention_days = excluded.retention_days, updated_at = excluded.updated_at",
    )
    .db()?
    .execute((
        policy.instance_id,
        policy.enabled,
        &policy.dest_region_id,
        policy.retention_days,
        secs(policy.updated_at),
    ))
    .db_as(|| format!("policy of instance {}", policy.instance_id))?;
    self::policy(tx, policy.instance_id)?
        .ok_or_else(|| CatalogError::Internal("stored policy vanished".into()))
}

pub(super) fn policy(conn: &Connection, instance_id: i64) -> Result<Option<Policy>> {
    optional_row(conn, "SELECT instance_id, enabled, dest_region_id, retention_days, updated_at FROM policies WHERE instance_id = ?1", [instance_id], policy_at)
}
