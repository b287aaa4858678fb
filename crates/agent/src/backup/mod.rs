//! The backup agent: takes a logical (`mariadb-dump`) or physical (`mariabackup`) backup of an
//! instance's database server and streams it straight into the instance's region, then
//! records it as a backup set (which queues its cross-region copy).
//!
//! One [`BackupAgent::run`]:
//!
//! 1. picks the node (the standby when there is one) and records a Running [`BackupRun`];
//! 2. runs the tool with its stdout piped into [`RegionStore::upload_staged`] (logical sets are
//!    framed as tar and gzip-compressed on the way, physical sets stored as the raw xbstream),
//!    SHA-256 computed as the bytes go by, nothing buffered whole;
//! 3. pins the consistent point with a second session (see [`logical`] and [`physical`]) and,
//!    inside that session's snapshot, counts rows and runs `CHECKSUM TABLE` for the manifest,
//!    which is appended to the set and stored beside it;
//! 4. checks the staged size, publishes the set and its manifest, and records the set and the
//!    Completed run in one catalog transaction (which queues its copy).
//!
//! A physical set's rows and checksums are read after step 4 instead ([`TablesStored`]): the
//! manifest inside the set says so ([`TablesAt::Beside`]), and the whole manifest is stored
//! beside the set, and beside its queued copy, once they are read. The set is durable and its
//! copy under way meanwhile; a restore waits for that manifest or verifies without it.
//!
//! The staged set is not read back before it is published. The catalog records the SHA-256
//! [`RegionStore::upload_staged`] computed over the bytes as they were handed to the store, and
//! [`RegionStore::publish`] makes them durable (local stores: `fsync` of the file before the
//! atomic rename and of the directory after; S3: a completed upload is durable). Every later
//! reader checks the recorded size and SHA-256: the replicator before it publishes a copy in
//! the other region, and restores as they read. A set that went bad on the source's disk is
//! therefore caught at its first use, and the backup does not read and hash the whole set a
//! second time (≈1.5 s on a 390 MB physical set).
//!
//! Any failure marks the run Failed with its error and leaves no visible object: a failed
//! backup is never recorded as a set.

mod follow;
mod framing;
mod logical;
mod manifest;
mod physical;
mod pipe;
mod scheduler;

pub use framing::{parse_tar_header, part_name, tar_padding, TarEntry, DUMP_DIR};
pub use manifest::{
    manifest_key, parse_checkpoints, BaseSet, LsnRange, Manifest, TablesAt, LOGICAL_MANIFEST_ENTRY,
    MANIFEST_FORMAT, PHYSICAL_MANIFEST_FILE,
};
pub use scheduler::BackupScheduler;

use crate::db::{Endpoint, SqlError};
use crate::tools::{ToolError, Tools};
use chrono::{DateTime, SubsecRound, Utc};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use xbak_catalog::{Catalog, CatalogError};
use xbak_domain::naming::{backup_set_file_name, backup_set_key};
use xbak_domain::{
    BackupMethod, BackupNode, BackupRun, BackupSet, BackupSetDetails, BackupSetScale, BackupType,
    Instance, NewBackupRun, NewBackupSet,
};
use xbak_storage::{RegionStore, Staged, StorageError};

/// How the agent runs the tools.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub tools: Tools,
    /// gzip level of logical sets (6, like `gzip`).
    pub gzip_level: u32,
    /// `lock_wait_timeout` for `FLUSH TABLES WITH READ LOCK`.
    pub lock_wait_timeout: Duration,
    /// How long the dump may take to open its transaction while writes are held.
    pub snapshot_timeout: Duration,
    /// Where `mariabackup` keeps its small scratch files (LSN files); default: the temp dir.
    pub work_dir: Option<PathBuf>,
    /// Into a `file://` region, `mariabackup` writes the set's staging file itself instead of
    /// piping it through the store's upload (faster; on by default).
    pub direct_local_writes: bool,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            tools: Tools::default(),
            gzip_level: 6,
            lock_wait_timeout: Duration::from_secs(60),
            snapshot_timeout: Duration::from_secs(60),
            work_dir: None,
            direct_local_writes: true,
        }
    }
}

/// What to back up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupRequest {
    pub db_instance_id: String,
    pub method: BackupMethod,
    pub backup_type: BackupType,
    /// A single database (logical sets only): `BackupSetScale` 1.
    pub database: Option<String>,
    /// `manual` or `scheduled`.
    pub trigger: String,
}

/// What a run reports as it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentProgress {
    /// A step began (`"waiting for FLUSH TABLES WITH READ LOCK"`, `"checksumming 12 tables"`…).
    Step(String),
    /// Bytes the tool has written so far.
    ToolBytes(u64),
    /// Bytes stored in the region so far.
    StoredBytes(u64),
}

/// A finished run.
#[derive(Debug, Clone)]
pub struct BackupOutcome {
    pub run_id: i64,
    pub backup_set: BackupSet,
    /// The cross-region copy queued with it (under an enabled policy).
    pub queued_copy_id: Option<i64>,
    pub manifest_key: String,
    /// The manifest stored beside the set (with its tables, once read).
    pub manifest: Manifest,
    /// Precise consistent point (the catalog keeps whole seconds).
    pub consistent_at: DateTime<Utc>,
    /// From the start of the run to the set being durable in its region and its copy queued.
    pub published_after: Duration,
    /// Where the manifest's tables went.
    pub tables: TablesStored,
    /// The whole run, tables included.
    pub elapsed: Duration,
}

/// Where a run stored its manifest's tables (row counts and checksums).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TablesStored {
    /// In the set itself (logical sets), and in the manifest beside it.
    InSet,
    /// Read after the set was published, then stored in the manifest beside it (published
    /// `after` the run began) and beside its queued copy in `copied_to` (a region the agent
    /// could not write to is named in `not_copied_to`; the copy job carries the manifest there).
    Beside {
        after: Duration,
        copied_to: Vec<String>,
        not_copied_to: Vec<String>,
    },
    /// Could not be read or stored: the set's restores verify without them.
    Failed(String),
}

/// Why a run failed (it is recorded on the run as well).
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Sql(#[from] SqlError),
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error("{0}")]
    Consistency(String),
    #[error("{0}")]
    Io(String),
}

io_error_from!(AgentError);

/// Takes backups. Cheap to clone.
#[derive(Clone)]
pub struct BackupAgent {
    catalog: Arc<dyn Catalog>,
    config: Arc<AgentConfig>,
}

/// What the logical and physical takers need.
pub(crate) struct Job<'a> {
    pub endpoint: Endpoint,
    pub store: &'a RegionStore,
    pub key: &'a str,
    pub config: &'a AgentConfig,
    /// Filled in but for the consistent point, tables, tools and positions.
    pub manifest: Manifest,
    pub progress: &'a (dyn Fn(AgentProgress) + Sync),
}

/// What a taker's work ends with: the set's manifest, its consistent point and, for a physical
/// set, the tables still to read for the manifest stored beside it.
pub(crate) struct Finished {
    pub manifest: Manifest,
    pub consistent_at: DateTime<Utc>,
    pub deferred: Option<physical::DeferredTables>,
}

/// What a taker hands back: the staged set and how its work finished.
pub(crate) struct Taken {
    pub staged: Staged,
    pub finished: Finished,
}

/// Runs `work` (which writes the set into the pipe `reader` drains, and returns how it
/// [`Finished`]) alongside the upload of `reader` into staging under
/// `job_key`. Not `try_join`: when the work fails, the stream ends in an error and the upload
/// cleans up after itself; when the upload fails, the work is stopped through its closed pipe.
/// A set staged by work that failed is deleted.
pub(crate) async fn stage_alongside(
    store: &RegionStore,
    job_key: &str,
    reader: impl tokio::io::AsyncRead + Unpin + Send,
    progress: &(dyn Fn(AgentProgress) + Sync),
    work: impl std::future::Future<Output = Result<Finished, AgentError>>,
) -> Result<Taken, AgentError> {
    let stored_bytes = |n| progress(AgentProgress::StoredBytes(n));
    let upload = store.upload_staged(job_key, reader, &stored_bytes);
    match tokio::join!(work, upload) {
        (Ok(finished), Ok(staged)) => Ok(Taken { staged, finished }),
        (Err(e), Ok(staged)) => {
            store.delete(&staged.staging_key).await.ok();
            Err(e)
        }
        (Err(e), Err(_)) => Err(e),
        (Ok(_), Err(e)) => Err(e.into()),
    }
}

impl BackupAgent {
    pub fn new(catalog: Arc<dyn Catalog>, config: AgentConfig) -> Self {
        BackupAgent {
            catalog,
            config: Arc::new(config),
        }
    }

    pub fn config(&self) -> &AgentConfig {
        &self.config
    }

    /// Takes one backup; see the module docs. The run is recorded Failed on any error.
    pub async fn run(
        &self,
        req: &BackupRequest,
        progress: &(dyn Fn(AgentProgress) + Sync),
    ) -> Result<BackupOutcome, AgentError> {
        let began = Instant::now();
        let plan = self.plan(req).await?;
        let started_at = Utc::now().trunc_subsecs(0);
        let run = self
            .catalog
            .start_backup_run(&NewBackupRun {
                instance_id: plan.instance.id,
                method: req.method,
                backup_type: req.backup_type,
                scale: plan.scale,
                database: req.database.clone(),
                instance_number: plan.node.instance_number,
                started_at,
                trigger: req.trigger.clone(),
            })
            .await?;
        let taking = self.take(req, &plan, &run, started_at, progress);
        match self.with_heartbeat(run.id, taking).await {
            Ok((mut outcome, deferred)) => {
                outcome.published_after = began.elapsed();
                if let Some(deferred) = deferred {
                    outcome.tables = self
                        .store_tables(&plan, &mut outcome, deferred, began, progress)
                        .await;
                }
                outcome.elapsed = began.elapsed();
                Ok(outcome)
            }
            Err(e) => {
                let message = e.to_string();
                tracing::warn!(run = run.id, instance = %req.db_instance_id, error = %message, "backup failed");
                if let Err(ce) = self
                    .catalog
                    .fail_backup_run(run.id, Utc::now(), &message)
                    .await
                {
                    tracing::error!(run = run.id, error = %ce, "could not record the failed backup run");
                }
                Err(e)
            }
        }
    }

    /// How often a running run's heartbeat is refreshed.
    pub const HEARTBEAT: Duration = Duration::from_secs(20);
    /// A running run silent for this long was interrupted (its agent died).
    pub const SILENT_FOR: Duration = Duration::from_secs(120);

    /// Fails, as interrupted, the runs left `running` by agents that died (killed, or their
    /// machine lost) — no heartbeat for [`Self::SILENT_FOR`] — so that they neither show as
    /// running forever nor block the next backup. What such a run staged is swept with the
    /// region's other stale staging objects. Returns how many were failed; errors are logged.
    pub async fn fail_interrupted_runs(&self) -> usize {
        let now = Utc::now();
        let silent_since = now - chrono::Duration::from_std(Self::SILENT_FOR).unwrap_or_default();
        match self.catalog.fail_stale_backup_runs(now, silent_since).await {
            Ok(ids) => {
                for id in &ids {
                    tracing::warn!(
                        run = id,
                        "backup run interrupted (its agent stopped); marked failed"
                    );
                }
                ids.len()
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot look for interrupted backup runs");
                0
            }
        }
    }

    /// Runs `taking`, refreshing the run's heartbeat every [`Self::HEARTBEAT`]; stops with an
    /// error if another process failed the run as interrupted meanwhile.
    async fn with_heartbeat<T>(
        &self,
        run_id: i64,
        taking: impl std::future::Future<Output = Result<T, AgentError>>,
    ) -> Result<T, AgentError> {
        tokio::pin!(taking);
        let mut beat = tokio::time::interval(Self::HEARTBEAT);
        beat.tick().await; // the first tick is immediate; the run was just started
        loop {
            tokio::select! {
                done = &mut taking => return done,
                _ = beat.tick() => match self.catalog.touch_backup_run(run_id, Utc::now()).await {
                    Ok(true) => {}
                    Ok(false) => {
                        return Err(AgentError::Consistency(format!(
                            "backup run {run_id} was marked interrupted by another process; stopped"
                        )))
                    }
                    Err(e) => tracing::warn!(run = run_id, error = %e, "cannot refresh the run's heartbeat"),
                },
            }
        }
    }

    /// Checks the request against the catalog before anything is recorded.
    async fn plan(&self, req: &BackupRequest) -> Result<Plan, AgentError> {
        let instance = self
            .catalog
            .instance_by_db_instance_id(&req.db_instance_id)
            .await?
            .ok_or_else(|| AgentError::NotFound(format!("no instance {:?}", req.db_instance_id)))?;
        let connection = self
            .catalog
            .instance_connection(instance.id)
            .await?
            .ok_or_else(|| {
                let id = &instance.db_instance_id;
                AgentError::NotFound(format!("instance {id} has no database server: set one with `xbak instance connect {id} --dsn mysql://…`"))
            })?;
        let node = connection.backup_node(instance.instance_number);
        let scale = match (&req.database, req.method) {
            (Some(_), BackupMethod::Physical) => {
                return Err(AgentError::Invalid(
                    "--database applies to logical backups only (physical sets hold the whole instance)".into(),
                ))
            }
            (Some(db), _) if db.is_empty() => {
                return Err(AgentError::Invalid("--database is empty".into()))
            }
            (Some(_), _) => BackupSetScale::SingleDatabase,
            (None, _) => BackupSetScale::Instance,
        };
        let base = match (req.method, req.backup_type) {
            (BackupMethod::Logical, BackupType::Incremental) => {
                return Err(AgentError::Invalid(
                    "incremental backups are physical only (--method P --type I)".into(),
                ))
            }
            (BackupMethod::Physical, BackupType::Incremental) => {
                let base = self
                    .catalog
                    .latest_completed_backup_run(
                        instance.id,
                        BackupMethod::Physical,
                        node.instance_number,
                    )
                    .await?
                    .ok_or_else(|| {
                        AgentError::NotFound(format!(
                            "no completed physical backup of {} from node {} to base an incremental on: take a full one first",
                            instance.db_instance_id, node.instance_number
                        ))
                    })?;
                Some(self.base_of(base).await?)
            }
            _ => None,
        };
        let store = self.open_region(&instance.region_id).await?;
        Ok(Plan {
            instance,
            node,
            scale,
            base,
            store,
        })
    }

    async fn base_of(&self, run: BackupRun) -> Result<BaseSet, AgentError> {
        let (Some(set_id), Some(to_lsn)) = (
            run.backup_set_id,
            run.details.as_ref().and_then(|d| d.to_lsn),
        ) else {
            return Err(AgentError::Consistency(format!(
                "backup run {} has no recorded LSN to base an incremental on",
                run.id
            )));
        };
        let set = self
            .catalog
            .backup_set(set_id)
            .await?
            .ok_or_else(|| AgentError::NotFound(format!("backup set {set_id}")))?;
        Ok(BaseSet {
            backup_set_id: set_id,
            object_key: set.object_key,
            to_lsn,
        })
    }

    /// The second `run`'s set is named after. Names have whole seconds and two runs can start
    /// in one (a requested backup and `xbak backup run`, say), before either has published: the
    /// recent runs of the instance's node with the method, in the order the catalog recorded
    /// them, each take their start second or, when that is not after the one before's, the next
    /// second after it. Every run computes the same seconds for the runs before it, so no two
    /// pick one name.
    async fn name_second(&self, run: &BackupRun) -> Result<DateTime<Utc>, AgentError> {
        let mut runs: Vec<BackupRun> = self
            .catalog
            .backup_runs(run.instance_id, 100)
            .await?
            .into_iter()
            .filter(|r| {
                r.id <= run.id && r.method == run.method && r.instance_number == run.instance_number
            })
            .collect();
        runs.sort_by_key(|r| r.id);
        let mut second: Option<DateTime<Utc>> = None;
        for r in &runs {
            second = Some(match second {
                Some(before) if r.started_at <= before => before + chrono::Duration::seconds(1),
                _ => r.started_at,
            });
        }
        Ok(second.unwrap_or(run.started_at))
    }

    /// Takes the set, publishes it and records it (queueing its copy). A physical set's tables
    /// are still to be read: [`Self::store_tables`].
    async fn take(
        &self,
        req: &BackupRequest,
        plan: &Plan,
        run: &BackupRun,
        started_at: DateTime<Utc>,
        progress: &(dyn Fn(AgentProgress) + Sync),
    ) -> Result<(BackupOutcome, Option<physical::DeferredTables>), AgentError> {
        let key = free_key(plan, req.method, self.name_second(run).await?).await?;
        let manifest = Manifest {
            format: MANIFEST_FORMAT,
            db_instance_id: plan.instance.db_instance_id.clone(),
            instance_number: plan.node.instance_number,
            method: req.method.as_str().into(),
            backup_type: req.backup_type.as_str().into(),
            scale: plan.scale.as_i64(),
            database: req.database.clone(),
            layout: String::new(),
            started_at: started_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            consistent_at: String::new(),
            consistency: String::new(),
            server_version: String::new(),
            from_standby: plan.node.is_standby,
            tools: BTreeMap::new(),
            binlog: None,
            lsn: None,
            base: plan.base.clone(),
            tables: Vec::new(),
            tables_at: TablesAt::Inline,
        };
        let job = Job {
            endpoint: Endpoint::Tcp(plan.node.dsn.clone()),
            store: &plan.store,
            key: &key,
            config: &self.config,
            manifest,
            progress,
        };
        tracing::info!(run = run.id, instance = %plan.instance.db_instance_id, node = %plan.node.dsn, key = %key, "backup started");
        let taken = match req.method {
            BackupMethod::Logical => logical::take(job, req.database.as_deref()).await?,
            BackupMethod::Physical => physical::take(job, plan.base.as_ref()).await?,
        };
        progress(AgentProgress::Step("publishing".into()));
        let store = &plan.store;
        let staged = taken.staged;
        // No read-back (see the module docs): the size the store holds is checked, the SHA-256
        // is the one computed as the bytes were written, and `publish` makes them durable.
        let stored = store.head(&staged.staging_key).await;
        if !matches!(&stored, Ok(Some(size)) if *size == staged.size) {
            store.delete(&staged.staging_key).await.ok();
            return Err(AgentError::Consistency(format!(
                "the stored set does not have the size written ({} bytes; the store says {stored:?}); nothing was recorded",
                staged.size
            )));
        }
        let manifest_key = manifest_key(&key);
        let Finished {
            manifest,
            consistent_at: consistent_instant,
            deferred,
        } = taken.finished;
        // With its tables still to read, the manifest beside the set is published once they are.
        let staged_manifest = match deferred {
            Some(_) => None,
            None => Some(
                store
                    .upload_staged(&manifest_key, &manifest.to_json()[..], &|_| {})
                    .await?,
            ),
        };
        store.publish(&staged, &key).await?;
        if let Some(staged_manifest) = &staged_manifest {
            if let Err(e) = store.publish(staged_manifest, &manifest_key).await {
                store.delete(&key).await.ok();
                return Err(e.into());
            }
        }
        let finished_at = Utc::now().trunc_subsecs(0);
        let consistent_at = consistent_instant.trunc_subsecs(0);
        let details = BackupSetDetails {
            manifest_key: manifest_key.clone(),
            base_set_id: plan.base.as_ref().map(|b| b.backup_set_id),
            from_lsn: manifest.lsn.as_ref().map(|l| l.from_lsn),
            to_lsn: manifest.lsn.as_ref().map(|l| l.to_lsn),
        };
        let new_set = NewBackupSet {
            instance_id: plan.instance.id,
            method: req.method,
            backup_type: req.backup_type,
            scale: plan.scale,
            started_at,
            finished_at,
            consistent_at,
            instance_number: plan.node.instance_number,
            object_key: key.clone(),
            size_bytes: staged.size as i64,
            sha256: staged.sha256.clone(),
        };
        let recorded = match self
            .catalog
            .complete_backup_run(run.id, &new_set, &details)
            .await
        {
            Ok(r) => r,
            Err(e) => {
                // Not recorded: the objects must not outlive the run.
                store.delete(&key).await.ok();
                store.delete(&manifest_key).await.ok();
                return Err(e.into());
            }
        };
        tracing::info!(
            run = run.id,
            set = recorded.backup_set.id,
            bytes = staged.size,
            "backup completed"
        );
        let outcome = BackupOutcome {
            run_id: run.id,
            backup_set: recorded.backup_set,
            queued_copy_id: recorded.queued_copy_id,
            manifest_key,
            manifest,
            consistent_at: consistent_instant,
            published_after: Duration::ZERO,
            tables: TablesStored::InSet,
            elapsed: Duration::ZERO,
        };
        Ok((outcome, deferred))
    }

    /// Reads a published physical set's tables and stores the whole manifest beside the set,
    /// then beside its queued copy (the copy job also carries it, whichever comes first). A
    /// failure is logged and reported, never the run's: the set is good, and its restores
    /// verify without the tables (a manifest that says why is stored when the reading failed).
    async fn store_tables(
        &self,
        plan: &Plan,
        outcome: &mut BackupOutcome,
        deferred: physical::DeferredTables,
        began: Instant,
        progress: &(dyn Fn(AgentProgress) + Sync),
    ) -> TablesStored {
        let read = deferred.read(progress).await;
        let manifest = &mut outcome.manifest;
        manifest.tables_at = TablesAt::Inline;
        let failed = match read {
            Ok(tables) => {
                manifest.tables = tables;
                None
            }
            Err(e) => {
                let why = format!("row counts and checksums could not be read: {e}");
                tracing::warn!(set = outcome.backup_set.id, error = %e, "{why}; restores will verify without them");
                manifest.consistency = format!("{}; {why}", manifest.consistency);
                Some(why)
            }
        };
        progress(AgentProgress::Step(
            "storing the manifest beside the set".into(),
        ));
        let json = manifest.to_json();
        if let Err(e) = publish_object(&plan.store, &outcome.manifest_key, &json).await {
            tracing::warn!(set = outcome.backup_set.id, key = %outcome.manifest_key, error = %e,
                "cannot store the manifest beside the set; restores will verify without its tables");
            return TablesStored::Failed(format!("storing {}: {e}", outcome.manifest_key));
        }
        let after = began.elapsed();
        let (mut copied_to, mut not_copied_to) = (Vec::new(), Vec::new());
        let queued = match outcome.queued_copy_id {
            Some(id) => self.catalog.copy(id).await.unwrap_or_else(|e| {
                tracing::warn!(copy_id = id, error = %e, "cannot read the queued copy");
                None
            }),
            None => None,
        };
        if let Some(copy) = queued {
            let key = manifest_key(&copy.object_key);
            let stored = match self.open_region(&copy.dest_region_id).await {
                Ok(store) => publish_object(&store, &key, &json)
                    .await
                    .map_err(AgentError::from),
                Err(e) => Err(e),
            };
            match stored {
                Ok(()) => copied_to.push(copy.dest_region_id),
                Err(e) => {
                    tracing::warn!(copy_id = copy.cross_backup_id, region = %copy.dest_region_id,
                        error = %e, "cannot store the manifest beside the queued copy; the copy job will carry it");
                    not_copied_to.push(copy.dest_region_id);
                }
            }
        }
        match failed {
            Some(why) => TablesStored::Failed(why),
            None => TablesStored::Beside {
                after,
                copied_to,
                not_copied_to,
            },
        }
    }

    /// The store of region `region_id`, from the catalog.
    async fn open_region(&self, region_id: &str) -> Result<RegionStore, AgentError> {
        let region = self
            .catalog
            .region(region_id)
            .await?
            .ok_or_else(|| AgentError::NotFound(format!("no region {region_id}")))?;
        Ok(RegionStore::open(&region.region_id, &region.store_url)?)
    }
}

/// Stages `bytes` and publishes them at `key` (the same bytes already there count as done).
async fn publish_object(store: &RegionStore, key: &str, bytes: &[u8]) -> Result<(), StorageError> {
    let staged = store.upload_staged(key, bytes, &|_| {}).await?;
    store.publish(&staged, key).await
}

struct Plan {
    instance: Instance,
    node: BackupNode,
    scale: BackupSetScale,
    base: Option<BaseSet>,
    store: RegionStore,
}

/// The set's key: Alibaba's name for `second` ([`BackupAgent::name_second`]), or the next
/// second whose objects do not exist yet (a set registered by hand, a clock turned back); the
/// catalog keeps the true start time.
async fn free_key(
    plan: &Plan,
    method: BackupMethod,
    second: DateTime<Utc>,
) -> Result<String, AgentError> {
    for bump in 0..120 {
        let name = backup_set_file_name(
            &plan.instance.region_id,
            &plan.instance.db_instance_id,
            plan.node.instance_number,
            second + chrono::Duration::seconds(bump),
            method,
        );
        let key = backup_set_key(&plan.instance.db_instance_id, &name);
        if plan.store.head(&key).await?.is_none()
            && plan.store.head(&manifest_key(&key)).await?.is_none()
        {
            return Ok(key);
        }
    }
    Err(AgentError::Consistency(
        "no free backup set name within two minutes of the start time".into(),
    ))
}

/// A tar header as logical sets write them (for the restore tests).
#[cfg(test)]
pub(crate) fn tar_header_for_tests(name: &str, size: u64) -> [u8; 512] {
    framing::tar_header(name, size, 0)
}
