//! Logical sets: `mariadb-dump` of every database (or one), consistent to one instant.
//!
//! How the instant is pinned. A second session (ours) must see exactly what the dump sees, so
//! that the manifest's row counts and checksums describe the dump:
//!
//! 1. session A runs `FLUSH TABLES WITH READ LOCK`: from now on no transaction commits;
//! 2. session B opens `START TRANSACTION WITH CONSISTENT SNAPSHOT` and reads
//!    `UTC_TIMESTAMP(6)` (the set's `ConsistentTime`) and the binlog position, if any;
//! 3. `mariadb-dump --single-transaction --verbose` starts; its stderr says
//!    `-- Starting transaction...` and the next line comes only after its own consistent
//!    snapshot is open. Then A runs `UNLOCK TABLES`. Writes were held only for the dump's
//!    connect-and-begin (milliseconds), and both snapshots were opened with no commit between.
//! 4. B counts rows and runs `CHECKSUM TABLE` (which reads through B's snapshot) while the dump
//!    streams; the manifest is the last entry of the tar.
//!
//! Caveat, as for any `--single-transaction` dump: non-transactional tables (MyISAM, Aria) are
//! not covered by the snapshot and may change after the lock is released.

use super::framing::TAR_PART;
use super::pipe::{self, Piece};
use super::{
    stage_alongside, AgentConfig, AgentError, AgentProgress, Finished, Job, Manifest, Taken,
};
use crate::db::{Session, TableState};
use crate::tools::{check_status, pipe_command, spawn_error, OptionFile, StderrTail};
use chrono::{DateTime, Utc};
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStderr, ChildStdout, Command};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// What the dump's stderr told about its snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DumpStart {
    /// Its transaction is open.
    SnapshotOpen,
    /// It ended (or closed stderr) before saying so.
    Ended,
}

pub(super) async fn take(mut job: Job<'_>, database: Option<&str>) -> Result<Taken, AgentError> {
    let cfg = job.config;
    let progress = job.progress;
    let mut lock = Session::connect(&job.endpoint).await?;
    let mut snap = Session::connect(&job.endpoint).await?;
    let log_bin = describe_server(&mut job, &mut snap, database).await?;
    let options = OptionFile::for_endpoint(&job.endpoint)?;
    let mut cmd = dump_command(cfg, &options, database, log_bin);
    let consistent_at = lock_and_snapshot(&mut job, &mut lock, &mut snap).await?;

    let mut child = cmd.spawn().map_err(spawn_error(&cfg.tools.mariadb_dump))?;
    let stdout = child.stdout.take().expect("piped stdout");
    let stderr = child.stderr.take().expect("piped stderr");
    let (started_tx, started_rx) = oneshot::channel();
    let stderr_task = tokio::spawn(watch_stderr(stderr, started_tx));
    let (chunks, reader) = pipe::channel();
    let (pieces, gz_thread) = pipe::spawn_tar_gz(chunks, cfg.gzip_level, consistent_at.timestamp());
    progress(AgentProgress::Step("dumping".into()));

    let tables = tables_in_snapshot(cfg, &mut lock, &mut snap, database, started_rx);
    let dump = Dump {
        child,
        stderr_task,
        pieces,
        gz_thread,
    };
    let manifest = job.manifest;
    let work = async move {
        let manifest = dump.finish(stdout, tables, manifest, progress).await?;
        Ok(Finished {
            manifest,
            consistent_at,
            deferred: None,
        })
    };
    let taken = stage_alongside(job.store, job.key, reader, progress, work).await?;
    snap.close().await;
    Ok(taken)
}

/// Checks that `database` exists and records the server's and the dump tool's versions and
/// the set's layout in the manifest; returns whether the server writes a binlog.
async fn describe_server(
    job: &mut Job<'_>,
    snap: &mut Session,
    database: Option<&str>,
) -> Result<bool, AgentError> {
    if let Some(db) = database {
        if !snap.database_exists(db).await? {
            return Err(AgentError::NotFound(format!(
                "database {db:?} does not exist on {}",
                job.endpoint
            )));
        }
    }
    job.manifest.server_version = snap.version().await?;
    let log_bin = snap.first::<u64>("SELECT @@log_bin").await? == Some(1);
    let tools = &job.config.tools;
    let dump_version = tools.version(&tools.mariadb_dump).await?;
    job.manifest
        .tools
        .insert("mariadb-dump".into(), dump_version);
    job.manifest.layout = format!(
        "tar.gz: {}/part-NNNNNN.sql (the dump cut into parts; concatenate in order) and manifest.json",
        super::DUMP_DIR
    );
    Ok(log_bin)
}

/// The `mariadb-dump` command line: one transaction, every database or `database`, with the
/// binlog position as a comment when there is a binlog.
fn dump_command(
    cfg: &AgentConfig,
    options: &OptionFile,
    database: Option<&str>,
    log_bin: bool,
) -> Command {
    let mut cmd = pipe_command(&cfg.tools.mariadb_dump, Stdio::null(), Stdio::piped());
    cmd.arg(options.arg()).args([
        "--verbose",
        "--single-transaction",
        "--quick",
        "--routines",
        "--events",
        "--triggers",
        "--hex-blob",
        "--max-allowed-packet=1G",
    ]);
    if log_bin {
        // The binlog position (and GTID) of the snapshot, as a comment.
        cmd.args(["--master-data=2", "--gtid"]);
    }
    match database {
        Some(db) => cmd.arg("--databases").arg(db),
        None => cmd.arg("--all-databases"),
    };
    cmd
}

/// Steps 1 and 2 of the module docs: `lock` stops commits, `snap` opens its snapshot; the
/// consistent point and binlog position go into the manifest.
async fn lock_and_snapshot(
    job: &mut Job<'_>,
    lock: &mut Session,
    snap: &mut Session,
) -> Result<DateTime<Utc>, AgentError> {
    lock.exec(&format!(
        "SET SESSION lock_wait_timeout = {}",
        job.config.lock_wait_timeout.as_secs().max(1)
    ))
    .await?;
    (job.progress)(AgentProgress::Step("FLUSH TABLES WITH READ LOCK".into()));
    lock.exec("FLUSH TABLES WITH READ LOCK").await?;
    let consistent_at = snap.start_snapshot().await?;
    job.manifest.binlog = snap.snapshot_binlog_position().await?;
    job.manifest.consistent_at = consistent_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    job.manifest.consistency = "snapshot opened under FLUSH TABLES WITH READ LOCK together with \
         mariadb-dump --single-transaction; row counts and CHECKSUM TABLE read in that snapshot"
        .into();
    Ok(consistent_at)
}

/// Steps 3 and 4: once the dump's own snapshot is open, unlocks and reads the row counts and
/// checksums of the tables in `snap`'s snapshot (none if the dump ended first: its exit status
/// tells why).
async fn tables_in_snapshot(
    cfg: &AgentConfig,
    lock: &mut Session,
    snap: &mut Session,
    database: Option<&str>,
    started: oneshot::Receiver<DumpStart>,
) -> Result<Vec<TableState>, AgentError> {
    let start = tokio::time::timeout(cfg.snapshot_timeout, started)
        .await
        .map_err(|_| {
            AgentError::Consistency(format!(
                "mariadb-dump did not open its transaction within {:?}",
                cfg.snapshot_timeout
            ))
        })?
        .unwrap_or(DumpStart::Ended);
    lock.exec("UNLOCK TABLES").await?;
    if start == DumpStart::Ended {
        return Ok(Vec::new());
    }
    let tables = snap.user_tables(database).await?;
    Ok(snap.table_states(&tables).await?)
}

/// A running dump and the thread that frames and compresses its output.
struct Dump {
    child: Child,
    stderr_task: JoinHandle<StderrTail>,
    pieces: mpsc::Sender<Piece>,
    gz_thread: JoinHandle<std::io::Result<()>>,
}

impl Dump {
    /// Feeds the dump's `stdout` to the compressor while `tables` are read, checks how the dump
    /// ended, then appends the manifest (with the tables) and closes the archive.
    async fn finish(
        self,
        stdout: ChildStdout,
        tables: impl std::future::Future<Output = Result<Vec<TableState>, AgentError>>,
        mut manifest: Manifest,
        progress: &(dyn Fn(AgentProgress) + Sync),
    ) -> Result<Manifest, AgentError> {
        let Dump {
            mut child,
            stderr_task,
            pieces,
            gz_thread,
        } = self;
        let tool_bytes = |n| progress(AgentProgress::ToolBytes(n));
        let produce = pipe::pump(stdout, TAR_PART, &tool_bytes, |bytes| {
            let pieces = pieces.clone();
            async move {
                pieces
                    .send(Piece::Data(bytes))
                    .await
                    .map_err(|_| std::io::Error::other("compression stopped"))
            }
        });
        let (states, _) =
            tokio::try_join!(tables, async { produce.await.map_err(AgentError::from) })?;
        let status = child.wait().await?;
        let tail = stderr_task
            .await
            .map_err(|e| AgentError::Io(format!("reading mariadb-dump's stderr: {e}")))?;
        check_status("mariadb-dump", status, &tail)?;
        manifest.tables = states;
        pieces
            .send(Piece::Finish(manifest.to_json()))
            .await
            .map_err(|_| AgentError::Io("compression stopped".into()))?;
        drop(pieces);
        gz_thread
            .await
            .map_err(|e| AgentError::Io(format!("compression thread: {e}")))??;
        Ok(manifest)
    }
}

/// Reads the dump's stderr: says when its transaction is open, keeps the lines that are not
/// `--verbose` chatter for error messages.
async fn watch_stderr(stderr: ChildStderr, started: oneshot::Sender<DumpStart>) -> StderrTail {
    let mut tail = StderrTail::default();
    let mut started = Some(started);
    let mut starting = false;
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if starting {
            if let Some(tx) = started.take() {
                let _ = tx.send(DumpStart::SnapshotOpen);
            }
        }
        if line.starts_with("-- Starting transaction") {
            starting = true;
        }
        if !line.starts_with("-- ") {
            tail.push(&line);
        }
    }
    if let Some(tx) = started.take() {
        let _ = tx.send(DumpStart::Ended);
    }
    tail
}
