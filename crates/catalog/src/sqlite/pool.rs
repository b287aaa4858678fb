//! Connections: one writer and a few readers, each used on tokio's blocking thread pool.
//!
//! SQLite allows one writer at a time per database file, across all processes; readers never
//! block it in WAL mode. So each process keeps a single write connection (its writes queue here
//! rather than fight over the file lock) and a small pool of read-only connections for the API hot
//! path. Other processes' writers are waited for by SQLite's busy handler (`busy_timeout`).
//!
//! Reads of bounded cost on the API's hot path (the `quick_` kinds of `crate::methods`) run on the
//! calling thread ([`Pool::read_here`]) rather than on the blocking pool: the hand-off there and
//! back (two thread wake-ups per read) and rows allocated on one thread and freed on another cost
//! more than the read itself. Measured on the uncached listing of a 1M-copy catalog, with the
//! server's allocator: 25 % less CPU per request (bench/results.md, 2026-12-05T06:30Z). Such a
//! read never waits for a lock there: it runs with no busy timeout, and when SQLite answers
//! busy (a WAL reader rarely is: another process recovering the WAL after a crash, or holding the
//! file in exclusive locking mode) it is done again on the blocking pool, which may wait.

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

/// Each connection's page cache, in KiB. A process has eight connections on its files (four
/// readers, the catalog's and the nonces file's writers, a checkpointer on each), so SQLite's
/// share of a server's memory stays under ~20 MB. With 8 MiB each it reached 57 MB after ten
/// minutes of the soak's mixed load and was still growing (the nonces file and the catalog are
/// larger than every cache), while the listing rate was the same with 1, 2 and 8 MiB (uncached on
/// 1M copies and cached): the API's reads are index lookups whose pages are mostly not cached
/// anyway, and hot listings are answered by the server's listing cache (bench/results.md,
/// 2026-12-05T09:20Z).
pub(crate) const PAGE_CACHE_KIB: i64 = 2048;

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
            slots.on_free_connection(f)
        });
        task.await
            .map_err(|_| CatalogError::Internal("catalog task did not finish".into()))?
    }

    /// Runs `f`, whose cost is bounded, on a free connection on the calling thread; where SQLite
    /// would make it wait (busy), on the blocking pool instead, where waiting is allowed (see the
    /// module docs).
    pub(crate) async fn run_here_or_wait<T, F>(self: &Arc<Self>, f: F) -> Result<T>
    where
        F: Fn(&mut Connection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        match self.run_here(&f).await? {
            Some(out) => Ok(out),
            None => self.run(f).await,
        }
    }

    /// Runs `f` on a free connection on the calling thread, with no busy timeout: `None` when it
    /// failed with a retryable error (SQLite busy), so that it can run again where waiting is
    /// allowed.
    async fn run_here<T, F>(&self, f: &F) -> Result<Option<T>>
    where
        F: Fn(&mut Connection) -> Result<T>,
    {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| CatalogError::Unavailable("catalog is closed".into()))?;
        let out = self.on_free_connection(|conn| {
            conn.busy_timeout(Duration::ZERO).db()?;
            // Caught here too, so that the timeout is restored before the connection goes back.
            let out = catch_unwind(AssertUnwindSafe(|| f(conn)));
            conn.busy_timeout(BUSY_TIMEOUT).db()?;
            out.unwrap_or_else(|_| Err(panicked()))
        });
        match out {
            Err(e) if e.is_retryable() => Ok(None),
            out => out.map(Some),
        }
    }

    /// Runs `f` on this thread on a connection from the free list (the caller holds a permit);
    /// the connection goes back even if `f` panics.
    fn on_free_connection<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let Some(mut conn) = self.lock().pop() else {
            return Err(CatalogError::Internal("connection pool is empty".into()));
        };
        // A panic unwinds through `f`, rolling back any open transaction on the way.
        let out = catch_unwind(AssertUnwindSafe(|| f(&mut conn)));
        self.lock().push(conn);
        out.unwrap_or_else(|_| Err(panicked()))
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
        self.readers().run(f).await
    }

    /// Runs `f`, a read of bounded cost, on a read-only connection on the calling thread; where
    /// SQLite would make it wait, on the blocking pool instead (see the module docs).
    pub(crate) async fn read_here<T, F>(&self, f: F) -> Result<T>
    where
        F: Fn(&mut Connection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.readers().run_here_or_wait(f).await
    }

    fn readers(&self) -> &Arc<Slots> {
        self.readers.as_ref().unwrap_or(&self.writer)
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
    // past 500 MB). The page cache: see [`PAGE_CACHE_KIB`].
    conn.execute_batch(&format!(
        "PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -{PAGE_CACHE_KIB};
         PRAGMA mmap_size = 0;"
    ))
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

fn panicked() -> CatalogError {
    CatalogError::Internal("catalog task panicked".into())
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread::ThreadId;

    /// A pool of one writer and one reader on a fresh file.
    fn pool(dir: &tempfile::TempDir) -> Pool {
        let path = dir.path().join("catalog.db");
        let writer = connect(Some(&path), false).unwrap();
        Pool::new(writer, vec![connect(Some(&path), true).unwrap()])
    }

    /// The thread a read ran on and the busy timeout (ms) its connection had meanwhile.
    fn where_and_timeout(conn: &Connection) -> (ThreadId, i64) {
        let timeout = conn
            .query_row("PRAGMA busy_timeout", [], |r| r.get(0))
            .unwrap();
        (std::thread::current().id(), timeout)
    }

    fn reader_timeout(pool: &Pool) -> i64 {
        let conn = pool.readers().lock();
        conn[0]
            .query_row("PRAGMA busy_timeout", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn every_connection_has_the_bounded_page_cache() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.db");
        for conn in [
            connect(Some(&path), false).unwrap(),
            connect(Some(&path), true).unwrap(),
            connect(None, false).unwrap(),
        ] {
            let kib: i64 = conn
                .query_row("PRAGMA cache_size", [], |r| r.get(0))
                .unwrap();
            // Negative: KiB rather than pages.
            assert_eq!(kib, -PAGE_CACHE_KIB);
        }
    }

    /// `.cargo/config.toml` builds SQLite with a page cache of its own per connection and no
    /// allocation statistics: both features of libsqlite3-sys's default build take a process-wide
    /// mutex on the catalog's hot reads.
    #[test]
    fn sqlite_is_built_without_its_global_mutexes() {
        let conn = connect(None, false).unwrap();
        let mut stmt = conn.prepare("PRAGMA compile_options").unwrap();
        let options: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(options.iter().any(|o| o == "THREADSAFE=1"), "{options:?}");
        assert!(
            !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
            "one page cache group for every connection: {options:?}"
        );
        assert!(
            options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
            "allocation statistics on: {options:?}"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_quick_read_runs_on_the_callers_thread_and_never_waits_there() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(&dir);
        let (ran_on, timeout) = pool.read_here(|c| Ok(where_and_timeout(c))).await.unwrap();
        assert_eq!(ran_on, std::thread::current().id());
        assert_eq!(
            timeout, 0,
            "a read on the caller's thread must not wait for locks"
        );
        assert_eq!(reader_timeout(&pool), BUSY_TIMEOUT.as_millis() as i64);
    }

    /// SQLite busy on the caller's thread: the read is done again on the blocking pool, where
    /// it may wait for the lock.
    #[tokio::test(flavor = "current_thread")]
    async fn a_quick_read_that_would_wait_is_done_again_on_the_blocking_pool() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(&dir);
        let calls = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&calls);
        let out = pool
            .read_here(move |c| {
                let mut calls = seen.lock().unwrap();
                calls.push(where_and_timeout(c));
                match calls.len() {
                    1 => Err(CatalogError::Unavailable("database is busy".into())),
                    _ => Ok(calls.len()),
                }
            })
            .await
            .unwrap();
        assert_eq!(out, 2);
        let calls = calls.lock().unwrap();
        let caller = std::thread::current().id();
        assert_eq!(calls[0], (caller, 0));
        assert_ne!(
            calls[1].0, caller,
            "the retry must leave the caller's thread"
        );
        assert_eq!(calls[1].1, BUSY_TIMEOUT.as_millis() as i64);
        assert_eq!(reader_timeout(&pool), BUSY_TIMEOUT.as_millis() as i64);
    }

    /// Errors that retrying cannot help and panics are reported, not retried, and the
    /// connection goes back to the pool with its busy timeout.
    #[tokio::test(flavor = "current_thread")]
    async fn a_quick_read_that_fails_or_panics_is_reported_once() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(&dir);
        let calls = Arc::new(Mutex::new(0));
        let seen = Arc::clone(&calls);
        let out: Result<()> = pool
            .read_here(move |_| {
                *seen.lock().unwrap() += 1;
                Err(CatalogError::Internal("corrupt".into()))
            })
            .await;
        assert!(matches!(out, Err(CatalogError::Internal(_))), "{out:?}");
        assert_eq!(*calls.lock().unwrap(), 1);
        let out: Result<()> = pool.read_here(|_| panic!("a bug")).await;
        assert!(matches!(out, Err(CatalogError::Internal(_))), "{out:?}");
        assert_eq!(reader_timeout(&pool), BUSY_TIMEOUT.as_millis() as i64);
        assert!(pool.read_here(|c| Ok(where_and_timeout(c))).await.is_ok());
    }
}
