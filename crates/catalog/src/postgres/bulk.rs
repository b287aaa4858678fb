//! Seeding many listed copies at once, for benchmarks and load tests: the same rows as
//! [`crate::sqlite::SqliteCatalog::bulk_insert_copies`] writes, in one statement per call.
//!
//! The per-row trigger keeping `copy_listing_totals` and `copy_listing_days` is switched off for
//! the transaction (`xbak.bulk_listing_counts`, migration 4) and the same statement adds the
//! inserted copies to both tables once per (instance, destination[, day]): a trigger would
//! update one totals row per copy, walking that row's ever longer chain of versions.

use deadpool_postgres::Transaction;
use xbak_domain::naming::{backup_set_key, copy_key};

use super::instances::require_region;
use super::rows::{execute, get, query, secs, wall_clock};
use super::PostgresCatalog;
use crate::sqlite::BulkCopies;
use crate::{CatalogError, Result};

impl PostgresCatalog {
    /// Writes a backup set and a listed copy for each of `spec.per_instance` backups of each
    /// instance, in one transaction. Returns the number of copies written.
    pub async fn bulk_insert_copies(&self, spec: &BulkCopies) -> Result<u64> {
        let mut client = self.client().await?;
        let tx = super::begin(&mut client).await?;
        let written = insert(&tx, spec).await?;
        super::commit(tx, true).await?;
        Ok(written)
    }
}

/// An instance's columns the rows need.
struct Source {
    id: i64,
    db_instance_id: String,
    region_id: String,
    instance_number: i64,
}

async fn sources(tx: &Transaction<'_>, ids: &[i64]) -> Result<Vec<Source>> {
    let rows = query(
        tx,
        "SELECT id, db_instance_id, region_id, instance_number FROM instances WHERE id = ANY($1)",
        &[&ids],
    )
    .await?;
    let mut found = Vec::with_capacity(rows.len());
    for row in &rows {
        found.push(Source {
            id: get(row, 0)?,
            db_instance_id: get(row, 1)?,
            region_id: get(row, 2)?,
            instance_number: get(row, 3)?,
        });
    }
    ids.iter()
        .map(|&id| {
            let at = found.iter().position(|s| s.id == id);
            at.map(|at| found.swap_remove(at))
                .ok_or_else(|| CatalogError::NotFound(format!("instance {id}")))
        })
        .collect()
}

/// The rows of one call, column by column (`UNNEST`'s arguments), in insertion order.
#[derive(Default)]
struct Columns {
    instance_ids: Vec<i64>,
    regions: Vec<String>,
    instance_numbers: Vec<i64>,
    started: Vec<i64>,
    set_keys: Vec<String>,
    copy_keys: Vec<String>,
    statuses: Vec<&'static str>,
    completed: Vec<Option<i64>>,
}

fn columns(spec: &BulkCopies, sources: &[Source]) -> Columns {
    let mut c = Columns::default();
    let mut written = 0u64;
    for s in sources {
        for n in 0..spec.per_instance {
            let at = secs(spec.first_started_at) + spec.step_secs * n as i64;
            let file = format!("bulk_{}_{n:08}_qp.xb", s.db_instance_id);
            let failed = matches!(spec.failed_every, Some(k) if k > 0 && written % k == k - 1);
            c.instance_ids.push(s.id);
            c.regions.push(s.region_id.clone());
            c.instance_numbers.push(s.instance_number);
            c.started.push(at);
            c.set_keys.push(backup_set_key(&s.db_instance_id, &file));
            c.copy_keys.push(copy_key(&s.db_instance_id, &file));
            c.statuses.push(if failed { "failed" } else { "completed" });
            c.completed.push((!failed).then_some(at + 1200));
            written += 1;
        }
    }
    c
}

/// Sets, copies and their listing counts, from `UNNEST`ed columns `$1..$8`; `$9` sha256, `$10`
/// now, `$11` the destination. Ids follow the input order (`ORDER BY n`).
const INSERT_SQL: &str = "WITH input AS (
         SELECT * FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::BIGINT[], $4::BIGINT[], $5::TEXT[], $6::TEXT[],
                              $7::TEXT[], $8::BIGINT[])
             WITH ORDINALITY AS t(instance_id, region_id, instance_number, started, set_key, copy_key, status,
                                  completed, n)),
     sets AS (
         INSERT INTO backup_sets (instance_id, source_region_id, method, backup_type, scale, started_at,
                                  finished_at, consistent_at, instance_number, object_key, size_bytes,
                                  sha256, recorded_at)
         SELECT instance_id, region_id, 'P', 'F', 0, started, started + 600, started + 600, instance_number,
                set_key, 1048576, $9, $10
         FROM input ORDER BY n
         RETURNING id, source_region_id, object_key),
     listed AS (
         INSERT INTO copies (backup_set_id, instance_id, dest_region_id, object_key, status,
                             backup_started_at, queued_at, completed_at, attempts)
         SELECT s.id, i.instance_id, $11, i.copy_key, i.status, i.started, $10, i.completed, 1
         FROM input i JOIN sets s ON s.object_key = i.set_key AND s.source_region_id = i.region_id
         ORDER BY i.n
         RETURNING instance_id, dest_region_id, backup_started_at),
     days AS (
         INSERT INTO copy_listing_days AS d (instance_id, dest_region_id, day, listed)
         SELECT instance_id, dest_region_id, floor(backup_started_at / 86400.0)::BIGINT, COUNT(*)
         FROM listed GROUP BY 1, 2, 3
         ON CONFLICT (instance_id, dest_region_id, day) DO UPDATE SET listed = d.listed + EXCLUDED.listed)
     INSERT INTO copy_listing_totals AS t (instance_id, dest_region_id, listed)
     SELECT instance_id, dest_region_id, COUNT(*) FROM listed GROUP BY 1, 2
     ON CONFLICT (instance_id, dest_region_id) DO UPDATE SET listed = t.listed + EXCLUDED.listed";

async fn insert(tx: &Transaction<'_>, spec: &BulkCopies) -> Result<u64> {
    require_region(tx, &spec.dest_region_id).await?;
    let sources = sources(tx, &spec.instance_ids).await?;
    let c = columns(spec, &sources);
    // Every copy written here is listed (completed or failed): the statement counts them all.
    execute(
        tx,
        "SELECT set_config('xbak.bulk_listing_counts', 'on', true)",
        &[],
        || "bulk listing counts".to_string(),
    )
    .await?;
    execute(
        tx,
        INSERT_SQL,
        &[
            &c.instance_ids,
            &c.regions,
            &c.instance_numbers,
            &c.started,
            &c.set_keys,
            &c.copy_keys,
            &c.statuses,
            &c.completed,
            &"0".repeat(64),
            &wall_clock(),
            &spec.dest_region_id,
        ],
        || "bulk copies".to_string(),
    )
    .await?;
    execute(
        tx,
        "SELECT set_config('xbak.bulk_listing_counts', 'off', true)",
        &[],
        || "bulk listing counts".to_string(),
    )
    .await?;
    Ok(c.started.len() as u64)
}
