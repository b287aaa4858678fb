//! A set a tool writes straight into a local staging file (see
//! [`xbak_storage::RegionStore::local_staging_file`]): [`Follower`] reads the file behind the
//! tool as it grows, hashing it and asking the kernel to start writing back what it has read,
//! so that when the tool ends the SHA-256 is nearly done and the `fsync` of publishing has
//! little left to do.
//!
//! Hand-written rather than piping the tool through the store's upload: on 1.3 GB of
//! `mariabackup --stream`, the pipe (and its copies) made the tool itself a second slower
//! than writing its own file, measured in `bench/physical-window.sh`.

use sha2::{Digest, Sha256};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use xbak_storage::start_writeback;

/// Bytes read and hashed per step.
const STEP: usize = 8 * 1024 * 1024;
/// Writeback is started on whole pages of this size.
const PAGE: u64 = 4096;
/// How long to wait for the tool to write more.
const IDLE: Duration = Duration::from_millis(10);

/// Follows one staging file from its start.
pub(crate) struct Follower {
    file: Arc<File>,
    hasher: Sha256,
    /// Bytes read and hashed so far.
    read: u64,
    /// Bytes whose writeback was started.
    written_back: u64,
    /// The read buffer, [`STEP`] bytes, kept between steps (most steps while the tool is
    /// busy elsewhere read nothing).
    buf: Vec<u8>,
}

impl Follower {
    pub fn new(file: File) -> Follower {
        Follower {
            file: Arc::new(file),
            hasher: Sha256::new(),
            read: 0,
            written_back: 0,
            buf: vec![0; STEP],
        }
    }

    /// Reads the file as it grows until `ended` is set (by whoever saw the writer exit) and
    /// the file's end is reached after that; `progress` sees the bytes read so far.
    pub async fn follow(
        &mut self,
        ended: &AtomicBool,
        progress: &(dyn Fn(u64) + Sync),
    ) -> std::io::Result<()> {
        loop {
            // Read before stepping: everything the writer wrote before it ended is then seen.
            let was_ended = ended.load(Ordering::Acquire);
            let n = self.step().await?;
            if n > 0 {
                progress(self.read);
            } else if was_ended {
                return Ok(());
            } else {
                tokio::time::sleep(IDLE).await;
            }
        }
    }

    /// Appends `bytes` at the end of what was read (the writer has ended) and hashes them.
    pub async fn append(&mut self, bytes: Vec<u8>) -> std::io::Result<()> {
        let file = self.file.clone();
        let at = self.read;
        let bytes =
            tokio::task::spawn_blocking(move || file.write_all_at(&bytes, at).map(|_| bytes))
                .await
                .map_err(std::io::Error::other)??;
        self.hasher.update(&bytes);
        self.read += bytes.len() as u64;
        Ok(())
    }

    /// Size and lower-case hex SHA-256 of everything read and appended.
    pub fn finish(self) -> (u64, String) {
        (self.read, hex::encode(self.hasher.finalize()))
    }

    /// Reads and hashes up to [`STEP`] new bytes on the blocking pool; returns how many.
    async fn step(&mut self) -> std::io::Result<usize> {
        let file = self.file.clone();
        let at = self.read;
        // Writeback of the pages a step behind, whole pages only: a page the writer still
        // appends to would make it wait for that page's I/O.
        let (from, to) = (
            self.written_back,
            at.saturating_sub(STEP as u64) & !(PAGE - 1),
        );
        let mut hasher = std::mem::take(&mut self.hasher);
        let mut buf = std::mem::take(&mut self.buf);
        let (hasher, buf, n) = tokio::task::spawn_blocking(move || {
            if to > from {
                start_writeback(&file, from, to - from);
            }
            let mut n = 0;
            while n < STEP {
                let got = file.read_at(&mut buf[n..], at + n as u64)?;
                if got == 0 {
                    break;
                }
                n += got;
            }
            hasher.update(&buf[..n]);
            Ok::<_, std::io::Error>((hasher, buf, n))
        })
        .await
        .map_err(std::io::Error::other)??;
        self.hasher = hasher;
        self.buf = buf;
        self.read += n as u64;
        self.written_back = self.written_back.max(to);
        Ok(n)
    }
}
