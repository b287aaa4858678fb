//! Restore and verification: fetch a cross-region copy (and, for an incremental physical set,
//! its chain back to the full set) from a region, restore it, then check every table of the
//! set's manifest (row count and `CHECKSUM TABLE`) on the restored server.
//!
//! - Logical sets are streamed (download → gunzip → untar → `mariadb` client) into a running
//!   server ([`RestoreTarget::Server`]), or into a fresh server xbak initialises on a data
//!   directory ([`RestoreTarget::DataDir`]).
//! - Physical sets are unpacked with `mbstream -x` as they download, then prepared with
//!   `mariabackup --prepare`, applying the incrementals in order with `--incremental-dir`;
//!   the result is a data directory a `mariadbd` starts from. Verification starts a scratch
//!   `mariadbd` on it and shuts it down cleanly.
//! - [`RestoreTarget::Drill`] does either into a scratch server on a temporary directory and
//!   throws it away: a restore drill.
//!
//! With a [`RollForward`] the restored, verified set is then rolled forward to a point in time
//! by replaying the instance's binlog files from the region ([`to_time`]).
//!
//! Bytes are read through a [`SetFetcher`]: straight from the region's store
//! ([`RegionFetcher`]) or, in the CLI, through the server's signed download link. Either way
//! their SHA-256 is checked against the catalog's record of the set.

mod beside;
mod fetch;
mod logical;
mod physical;
mod scratch;
pub mod to_time;
mod verify;

pub use beside::TablesFrom;
pub use fetch::{HashingReader, RegionFetcher, SetFetcher, SetReader};
pub use scratch::{free_port, ScratchServer};
pub use to_time::{RecoveryWindow, Replayed, RollForward, TimePlan};
pub use verify::{verify, TableCheck, Verification};

use crate::backup::Manifest;
use crate::db::{Endpoint, SqlError};
use crate::tools::{ToolError, Tools};
use fetch::check_set;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use xbak_catalog::{Catalog, CatalogError};
use xbak_domain::{BackupMethod, BackupSet, BackupType, CopyQuery, CopyStatus, Dsn, PageSize};
use xbak_storage::StorageError;

/// Where a set is restored to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreTarget {
    /// A running server (logical sets only).
    Server(Dsn),
    /// A data directory (empty or absent) that a `mariadbd` can start from afterwards.
    DataDir(PathBuf),
    /// A scratch server on a temporary directory, thrown away after verification.
    Drill,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreRequest {
    /// `CrossBackupId`.
    pub cross_backup_id: i64,
    /// Region to read the set from: the copy's destination (or the set's own region).
    pub region_id: String,
    pub target: RestoreTarget,
    /// Roll the restored set forward to a point in time ([`Restorer::plan_to_time`]).
    pub roll_forward: Option<RollForward>,
}

/// How restores run.
#[derive(Debug, Clone)]
pub struct RestoreConfig {
    pub tools: Tools,
    /// Parent of temporary directories (default: the system's).
    pub work_dir: Option<PathBuf>,
    /// How long a restore waits for a recent physical set's row counts and checksums (stored
    /// beside it once read, after it is published) before verifying without them.
    pub wait_for_tables: Duration,
}

impl Default for RestoreConfig {
    fn default() -> Self {
        RestoreConfig {
            tools: Tools::default(),
            work_dir: None,
            wait_for_tables: Duration::from_secs(60),
        }
    }
}

/// What a restore reports as it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreProgress {
    Step(String),
    /// Bytes of set `index` (0-based, in chain order) fetched so far, of `total`.
    Fetched {
        index: usize,
        bytes: u64,
        total: u64,
    },
}

/// One set of the chain to restore, where it is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainLink {
    pub backup_set: BackupSet,
    pub region_id: String,
    pub object_key: String,
}

/// What a restore did and found.
#[derive(Debug, Clone)]
pub struct RestoreReport {
    pub cross_backup_id: i64,
    /// Base first; one link unless the set is an incremental.
    pub chain: Vec<ChainLink>,
    /// The manifest the tables were checked against (the last set's).
    pub manifest: Manifest,
    /// Where its tables came from.
    pub tables_from: TablesFrom,
    pub verification: Verification,
    /// The binlog replayed after verification, when rolled forward to a time.
    pub replayed: Option<Replayed>,
    /// Where the data now is.
    pub target: String,
    pub fetched_bytes: u64,
    pub restore_elapsed: Duration,
    pub verify_elapsed: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Integrity(String),
    /// The requested time is not in any recovery window of the region.
    #[error("{0}")]
    OutsideWindow(String),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Sql(#[from] SqlError),
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error("fetching {key}: {message}")]
    Fetch { key: String, message: String },
    #[error("{0}")]
    Io(String),
}

io_error_from!(RestoreError);

/// Restores cross-region copies.
#[derive(Clone)]
pub struct Restorer {
    catalog: Arc<dyn Catalog>,
    fetcher: Arc<dyn SetFetcher>,
    config: Arc<RestoreConfig>,
}

impl Restorer {
    pub fn new(
        catalog: Arc<dyn Catalog>,
        fetcher: Arc<dyn SetFetcher>,
        config: RestoreConfig,
    ) -> Self {
        Restorer {
            catalog,
            fetcher,
            config: Arc::new(config),
        }
    }

    /// Restores and verifies; see the module docs. A verification that finds differences is
    /// still `Ok`: the report says which tables differ.
    pub async fn restore(
        &self,
        req: &RestoreRequest,
        progress: &(dyn Fn(RestoreProgress) + Sync),
    ) -> Result<RestoreReport, RestoreError> {
        let chain = self.chain(req).await?;
        let last = chain.last().expect("a chain has at least one set");
        let began = Instant::now();
        let ctx = Ctx {
            fetcher: self.fetcher.as_ref(),
            config: &self.config,
            progress,
            roll_forward: req.roll_forward.as_ref(),
        };
        let restored = match last.backup_set.method {
            BackupMethod::Logical => logical::restore(&ctx, last, &req.target).await?,
            BackupMethod::Physical => physical::restore(&ctx, &chain, &req.target).await?,
        };
        Ok(RestoreReport {
            cross_backup_id: req.cross_backup_id,
            restore_elapsed: began
                .elapsed()
                .saturating_sub(restored.checked.verify_elapsed),
            chain,
            manifest: restored.manifest,
            tables_from: restored.tables_from,
            verification: restored.checked.verification,
            replayed: restored.checked.replayed,
            target: restored.target,
            fetched_bytes: restored.fetched,
            verify_elapsed: restored.checked.verify_elapsed,
        })
    }

    /// The sets to restore, base first, each with where to read it in the requested region.
    pub async fn chain(&self, req: &RestoreRequest) -> Result<Vec<ChainLink>, RestoreError> {
        let copy = self
            .catalog
            .copy(req.cross_backup_id)
            .await?
            .ok_or_else(|| {
                RestoreError::NotFound(format!("no cross-region backup {}", req.cross_backup_id))
            })?;
        let mut links = Vec::new();
        let mut set = copy.backup_set.clone();
        loop {
            let key = if set.id == copy.backup_set.id && req.region_id == copy.dest_region_id {
                if copy.status != CopyStatus::Completed {
                    return Err(RestoreError::NotFound(format!(
                        "cross-region backup {} is {}, not completed",
                        copy.cross_backup_id,
                        copy.status.as_str()
                    )));
                }
                copy.object_key.clone()
            } else {
                self.key_in_region(&set, copy.instance.id, &req.region_id)
                    .await?
            };
            let run = self.catalog.backup_run_of_set(set.id).await?.ok_or_else(|| {
                RestoreError::Unsupported(format!(
                    "backup set {} was registered, not taken by `xbak backup run`: it has no manifest to restore and verify with",
                    set.id
                ))
            })?;
            let base = run.details.as_ref().and_then(|d| d.base_set_id);
            links.push(ChainLink {
                backup_set: set.clone(),
                region_id: req.region_id.clone(),
                object_key: key,
            });
            match (set.backup_type, base) {
                (BackupType::Incremental, Some(base_id)) => {
                    set = self.catalog.backup_set(base_id).await?.ok_or_else(|| {
                        RestoreError::NotFound(format!(
                            "base set {base_id} of set {} is gone",
                            set.id
                        ))
                    })?;
                }
                (BackupType::Incremental, None) => {
                    return Err(RestoreError::NotFound(format!(
                        "incremental set {} has no recorded base set",
                        set.id
                    )))
                }
                (BackupType::Full, _) => break,
            }
            if links.len() > 10_000 {
                return Err(RestoreError::Integrity(
                    "the incremental chain loops".into(),
                ));
            }
        }
        links.reverse();
        Ok(links)
    }

    /// Where `set` is in `region_id`: its own key in its own region, else its completed copy.
    async fn key_in_region(
        &self,
        set: &BackupSet,
        instance_id: i64,
        region_id: &str,
    ) -> Result<String, RestoreError> {
        if set.source_region_id == region_id {
            return Ok(set.object_key.clone());
        }
        let listing = self
            .catalog
            .list_copies(&CopyQuery {
                instance_id,
                cross_backup_id: None,
                window: None,
                dest_region_id: Some(region_id.to_owned()),
                backup_set_id: Some(set.id),
                page_size: PageSize::Thirty,
                page_number: 1,
            })
            .await?;
        listing
            .items
            .into_iter()
            .find(|c| c.status == CopyStatus::Completed)
            .map(|c| c.object_key)
            .ok_or_else(|| {
                RestoreError::NotFound(format!(
                    "backup set {} has no completed copy in {region_id} (needed by the incremental chain)",
                    set.id
                ))
            })
    }
}

/// What the logical and physical restorers share.
pub(crate) struct Ctx<'a> {
    pub fetcher: &'a dyn SetFetcher,
    pub config: &'a RestoreConfig,
    pub progress: &'a (dyn Fn(RestoreProgress) + Sync),
    pub roll_forward: Option<&'a RollForward>,
}

/// What the logical and physical restorers hand back.
pub(crate) struct Restored {
    pub manifest: Manifest,
    pub tables_from: TablesFrom,
    pub fetched: u64,
    /// Where the data now is.
    pub target: String,
    pub checked: Checked,
}

impl Restored {
    /// A restore of a set whose manifest holds its tables.
    pub fn new(manifest: Manifest, fetched: u64, target: String, checked: Checked) -> Restored {
        Restored {
            manifest,
            tables_from: TablesFrom::InSet,
            fetched,
            target,
            checked,
        }
    }
}

/// A restored set's data checked against its manifest, then (when asked) rolled forward.
pub(crate) struct Checked {
    pub verification: Verification,
    pub verify_elapsed: Duration,
    pub replayed: Option<Replayed>,
}

impl Ctx<'_> {
    /// A temporary directory under the configured work dir.
    pub fn temp_dir(&self, prefix: &str) -> Result<tempfile::TempDir, RestoreError> {
        let b = {
            let mut b = tempfile::Builder::new();
            b.prefix(prefix);
            b
        };
        Ok(match &self.config.work_dir {
            Some(dir) => b.tempdir_in(dir)?,
            None => b.tempdir()?,
        })
    }

    /// Reports every 200 ms how many bytes of set `index` have been read; never ends.
    pub async fn report_fetching(&self, index: usize, counter: &AtomicU64, total: u64) {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            (self.progress)(RestoreProgress::Fetched {
                index,
                bytes: counter.load(Ordering::Relaxed),
                total,
            });
        }
    }

    /// Checks set `index`, read to its end (`hashed`: its size and sha256), against the
    /// catalog and reports it fetched; returns its size.
    pub fn check_fetched(
        &self,
        index: usize,
        link: &ChainLink,
        hashed: (u64, String),
    ) -> Result<u64, RestoreError> {
        let bytes = hashed.0;
        check_set(
            &link.object_key,
            hashed,
            link.backup_set.size_bytes,
            &link.backup_set.sha256,
        )?;
        (self.progress)(RestoreProgress::Fetched {
            index,
            bytes,
            total: link.backup_set.size_bytes.max(0) as u64,
        });
        Ok(bytes)
    }
}

/// Checks that `dir` can receive a data directory: absent or empty.
pub(crate) fn require_empty_dir(dir: &std::path::Path) -> Result<(), RestoreError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(RestoreError::Unsupported(format!(
                    "{} is not empty: restore into an empty or new directory",
                    dir.display()
                )));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(std::fs::create_dir_all(dir)?),
        Err(e) => Err(e.into()),
    }
}

/// Verifies `manifest` on `endpoint`, timing it; then, when the restore rolls forward, replays
/// the binlog into it.
pub(crate) async fn check_and_roll_forward(
    ctx: &Ctx<'_>,
    endpoint: &Endpoint,
    manifest: &Manifest,
) -> Result<Checked, RestoreError> {
    (ctx.progress)(RestoreProgress::Step(format!(
        "verifying {} tables",
        manifest.tables.len()
    )));
    let t = Instant::now();
    let verification = verify(endpoint, &manifest.tables).await?;
    let verify_elapsed = t.elapsed();
    let replayed = match ctx.roll_forward {
        Some(rf) => Some(to_time::replay(ctx, rf, endpoint, manifest).await?),
        None => None,
    };
    Ok(Checked {
        verification,
        verify_elapsed,
        replayed,
    })
}
