//! Connections: one writer and a few readers, each used on tokio's blocking thread pool.
//!
//! SQLite allows one writer at a time per database file, across all processes; readers never
//! block it in WAL mode. So each process keeps a single write connection (its writes queue here
//! rather than fight over the file lock) and a small pool of read-only connections for the API hot
//! path. Other processes' writers are waited for by SQLite's busy handler (`busy_timeout`).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode, OpenFlags};
use tokio::sync::Semaphore;

use super::errors::SqlResultExt;
use crate::{CatalogError, Result};

/// How long a connection waits for another connection's (or process's) lock before giving up
/// with `Unavailable`.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Prepared statements kept per connection (`list_copies` alone has one variant per filter combination).
const STATEMENT_CACHE: usize = 64;

/// Connections of one kind (writer or readers): a free list guarded by a semaphore with one
/// permit per connection.
pub(crate) struct Slots {
    free: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
}

impl Slots {
    pub(crate) fn new(connections: Vec<Connection>) -> Arc<Slots> {
        let permits = Arc::new(Semaphore::new(connections.len()));
        Arc::new(Slots {
            free: Mutex::new(connections),
            permits,
        })
    }

    /// Runs `f` on a free connection on the blocking pool. The connection goes back to the free
    /// list even if `f` panics or the caller's future is dropped while `f` runs.
    pub(crate) async fn run<T, F>(self: &Arc<Self>, f: F) -> Result<T>
    where
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| CatalogError::Unavailable("catalog is closed".into()))?;
        let slots = Arc::clone(self);
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let Some(mut conn) = slots.lock().pop() else {
                return Err(CatalogError::Internal("connection pool is empty".into()));
            };
            // A panic unwinds through `f`, rolling back any open transaction on the way.
            let out = catch_unwind(AssertUnwindSafe(|| f(&mut conn)));
            slots.lock().push(conn);
            out.unwrap_or_else(|_| Err(CatalogError::Internal("catalog task panicked".into())))
        });
        task.await
            .map_err(|_| CatalogError::Internal("catalog task did not finish".into()))?
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        // Nothing panics while holding this lock, but stay usable if something ever does.
        self.free
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The connections of one [`super::SqliteCatalog`].
pub(crate) struct Pool {
    writer: Arc<Slots>,
    /// `None` when reads share the writer (an in-memory database has a single connection).
    readers: Option<Arc<Slots>>,
}

impl Pool {
    pub(crate) fn new(writer: Connection, readers: Vec<Connection>) -> Pool {
        let readers = if readers.is_empty() {
            None
        } else {
            Some(Slots::new(readers))
        };
        Pool {
            writer: Slots::new(vec![writer]),
            readers,
        }
    }

    /// Runs `f` on the write connection.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.writer.run(f).await
    }

    /// Runs `f` on a read-only connection.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.readers.as_ref().unwrap_or(&self.writer).run(f).await
    }
}

/// Opens a connection to `path` (`None`: a private in-memory database) with xbak's settings.
pub(crate) fn connect(path: Option<&Path>, read_only: bool) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = match path {
        Some(path) => Connection::open_with_flags(path, flags),
        None => Connection::open_in_memory(),
    }
    .db()?;
    conn.busy_timeout(BUSY_TIMEOUT).db()?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    if path.is_some() {
        // Persistent in the file; a no-op once set. Returns the mode, hence a query. Switching a
        // fresh file to WAL while another process does the same can fail with SQLITE_BUSY without
        // consulting the busy handler, so this step retries by itself.
        let mode: String =
            retry_busy(|| conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)))
                .db()?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(CatalogError::Internal(format!(
                "sqlite refused WAL mode (got {mode})"
            )));
        }
    }
    // Per connection. `synchronous = NORMAL` in WAL mode: a process crash loses nothing; a power
    // loss may undo the last commits, never consistency. No mmap: mapped pages count in the
    // server's resident memory once per connection (5 × the hot part of a 1M-copy catalog went
    // past 500 MB); an 8 MiB page cache each bounds the catalog's share to ~40 MB, and hot
    // listings are served from the server's listing cache anyway.
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -8192;
         PRAGMA mmap_size = 0;",
    )
    .db()?;
    // Keep one plan per prepared statement: without it SQLite re-plans a cached statement whose
    // bound LIMIT/OFFSET changed (~140 µs per listing call, measured by bench/run-server.sh).
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )
    .db()?;
    if read_only {
        conn.execute_batch("PRAGMA query_only = ON;").db()?;
    }
    Ok(conn)
}

/// Runs `f` until it stops failing with SQLITE_BUSY/LOCKED or [`BUSY_TIMEOUT`] has passed.
fn retry_busy<T>(mut f: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    loop {
        match f() {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(e.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            other => return other,
        }
    }
}
