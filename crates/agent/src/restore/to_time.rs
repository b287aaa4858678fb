//! Restore to a point in time: the newest whole-instance set copied to the region that is
//! consistent at or before the time and whose log coverage there reaches it
//! ([`Restorer::plan_to_time`]), restored and verified as usual, then rolled forward by replaying
//! the instance's binlog files from that region with `mariadb-binlog` into the restored server,
//! from the set's binlog position (its manifest) up to the time ([`replay`]).
//!
//! Binlog event times are whole seconds, and an event's time is when its statement began; a
//! time T replays every event stamped T or earlier and stops at the first one stamped later, so
//! a transaction committed after T is never applied, even partly.

use super::{Ctx, HashingReader, RestoreError, RestoreProgress, RestoreTarget, Restorer};
use crate::backup::Manifest;
use crate::db::Endpoint;
use crate::tools::{check_status, spawn_error, OptionFile, StderrTail};
use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use xbak_domain::binlog::BINLOG_MAGIC;
use xbak_domain::recovery::{files_to_replay, recovery_end};
use xbak_domain::{
    BackupMethod, BackupSetScale, CopyQuery, CopyStatus, LogFile, LogFileState, PageSize,
};

type Timestamp = DateTime<Utc>;

/// What rolls a restored set forward: the time, and the instance's binlog files in the region
/// the restore reads from (closed ones whole, the open one as its segments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollForward {
    /// Every transaction stamped at or before this second is applied, none after.
    pub to_time: Timestamp,
    pub files: Vec<LogFile>,
}

/// A stretch of time an instance can be restored to in one region, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryWindow {
    pub begin: Timestamp,
    pub end: Timestamp,
}

impl std::fmt::Display for RecoveryWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} .. {}", rfc3339(self.begin), rfc3339(self.end))
    }
}

/// Which copy a restore to a time starts from, and what rolls it forward.
#[derive(Debug, Clone)]
pub struct TimePlan {
    pub cross_backup_id: i64,
    /// The window of that copy: its set's consistent time to the end of the log after it.
    pub window: RecoveryWindow,
    pub roll_forward: RollForward,
}

/// What a roll forward replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayed {
    pub to_time: Timestamp,
    /// The files replayed, in order; the first from the set's binlog position.
    pub files: Vec<String>,
    pub bytes: u64,
    pub elapsed: Duration,
}

impl Restorer {
    /// Picks the copy to restore `db_instance_id` from in `region_id` to `to_time` (whole
    /// seconds; a fraction is dropped): the newest completed copy of a whole-instance set taken
    /// by `xbak backup run` whose window holds `to_time` (a logical one for a running server
    /// as `target`); in the instance's own region, the newest such set with a copy (restored
    /// from the set itself). A time outside every window is refused with an error that names
    /// the windows.
    pub async fn plan_to_time(
        &self,
        db_instance_id: &str,
        region_id: &str,
        to_time: Timestamp,
        target: &RestoreTarget,
    ) -> Result<TimePlan, RestoreError> {
        let to_time = to_time.trunc_subsecs(0);
        let instance = self
            .catalog
            .instance_by_db_instance_id(db_instance_id)
            .await?
            .ok_or_else(|| RestoreError::NotFound(format!("no instance {db_instance_id}")))?;
        let files: Vec<LogFile> = self
            .catalog
            .log_files(instance.id)
            .await?
            .into_iter()
            .filter(|f| f.region_id == region_id)
            .collect();
        let gaps = self.catalog.log_gaps(instance.id).await?;
        let into_server = matches!(target, RestoreTarget::Server(_));
        // In the instance's own region the sets themselves are restored (a restore reads a set
        // there from its own key): each set is named by one of its copies, whatever its state.
        let at_home = region_id == instance.region_id;
        let mut seen = std::collections::HashSet::new();
        let mut windows = Vec::new();
        for page in 1.. {
            let listing = self
                .catalog
                .list_copies(&CopyQuery {
                    dest_region_id: (!at_home).then(|| region_id.to_owned()),
                    page_number: page,
                    ..CopyQuery::first_page(instance.id, PageSize::Hundred)
                })
                .await?;
            let last_page = listing.items.len() < PageSize::Hundred.get() as usize;
            for c in listing.items {
                let here = if at_home {
                    seen.insert(c.backup_set_id)
                } else {
                    c.status == CopyStatus::Completed
                };
                if here
                    && c.scale == BackupSetScale::Instance
                    && (c.method == BackupMethod::Logical || !into_server)
                {
                    let end = recovery_end(c.consistent_at, &files, &gaps);
                    let window = RecoveryWindow {
                        begin: c.consistent_at,
                        end,
                    };
                    windows.push((c.cross_backup_id, c.backup_set_id, window));
                }
            }
            if last_page {
                break;
            }
        }
        // Newest first; a set registered by hand (no run, so no manifest and no binlog
        // position) cannot be rolled forward and is passed over.
        windows.sort_by_key(|(id, _, w)| std::cmp::Reverse((w.begin, *id)));
        for &(cross_backup_id, set_id, window) in &windows {
            let holds = window.begin.trunc_subsecs(0) <= to_time && to_time <= window.end;
            if holds && self.catalog.backup_run_of_set(set_id).await?.is_some() {
                return Ok(TimePlan {
                    cross_backup_id,
                    window,
                    roll_forward: RollForward { to_time, files },
                });
            }
        }
        let mut restorable = Vec::new();
        for &(_, set_id, window) in &windows {
            if self.catalog.backup_run_of_set(set_id).await?.is_some() {
                restorable.push(window);
            }
        }
        Err(RestoreError::OutsideWindow(outside(
            db_instance_id,
            region_id,
            to_time,
            restorable,
        )))
    }
}

/// The refusal of a time outside every window, naming the windows (overlapping ones merged).
fn outside(
    db_instance_id: &str,
    region_id: &str,
    to_time: Timestamp,
    mut windows: Vec<RecoveryWindow>,
) -> String {
    let t = rfc3339(to_time);
    if windows.is_empty() {
        return format!(
            "{db_instance_id} cannot be restored to {t} in {region_id}: it has no whole-instance set there taken by `xbak backup run` with a cross-region copy (a logical one, to restore into a running server)"
        );
    }
    windows.sort_by_key(|w| w.begin);
    let mut merged: Vec<RecoveryWindow> = Vec::new();
    for w in windows {
        match merged.last_mut() {
            Some(last) if w.begin <= last.end => last.end = last.end.max(w.end),
            _ => merged.push(w),
        }
    }
    let listed: Vec<String> = merged.iter().map(|w| w.to_string()).collect();
    format!(
        "{t} is outside the recovery window of {db_instance_id} in {region_id}: {}",
        listed.join(", ")
    )
}

/// `2026-12-04T18:00:05Z`: how times are written to people and read back (`--to-time`).
pub fn rfc3339(t: Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Replays the binlog from the set's position (its manifest) to `rf.to_time` into `endpoint`.
pub(super) async fn replay(
    ctx: &Ctx<'_>,
    rf: &RollForward,
    endpoint: &Endpoint,
    manifest: &Manifest,
) -> Result<Replayed, RestoreError> {
    let began = Instant::now();
    let start = manifest
        .binlog
        .as_ref()
        .filter(|b| !b.file.is_empty())
        .ok_or_else(|| {
            RestoreError::Unsupported(
                "the set was taken with binary logging off: it cannot be rolled forward".into(),
            )
        })?;
    let files =
        files_to_replay(&rf.files, &start.file, rf.to_time).map_err(RestoreError::NotFound)?;
    let dir = ctx.temp_dir("xbak-binlogs-")?;
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut bytes = 0;
    for (i, f) in files.iter().enumerate() {
        (ctx.progress)(RestoreProgress::Step(format!(
            "fetching binlog {} ({}/{})",
            f.file_name,
            i + 1,
            files.len()
        )));
        let path = dir.path().join(&f.file_name);
        bytes += fetch_log(ctx, f, &path).await?;
        paths.push(path);
    }
    (ctx.progress)(RestoreProgress::Step(format!(
        "replaying {} binlog files to {}",
        files.len(),
        rfc3339(rf.to_time)
    )));
    apply(ctx, endpoint, start.position, rf.to_time, &paths).await?;
    Ok(Replayed {
        to_time: rf.to_time,
        files: files.iter().map(|f| f.file_name.clone()).collect(),
        bytes,
        elapsed: began.elapsed(),
    })
}

/// Fetches log file `f` to `path` (a closed file's object, or the magic and an open file's
/// segments), checking each object's size and SHA-256; returns the file's size.
async fn fetch_log(
    ctx: &Ctx<'_>,
    f: &LogFile,
    path: &std::path::Path,
) -> Result<u64, RestoreError> {
    let mut out = tokio::fs::File::create(path).await?;
    let objects: Vec<(&str, u64, Option<&str>)> = match f.state {
        LogFileState::Closed => {
            let key = f.object_key.as_deref().ok_or_else(|| {
                RestoreError::Integrity(format!("closed binlog file {} has no object", f.file_name))
            })?;
            vec![(key, f.size, f.sha256.as_deref())]
        }
        LogFileState::Open => {
            out.write_all(&BINLOG_MAGIC).await?;
            f.segments
                .iter()
                .map(|s| (s.object_key.as_str(), s.size, Some(s.sha256.as_str())))
                .collect()
        }
    };
    for (key, size, expected) in objects {
        let reader = ctx.fetcher.open(&f.region_id, key).await?;
        let mut reader = HashingReader::new(reader, Arc::new(AtomicU64::new(0)));
        tokio::io::copy(&mut reader, &mut out)
            .await
            .map_err(|e| RestoreError::Fetch {
                key: key.to_owned(),
                message: e.to_string(),
            })?;
        let (got, sha256) = reader.finish();
        if got != size || expected.is_some_and(|s| s != sha256) {
            return Err(RestoreError::Integrity(format!(
                "{key} read from {} does not match the catalog ({got} bytes, sha256 {sha256})",
                f.region_id
            )));
        }
    }
    out.flush().await?;
    Ok(f.size)
}

/// `mariadb-binlog --start-position=P --stop-datetime=T+1s FILES | mariadb`: the first file
/// from the set's position, every event stamped at or before `to_time`.
async fn apply(
    ctx: &Ctx<'_>,
    endpoint: &Endpoint,
    start_position: u64,
    to_time: Timestamp,
    paths: &[PathBuf],
) -> Result<(), RestoreError> {
    let tools = &ctx.config.tools;
    let stop = to_time + chrono::Duration::seconds(1);
    let mut binlog = tokio::process::Command::new(&tools.mariadb_binlog)
        // `--stop-datetime` is read in the local time zone.
        .env("TZ", "UTC")
        .arg("--no-defaults")
        .arg(format!("--start-position={start_position}"))
        .arg(format!(
            "--stop-datetime={}",
            stop.format("%Y-%m-%d %H:%M:%S")
        ))
        .args(paths)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(spawn_error(&tools.mariadb_binlog))?;
    let events: Stdio = binlog
        .stdout
        .take()
        .expect("piped stdout")
        .try_into()
        .map_err(|e| RestoreError::Io(format!("piping mariadb-binlog: {e}")))?;
    let options = OptionFile::for_endpoint(endpoint)?;
    let client = crate::tools::pipe_command(&tools.mariadb, events, Stdio::null())
        .arg(options.arg())
        .args(["--binary-mode", "--batch", "--max-allowed-packet=1G"])
        .spawn()
        .map_err(spawn_error(&tools.mariadb))?;
    let (read, loaded) = tokio::join!(binlog.wait_with_output(), client.wait_with_output());
    let (read, loaded) = (read?, loaded?);
    // The client's own error says more than the broken pipe it caused.
    check_status(
        "mariadb",
        loaded.status,
        &StderrTail::from_output(&loaded.stderr),
    )?;
    check_status(
        "mariadb-binlog",
        read.status,
        &StderrTail::from_output(&read.stderr),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(minute: i64) -> Timestamp {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::minutes(minute)
    }

    #[test]
    fn the_refusal_names_the_windows_merged() {
        let w = |a, b| RecoveryWindow {
            begin: at(a),
            end: at(b),
        };
        let text = outside(
            "rm-a",
            "cn-shanghai",
            at(100),
            vec![w(50, 60), w(0, 10), w(5, 20)],
        );
        assert_eq!(
            text,
            "2026-01-01T01:40:00Z is outside the recovery window of rm-a in cn-shanghai: \
             2026-01-01T00:00:00Z .. 2026-01-01T00:20:00Z, 2026-01-01T00:50:00Z .. 2026-01-01T01:00:00Z"
        );
        assert!(
            outside("rm-a", "cn-shanghai", at(1), vec![]).contains("no whole-instance set there")
        );
    }
}
