//! The tables of a set whose manifest says they are beside it ([`TablesAt::Beside`]: a physical
//! set's row counts and checksums are read after the set is published): read from the manifest
//! stored beside the set in the region, waited for while they may still be coming.

use super::{ChainLink, Ctx, RestoreError, RestoreProgress, SetReader};
use crate::backup::{manifest_key, Manifest, TablesAt};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use xbak_domain::naming::MANIFEST_MAX_BYTES;

/// Where the tables a restore verified came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TablesFrom {
    /// The manifest inside the set.
    InSet,
    /// The manifest stored beside the set in the region, after waiting `waited` for it (zero:
    /// it was there).
    Beside { waited: Duration },
    /// Nowhere (why): the restore checked that a server starts on the data, not its tables.
    Missing(String),
}

/// A set finished longer ago than this will not get its tables any more (they are read right
/// after it is published): a restore does not wait for them.
const STILL_COMING: chrono::Duration = chrono::Duration::hours(1);

/// How often a restore looks for a manifest still coming.
const LOOK_EVERY: Duration = Duration::from_millis(500);

/// `manifest` (of `link`'s set) with its tables: as it is when they are inline, else from the
/// manifest beside the set. Waits up to the configured time for one still coming, then goes
/// on without ([`TablesFrom::Missing`]).
pub(crate) async fn with_tables(
    ctx: &Ctx<'_>,
    link: &ChainLink,
    manifest: Manifest,
) -> Result<(Manifest, TablesFrom), RestoreError> {
    if manifest.tables_at == TablesAt::Inline {
        return Ok((manifest, TablesFrom::InSet));
    }
    let key = manifest_key(&link.object_key);
    let began = Instant::now();
    let recent = chrono::Utc::now() - link.backup_set.finished_at < STILL_COMING;
    let wait = if recent {
        ctx.config.wait_for_tables
    } else {
        Duration::ZERO
    };
    let mut waited = Duration::ZERO;
    loop {
        if let Some(reader) = ctx.fetcher.open_if_present(&link.region_id, &key).await? {
            let beside = read_manifest(reader, &key).await?;
            return Ok(match mismatch(&manifest, &beside) {
                None => (beside, TablesFrom::Beside { waited }),
                Some(what) => (
                    manifest,
                    TablesFrom::Missing(format!("{key} is not this set's manifest ({what})")),
                ),
            });
        }
        if began.elapsed() >= wait {
            let why = if recent {
                format!(
                    "{key} is not in {} after waiting {:.0?} (the set's row counts and checksums are read after it is published)",
                    link.region_id, wait
                )
            } else {
                format!(
                    "{key} is not in {} (the set's row counts and checksums were never stored)",
                    link.region_id
                )
            };
            return Ok((manifest, TablesFrom::Missing(why)));
        }
        (ctx.progress)(RestoreProgress::Step(format!(
            "waiting for the set's row counts and checksums ({key})"
        )));
        tokio::time::sleep(LOOK_EVERY).await;
        waited = began.elapsed();
    }
}

async fn read_manifest(reader: SetReader, key: &str) -> Result<Manifest, RestoreError> {
    let mut bytes = Vec::new();
    reader
        .take(MANIFEST_MAX_BYTES)
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| RestoreError::Fetch {
            key: key.to_owned(),
            message: e.to_string(),
        })?;
    Manifest::from_json(&bytes).map_err(|e| RestoreError::Integrity(format!("{key}: {e}")))
}

/// What differs between the set's own manifest and the one beside it, if anything that names
/// the set does.
fn mismatch(own: &Manifest, beside: &Manifest) -> Option<&'static str> {
    if own.db_instance_id != beside.db_instance_id {
        Some("instance")
    } else if own.started_at != beside.started_at {
        Some("start time")
    } else if own.consistent_at != beside.consistent_at {
        Some("consistent point")
    } else if own.lsn != beside.lsn {
        Some("LSNs")
    } else if own.binlog != beside.binlog {
        Some("binlog position")
    } else if beside.tables_at != TablesAt::Inline {
        Some("it has no tables either")
    } else {
        None
    }
}
