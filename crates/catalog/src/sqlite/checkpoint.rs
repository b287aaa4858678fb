//! WAL checkpoints off the commit path. SQLite's default runs a checkpoint inside the commit
//! that takes the WAL past 1,000 pages: that commit (in the API server, a batch of nonce
//! claims every request waits for) then copies the WAL into the database and fsyncs it. Here
//! this process's writer never checkpoints (`wal_autocheckpoint = 0`); a thread with its own
//! connection runs a passive checkpoint, which waits for no lock and blocks no writer, every
//! [`EVERY`].

use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::Duration;

use rusqlite::Connection;

use super::pool::connect;
use crate::Result;

/// How often the thread looks at the WAL.
const EVERY: Duration = Duration::from_millis(100);

/// Keeps the checkpointer thread running; dropping it ends the thread within [`EVERY`].
pub(crate) struct Checkpointer {
    _alive: Arc<()>,
}

impl Checkpointer {
    /// Starts the thread on the database at `path` (whose writer has `wal_autocheckpoint = 0`).
    pub(crate) fn start(path: PathBuf) -> Result<Checkpointer> {
        let conn = connect(Some(&path), false)?;
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
