//! A set a tool writes straight into a local staging file (see
//! [`xbak_storage::RegionStore::local_staging_file`]): [`Follower`] reads the file back as it
//! grows ([`ReadBehind`]: hashing it and starting the writeback of its whole pages), so that
//! when the tool ends the SHA-256 is nearly done and the `fsync` of publishing has little left
//! to do.
//!
//! Hand-written rather than piping the tool through the store's upload: on 1.3 GB of
//! `mariabackup --stream`, the pipe (and its copies) made the tool itself a second slower
//! than writing its own file, measured in `bench/physical-window.sh`.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use xbak_storage::ReadBehind;

/// How often the file's length is looked at while the tool writes.
const IDLE: Duration = Duration::from_millis(10);

/// Follows one staging file from its start.
pub(crate) struct Follower {
    file: Arc<File>,
    behind: ReadBehind,
    /// The file's length when last looked at (the tool's bytes, then the appended ones).
    len: u64,
}

impl Follower {
    pub fn new(file: File) -> Follower {
        let file = Arc::new(file);
        Follower {
            behind: ReadBehind::new(Arc::clone(&file), 0),
            file,
            len: 0,
        }
    }

    /// Reads the file as it grows until `ended` is set (by whoever saw the writer exit) and
    /// its length after that was seen; `progress` sees the bytes written so far.
    pub async fn follow(
        &mut self,
        ended: &AtomicBool,
        progress: &(dyn Fn(u64) + Sync),
    ) -> std::io::Result<()> {
        loop {
            // Look after reading the flag: everything the writer wrote before it ended is seen.
            let was_ended = ended.load(Ordering::Acquire);
            let len = self.file.metadata()?.len();
            if len > self.len {
                self.len = len;
                self.behind.advance(len).await;
                progress(len);
            } else if was_ended {
                return Ok(());
            }
            tokio::time::sleep(IDLE).await;
        }
    }

    /// Appends `bytes` at the end of the file (the writer has ended).
    pub async fn append(&mut self, bytes: Vec<u8>) -> std::io::Result<()> {
        let file = Arc::clone(&self.file);
        let at = self.len;
        let n = bytes.len() as u64;
        tokio::task::spawn_blocking(move || file.write_all_at(&bytes, at))
            .await
            .map_err(std::io::Error::other)??;
        self.len += n;
        Ok(())
    }

    /// Size and lower-case hex SHA-256 of the whole file, once the rest is read.
    pub async fn finish(self) -> std::io::Result<(u64, String)> {
        let read = self.behind.finish(self.len).await?;
        Ok((read.size, read.sha256))
    }
}
