//! WAL checkpoints mostly off the commit path. SQLite's default runs a checkpoint inside the
//! commit that takes the WAL past 1,000 pages: that commit (in the API server, a batch of nonce
//! claims every request waits for) then copies the whole WAL into the database and fsyncs it.
//! Here a thread with its own connection runs a passive checkpoint, which waits for no lock and
//! blocks no writer, every [`EVERY`]; it copies nearly everything. The writer checkpoints only
//! once the WAL passes [`WRITER_CHECKPOINT_PAGES`], and then copies just what was committed since
//! the thread's last pass. That writer's checkpoint is still needed: SQLite writes a WAL from its
//! start again only after a checkpoint copied all of it, and under a steady stream of commits the
//! thread's never does (the WAL grew to 24 GB in a 15-minute soak without it); the writer's runs
//! between two of its own commits, so it does, and the next commit starts the WAL over.

use std::path::Path;
use std::sync::{Arc, Weak};
use std::time::Duration;

use rusqlite::Connection;

use super::errors::SqlResultExt;
use super::pool::connect;
use crate::Result;

/// How often the thread looks at the WAL.
const EVERY: Duration = Duration::from_millis(100);

/// The writer's `wal_autocheckpoint`: how long the WAL grows (32 MiB of 4 KiB pages) before the
/// writer completes a checkpoint and the WAL starts over.
const WRITER_CHECKPOINT_PAGES: u32 = 8_192;

/// Keeps the checkpointer thread running; dropping it ends the thread within [`EVERY`].
pub(crate) struct Checkpointer {
    _alive: Arc<()>,
}

impl Checkpointer {
    /// Starts the thread on the database at `path`, after setting its `writer`'s own
    /// checkpoints (see the module docs).
    pub(crate) fn start(path: &Path, writer: &Connection) -> Result<Checkpointer> {
        writer
            .pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)
            .db()?;
        let conn = connect(Some(path), false)?;
        let alive = Arc::new(());
        let watch = Arc::downgrade(&alive);
        std::thread::Builder::new()
            .name("xbak-sqlite-checkpoint".into())
            .spawn(move || run(&conn, &watch))
            .map_err(|e| crate::CatalogError::Internal(format!("checkpoint thread: {e}")))?;
        Ok(Checkpointer { _alive: alive })
    }
}

fn run(conn: &Connection, alive: &Weak<()>) {
    while alive.strong_count() > 0 {
        std::thread::sleep(EVERY);
        // Copies only the frames added since the last run; nothing to do costs a lock check.
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "WAL checkpoint failed");
        }
    }
}
