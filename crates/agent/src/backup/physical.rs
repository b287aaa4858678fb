//! Physical sets: `mariabackup --backup --stream=xbstream`, full or incremental
//! (`--incremental-lsn` = the base set's `to_lsn`, so no local copy of the base is needed).
//!
//! How the instant is pinned. `mariabackup` ends by holding `BACKUP STAGE BLOCK_COMMIT` (no
//! transaction can commit) while it records the LSN the set is consistent at; it logs
//! `Acquired locks for BACKUP STAGE BLOCK_COMMIT` once the lock is held and
//! `Finishing BACKUP STAGE BLOCK_COMMIT` / `Starting BACKUP STAGE END` before releasing it.
//! When the first line appears the agent stops the process (`SIGSTOP`), reads what stderr
//! still holds to make sure the lock is still held, opens `START TRANSACTION WITH CONSISTENT
//! SNAPSHOT` in its own session (so it sees exactly the committed state the backup holds) and
//! resumes the process (`SIGCONT`). Commits wait for the lock anyway; the pause adds a round
//! trip. Row counts and `CHECKSUM TABLE` are then read in that snapshot.
//!
//! Checksums after the set. The manifest's row counts and `CHECKSUM TABLE` read every table once
//! or twice: on a few hundred MiB that is as long as `mariabackup` itself. So they are not part
//! of the set: the set (its xbstream ending with a manifest that says [`TablesAt::Beside`]) is
//! published and its copy queued as soon as `mariabackup` ends, and [`DeferredTables`] reads
//! them afterwards in the snapshots still open, for the manifest stored beside the set.
//!
//! Checksums in parallel. The snapshot is opened in K sessions (K = min([`CHECKSUM_SESSIONS`], number of user
//! tables)), all in the same pause: while the lock is held no transaction commits, so K
//! snapshots opened then see exactly the same committed state, the one the backup holds. The
//! sessions are connected before `mariabackup` starts, so the pause only grows by the
//! `START TRANSACTION WITH CONSISTENT SNAPSHOT` round trips, sent concurrently. After the backup
//! the work is dealt out largest first (`information_schema` `DATA_LENGTH`), each piece to the
//! least-loaded session, and read concurrently; a piece is one table's `CHECKSUM TABLE` or its
//! `COUNT(*)`, so that one big table's two scans overlap as well
//! ([`crate::db::table_states_in_sessions`]). The manifest lists the tables in the usual order.
//!
//! If the window was missed (the line was read after the lock was released), the snapshot is
//! taken after the backup, in one session, and the manifest says so: its checksums may then
//! include commits made after the backup's point and a verification can report differences on
//! a busy server. (Snapshots opened one after the other outside the lock could each see a
//! different instant, so the fallback does not spread the work.)
//! As for any physical backup, non-InnoDB tables are copied under the earlier backup stages.

use super::follow::Follower;
use super::framing::xbstream_file;
use super::manifest::{parse_checkpoints, BaseSet, TablesAt, PHYSICAL_MANIFEST_FILE};
use super::pipe;
use super::{
    stage_alongside, AgentConfig, AgentError, AgentProgress, Finished, Job, Manifest, Taken,
};
use crate::db::{table_states_in_sessions, BinlogPosition, Session, TableState};
use crate::tools::{
    check_status, pipe_command, signal, spawn_error, wait_stopped, widen_pipe, OptionFile,
    StderrTail,
};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::process::{Child, ChildStderr, Command};
use xbak_storage::{RegionStore, Staged};

const LOCK_HELD: &str = "Acquired locks for BACKUP STAGE BLOCK_COMMIT";
const LOCK_RELEASING: [&str; 2] = ["Finishing BACKUP STAGE BLOCK_COMMIT", "BACKUP STAGE END"];

/// Chunk handed from mariabackup's stdout to the upload.
const CHUNK: usize = 1024 * 1024;

/// At most this many sessions read the manifest's checksums (the server's CPU and disk are
/// shared with the backup's readers and the instance's own load).
pub(crate) const CHECKSUM_SESSIONS: usize = 3;

pub(super) async fn take(mut job: Job<'_>, base: Option<&BaseSet>) -> Result<Taken, AgentError> {
    let cfg = job.config;
    let progress = job.progress;
    let sessions = connect_sessions(&mut job).await?;
    describe_tool(&mut job, base).await?;
    let work_dir = work_dir(cfg)?;
    let options = OptionFile::for_endpoint(&job.endpoint)?;
    let direct = if cfg.direct_local_writes {
        job.store.local_staging_file(job.key).await?
    } else {
        None
    };
    progress(AgentProgress::Step(match base {
        Some(_) => "mariabackup (incremental)".into(),
        None => "mariabackup (full)".into(),
    }));
    let run = Run {
        cmd: mariabackup_command(cfg, &options, work_dir.path(), base),
        sessions,
        manifest: job.manifest,
        lsn_dir: work_dir.path().join("lsn"),
        progress,
    };
    let taken = match direct {
        Some((staging_key, file)) => {
            let taken = run
                .into_file(&cfg.tools.mariabackup, file, &staging_key)
                .await;
            if taken.is_err() {
                job.store.delete(&staging_key).await.ok();
            }
            taken
        }
        None => {
            run.through_pipe(&cfg.tools.mariabackup, job.store, job.key)
                .await
        }
    };
    drop(work_dir);
    taken
}

/// One mariabackup run, ready to start.
struct Run<'a> {
    /// Its command line, stdout not set yet.
    cmd: Command,
    sessions: Sessions,
    manifest: Manifest,
    lsn_dir: PathBuf,
    progress: &'a (dyn Fn(AgentProgress) + Sync),
}

impl Run<'_> {
    /// mariabackup writes the set into the local staging file `file` itself ([`Follower`]).
    async fn into_file(
        mut self,
        tool: &Path,
        file: std::fs::File,
        staging_key: &str,
    ) -> Result<Taken, AgentError> {
        let progress = self.progress;
        self.cmd.stdout(Stdio::from(file.try_clone()?));
        let mut child = self.cmd.spawn().map_err(spawn_error(tool))?;
        let mut follower = Follower::new(file);
        let ended = AtomicBool::new(false);
        let pid = child.id().unwrap_or(0);
        let stderr = child.stderr.take().expect("piped stderr");
        let sessions = &mut self.sessions;
        let watcher = watch_stderr(stderr, pid, &mut sessions.snap, &mut sessions.helpers);
        let exited = async {
            let status = child.wait().await;
            ended.store(true, Ordering::Release);
            status
        };
        let written = |n| {
            progress(AgentProgress::ToolBytes(n));
            progress(AgentProgress::StoredBytes(n));
        };
        let followed = follower.follow(&ended, &written);
        let ((point, tail), status, followed) = tokio::join!(watcher, exited, followed);
        followed?;
        check_status("mariabackup", status?, &tail)?;
        let finished = self.finish(point?).await?;
        follower.append(finished.trailer()).await?;
        let (size, sha256) = follower.finish().await?;
        Ok(Taken {
            staged: Staged {
                staging_key: staging_key.to_owned(),
                size,
                sha256,
            },
            finished,
        })
    }

    /// mariabackup's stdout goes through a pipe into the store's staged upload.
    async fn through_pipe(
        mut self,
        tool: &Path,
        store: &RegionStore,
        key: &str,
    ) -> Result<Taken, AgentError> {
        let progress = self.progress;
        self.cmd.stdout(Stdio::piped());
        let child = self.cmd.spawn().map_err(spawn_error(tool))?;
        let (chunks, reader) = pipe::channel();
        let abort = chunks.clone();
        let work = async move {
            let r: Result<Finished, AgentError> = async {
                let point = stream_backup(child, &chunks, &mut self.sessions, progress).await?;
                let finished = self.finish(point).await?;
                chunks
                    .send(Ok(Bytes::from(finished.trailer())))
                    .await
                    .map_err(|_| AgentError::Io("the upload stopped reading".into()))?;
                Ok(finished)
            }
            .await;
            if let Err(e) = &r {
                let _ = abort.send(Err(std::io::Error::other(e.to_string()))).await;
            }
            r
        };
        stage_alongside(store, key, reader, progress, work).await
    }

    /// Completes the manifest once mariabackup ended well (consistent point, LSNs; the tables
    /// are read later, [`DeferredTables`]).
    async fn finish(mut self, point: Option<Point>) -> Result<Finished, AgentError> {
        let sessions = &mut self.sessions;
        let manifest = &mut self.manifest;
        let (consistent_at, binlog) = match point {
            Some(point) => {
                manifest.consistency = format!(
                    "snapshot opened while mariabackup held BACKUP STAGE BLOCK_COMMIT (process \
                     paused), in {} session(s) at once; row counts and CHECKSUM TABLE read in \
                     those snapshots",
                    sessions.helpers.len() + 1
                );
                point
            }
            None => snapshot_after_backup(sessions, manifest).await?,
        };
        manifest.consistent_at = consistent_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        manifest.binlog = binlog;
        let checkpoints =
            tokio::fs::read_to_string(self.lsn_dir.join("xtrabackup_checkpoints")).await?;
        manifest.lsn = Some(parse_checkpoints(&checkpoints).map_err(AgentError::Consistency)?);
        manifest.tables_at = TablesAt::Beside;
        Ok(Finished {
            manifest: self.manifest,
            consistent_at,
            deferred: Some(DeferredTables {
                sessions: self.sessions,
            }),
        })
    }
}

impl Finished {
    /// The manifest as the last file of the set's xbstream.
    fn trailer(&self) -> Vec<u8> {
        xbstream_file(PHYSICAL_MANIFEST_FILE, &self.manifest.to_json())
    }
}

/// The sessions that read the manifest's checksums: `snap` and up to
/// [`CHECKSUM_SESSIONS`]` - 1` helpers.
struct Sessions {
    snap: Session,
    helpers: Vec<Session>,
}

/// Connects the checksum sessions now, so that the pause only adds their snapshots; records
/// the server's version.
async fn connect_sessions(job: &mut Job<'_>) -> Result<Sessions, AgentError> {
    let mut snap = Session::connect(&job.endpoint).await?;
    job.manifest.server_version = snap.version().await?;
    let table_count = snap.user_tables(None).await?.len();
    let extra = table_count.clamp(1, CHECKSUM_SESSIONS) - 1;
    let helpers: Vec<Session> =
        futures::future::try_join_all((0..extra).map(|_| Session::connect(&job.endpoint))).await?;
    Ok(Sessions { snap, helpers })
}

/// Records mariabackup's version and the set's layout in the manifest.
async fn describe_tool(job: &mut Job<'_>, base: Option<&BaseSet>) -> Result<(), AgentError> {
    let tools = &job.config.tools;
    let version = tools.version(&tools.mariabackup).await?;
    job.manifest.tools.insert("mariabackup".into(), version);
    job.manifest.layout = format!(
        "xbstream (mbstream -x), uncompressed, with {PHYSICAL_MANIFEST_FILE} appended; \
         prepare with mariabackup --prepare{}",
        if base.is_some() {
            " on the prepared base, --incremental-dir=<this set>"
        } else {
            ""
        }
    );
    Ok(())
}

/// A scratch directory for mariabackup's target and LSN files, under `cfg.work_dir` if set.
fn work_dir(cfg: &AgentConfig) -> Result<tempfile::TempDir, AgentError> {
    let mut builder = tempfile::Builder::new();
    builder.prefix("xbak-mariabackup-");
    Ok(match &cfg.work_dir {
        Some(dir) => builder.tempdir_in(dir)?,
        None => builder.tempdir()?,
    })
}

/// The `mariabackup --backup --stream=xbstream` command line, incremental from `base` if given;
/// its stdout is set by the caller.
fn mariabackup_command(
    cfg: &AgentConfig,
    options: &OptionFile,
    work_dir: &Path,
    base: Option<&BaseSet>,
) -> Command {
    let mut cmd = pipe_command(&cfg.tools.mariabackup, Stdio::null(), Stdio::null());
    cmd.arg(options.arg())
        .arg("--backup")
        .arg("--stream=xbstream")
        .arg(format!(
            "--target-dir={}",
            work_dir.join("target").display()
        ))
        .arg(format!("--extra-lsndir={}", work_dir.join("lsn").display()));
    if let Some(b) = base {
        cmd.arg(format!("--incremental-lsn={}", b.to_lsn));
    }
    cmd
}

/// A physical set's row counts and checksums, still to be read in the snapshots its backup
/// opened (they stay open until read).
pub(crate) struct DeferredTables {
    sessions: Sessions,
}

impl DeferredTables {
    /// Reads them; closes the sessions.
    pub async fn read(
        self,
        progress: &(dyn Fn(AgentProgress) + Sync),
    ) -> Result<Vec<TableState>, AgentError> {
        checksum_tables(self.sessions, progress).await
    }
}

/// Pumps mariabackup's stdout into `chunks` while its stderr is watched for the BLOCK_COMMIT
/// window; checks how it exited. Returns the consistent point opened in the window, if any.
async fn stream_backup(
    mut child: Child,
    chunks: &pipe::ChunkSender,
    sessions: &mut Sessions,
    progress: &(dyn Fn(AgentProgress) + Sync),
) -> Result<Option<Point>, AgentError> {
    let pid = child.id().unwrap_or(0);
    let stdout = child.stdout.take().expect("piped stdout");
    widen_pipe(&stdout);
    let stderr = child.stderr.take().expect("piped stderr");
    let tool_bytes = |n| progress(AgentProgress::ToolBytes(n));
    let watcher = watch_stderr(stderr, pid, &mut sessions.snap, &mut sessions.helpers);
    let produce = pipe::pump(stdout, CHUNK, &tool_bytes, |bytes| {
        let chunks = chunks.clone();
        async move {
            chunks
                .send(Ok(bytes))
                .await
                .map_err(|_| std::io::Error::other("the upload stopped reading"))
        }
    });
    let (watched, produced) = tokio::join!(watcher, produce);
    produced?;
    let status = child.wait().await?;
    let (point, tail) = watched;
    check_status("mariabackup", status, &tail)?;
    point
}

/// The BLOCK_COMMIT window was missed: one session, a snapshot opened after the backup.
async fn snapshot_after_backup(
    sessions: &mut Sessions,
    manifest: &mut Manifest,
) -> Result<Point, AgentError> {
    // One session: snapshots opened outside the lock need not agree.
    for h in sessions.helpers.drain(..) {
        h.close().await;
    }
    tracing::warn!("missed mariabackup's BLOCK_COMMIT window; checksums taken after the backup");
    manifest.consistency = "snapshot opened right after the backup (the BLOCK_COMMIT \
         window was missed): checksums may include later commits"
        .into();
    let t = sessions.snap.start_snapshot().await?;
    Ok((t, sessions.snap.snapshot_binlog_position().await?))
}

/// Row counts and checksums of every user table, read in the sessions' snapshots; closes them.
async fn checksum_tables(
    sessions: Sessions,
    progress: &(dyn Fn(AgentProgress) + Sync),
) -> Result<Vec<TableState>, AgentError> {
    let Sessions {
        mut snap,
        mut helpers,
    } = sessions;
    let tables = snap.user_tables(None).await?;
    let mut sessions = vec![snap];
    sessions.append(&mut helpers);
    progress(AgentProgress::Step(format!(
        "checksumming {} tables in {} session(s)",
        tables.len(),
        sessions.len()
    )));
    let states = if sessions.len() > 1 {
        let sizes = sessions[0].data_lengths(&tables).await?;
        table_states_in_sessions(&mut sessions, &tables, &sizes).await?
    } else {
        sessions[0].table_states(&tables).await?
    };
    for s in sessions {
        s.close().await;
    }
    Ok(states)
}

type Point = (DateTime<Utc>, Option<BinlogPosition>);

/// Resumes a paused process when dropped, whatever happened meanwhile.
struct Resume(u32);

impl Drop for Resume {
    fn drop(&mut self) {
        if let Err(e) = signal(self.0, libc::SIGCONT) {
            tracing::warn!(pid = self.0, error = %e, "could not resume mariabackup");
        }
    }
}

/// Reads mariabackup's stderr to its end; in the BLOCK_COMMIT window, pauses it and opens the
/// snapshot in `snap` and, at the same time, in each of `helpers`. Returns the snapshot's time
/// and binlog position (`None` if the window was missed) and the last stderr lines.
async fn watch_stderr(
    mut stderr: ChildStderr,
    pid: u32,
    snap: &mut Session,
    helpers: &mut [Session],
) -> (Result<Option<Point>, AgentError>, StderrTail) {
    let mut tail = StderrTail::default();
    let mut point: Result<Option<Point>, AgentError> = Ok(None);
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    let mut done = false;
    loop {
        let n = match stderr.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        pending.extend_from_slice(&buf[..n]);
        let lines = take_lines(&mut pending);
        let mut held_at = None;
        for (i, line) in lines.iter().enumerate() {
            tail.push(line);
            if !done && held_at.is_none() && line.contains(LOCK_HELD) {
                held_at = Some(i);
            }
        }
        let Some(i) = held_at else { continue };
        done = true;
        if pid == 0 || signal(pid, libc::SIGSTOP).is_err() {
            continue;
        }
        let _resume = Resume(pid);
        let stopped = wait_stopped(pid, Duration::from_secs(2)).await;
        // What it wrote before it stopped: the lines after the one that matched, and whatever
        // the pipe still holds.
        let mut after: Vec<String> = lines[i + 1..].to_vec();
        loop {
            match tokio::time::timeout(Duration::from_millis(30), stderr.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => {
                    pending.extend_from_slice(&buf[..n]);
                    for line in take_lines(&mut pending) {
                        tail.push(&line);
                        after.push(line);
                    }
                }
                _ => break,
            }
        }
        after.push(String::from_utf8_lossy(&pending).into_owned());
        let released = after
            .iter()
            .any(|l| LOCK_RELEASING.iter().any(|m| l.contains(m)));
        if stopped && !released {
            let main = async {
                let t = snap.start_snapshot().await?;
                let binlog = snap.snapshot_binlog_position().await?;
                Ok::<_, AgentError>((t, binlog))
            };
            let others = async {
                futures::future::try_join_all(helpers.iter_mut().map(|h| h.start_snapshot()))
                    .await
                    .map_err(AgentError::from)
            };
            point = tokio::try_join!(main, others).map(|(p, _)| Some(p));
        }
        // `_resume` sends SIGCONT here.
    }
    (point, tail)
}

/// Splits complete lines off the front of `pending`.
fn take_lines(pending: &mut Vec<u8>) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(pos) = pending.iter().position(|b| *b == b'\n') {
        let line: Vec<u8> = pending.drain(..=pos).collect();
        out.push(String::from_utf8_lossy(&line[..line.len() - 1]).into_owned());
    }
    out
}
