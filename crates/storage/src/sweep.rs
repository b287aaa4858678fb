//! Sweeping the staging area: what a crashed or abandoned upload left behind.
//!
//! An upload's staging objects share a token (`.staging/<token>/…`). A token is stale when
//! nothing under it changed for `age`: an upload in progress keeps writing, so only abandoned
//! ones are removed. On local stores the token's directory is walked on disk, because an
//! in-progress (or killed) local upload is a `name#N` file the object store does not list.

use crate::keys::{self, STAGING};
use crate::{RegionStore, StorageError};
use futures::TryStreamExt;
use object_store::path::Path;
use std::collections::HashMap;
use std::time::{Duration, SystemTime};

impl RegionStore {
    /// Deletes staging objects whose upload has not written anything for `age`; returns how
    /// many objects (or, on local stores, files) were removed. Called at start-up, so that a
    /// crash never leaves a half-copied object behind for long; it never touches visible objects.
    pub async fn sweep_staging(&self, age: Duration) -> Result<u64, StorageError> {
        let cutoff = SystemTime::now()
            .checked_sub(age)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let removed = match &self.local_root {
            Some(root) => {
                let dir = root.join(STAGING);
                tokio::task::spawn_blocking(move || sweep_dir(&dir, cutoff))
                    .await
                    .map_err(StorageError::from_join)??
            }
            None => self.sweep_listed(cutoff).await?,
        };
        if removed > 0 {
            tracing::info!(region = %self.region_id, removed, "swept stale staging objects");
        }
        Ok(removed)
    }

    /// Any backend: group listed staging objects by token, delete the stale groups.
    async fn sweep_listed(&self, cutoff: SystemTime) -> Result<u64, StorageError> {
        let metas: Vec<_> = self
            .store
            .list(Some(&Path::from(STAGING)))
            .try_collect()
            .await
            .map_err(|e| StorageError::from_store(STAGING, e))?;
        let mut tokens: HashMap<String, (SystemTime, Vec<String>)> = HashMap::new();
        for meta in metas {
            let key = meta.location.to_string();
            let Some(token) = keys::staging_token(&key) else {
                continue;
            };
            let entry = tokens
                .entry(token.to_owned())
                .or_insert((SystemTime::UNIX_EPOCH, Vec::new()));
            entry.0 = entry.0.max(SystemTime::from(meta.last_modified));
            entry.1.push(key);
        }
        let mut removed = 0;
        for (newest, keys) in tokens.into_values() {
            if newest <= cutoff {
                for key in keys {
                    self.delete(&key).await?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

/// Local stores: remove each token directory under `dir` whose newest entry is not newer than
/// `cutoff`. Entries vanishing under our feet (an upload finishing) are not errors.
fn sweep_dir(dir: &std::path::Path, cutoff: SystemTime) -> Result<u64, StorageError> {
    let io = |e: std::io::Error| StorageError::Io(format!("sweeping {}: {e}", dir.display()));
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(io(e)),
    };
    let mut removed = 0;
    for entry in entries {
        let token_dir = entry.map_err(io)?.path();
        let (newest, files) = match newest_mtime(&token_dir) {
            Ok(found) => found,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io(e)),
        };
        if newest <= cutoff {
            let gone = if token_dir.is_dir() {
                std::fs::remove_dir_all(&token_dir)
            } else {
                std::fs::remove_file(&token_dir)
            };
            match gone {
                Ok(()) => removed += files,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(e)),
            }
        }
    }
    Ok(removed)
}

/// Newest modification time under `path` (itself included) and the number of files there.
fn newest_mtime(path: &std::path::Path) -> std::io::Result<(SystemTime, u64)> {
    let meta = std::fs::symlink_metadata(path)?;
    let mut newest = meta.modified()?;
    if !meta.is_dir() {
        return Ok((newest, 1));
    }
    let mut files = 0;
    for entry in std::fs::read_dir(path)? {
        let (t, n) = newest_mtime(&entry?.path())?;
        newest = newest.max(t);
        files += n;
    }
    Ok((newest, files))
}
