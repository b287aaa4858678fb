//! The SQLite catalog: one database file shared by the `serve` process and CLI commands, and
//! beside it the replay guard's nonce claims in a file of their own (see `nonces`).
//!
//! WAL mode lets readers run beside the single writer; `busy_timeout` makes a writer wait for
//! another process's write instead of failing; every write is a `BEGIN IMMEDIATE` transaction, so
//! read-modify-write steps (claiming a job) take the write lock before they read.
//!
//! Each area has its own file of synchronous functions over a connection or transaction; this
//! file only moves them onto the blocking pool (or, for the `quick_` reads, runs them on the
//! caller's thread: `pool`).

mod accounts;
mod agent;
mod backups;
mod binlogs;
mod bulk;
mod carry;
mod checkpoint;
mod copies;
mod cross_instances;
mod cross_policy;
mod errors;
mod instances;
mod leases;
mod log_retention;
mod migrations;

mod nonces;
mod pool;
mod queue;
mod requests;
mod retention;
mod rows;

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use rusqlite::{Connection, Transaction, TransactionBehavior};

pub use bulk::BulkCopies;
use carry::{Carry, Lend};
use checkpoint::Checkpointer;
use errors::SqlResultExt;
use pool::{connect, Pool, Slots};

use crate::rules::{secs, wall_clock};
use crate::{CatalogError, Result, SeenNonce};
use xbak_domain::time::Timestamp;

/// Read connections per process. Reads are short; four keep two cores busy with room for waits.
const READERS: usize = 4;

/// Locks one of the nonces file's states (`nonces::ClaimLog`, `nonces::Upkeep`).
fn lock<T>(state: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Whether a write moves [`Catalog::change_token`](crate::Catalog::change_token).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Change {
    /// A change that cached reads may depend on.
    Counted,
    /// Bookkeeping no cached read depends on (heartbeats, lease renewals, resume checkpoints), so
    /// frequent writes of it do not invalidate the server's listing cache.
    Quiet,
}

/// A [`Catalog`](crate::Catalog) in one SQLite database file (and its nonces file).
pub struct SqliteCatalog {
    pool: Pool,
    /// Commits made through this handle's writer (`PRAGMA data_version` on the writer only
    /// sees other connections' commits).
    commits: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// The connection to the nonces file (see `nonces`) that claims use.
    nonces: std::sync::Arc<Slots>,
    /// The one the upkeep uses, so that claims need not wait while it reads a run (in memory:
    /// the same).
    upkeep: std::sync::Arc<Slots>,
    /// This process's view of the claims (`nonces::ClaimLog`).
    claims: std::sync::Arc<std::sync::Mutex<nonces::ClaimLog>>,
    /// The run this process is writing (`nonces::Upkeep`).
    upkeep_state: std::sync::Arc<std::sync::Mutex<nonces::Upkeep>>,
    /// The epoch this process's view is making of runs it did not read (`nonces::Backfill`).
    backfill: std::sync::Arc<std::sync::Mutex<nonces::Backfill>>,
    /// WAL checkpoints off the commit path, of the catalog and of the nonces file (file
    /// catalogs only).
    _checkpointers: Vec<Checkpointer>,
}

/// Creates the catalog file `0600` (it holds AccessKey secrets, the link-signing key and
/// credentials), or takes group and other permissions away from an existing one and from its
/// `-wal` and `-shm` files (SQLite creates those with the catalog's own mode). Whatever the umask.
fn make_private(path: &Path) -> Result<()> {
    let failed = |e: std::io::Error| {
        tracing::error!(error = %e, path = %path.display(), "cannot create the catalog file");
        CatalogError::Unavailable("cannot create the catalog file".into())
    };
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .map_err(failed)?;
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let Ok(meta) = std::fs::metadata(&file) else {
            continue;
        };
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(path = ?file, mode = format!("{mode:o}"), "the catalog was readable by other users; now 0600");
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                .map_err(failed)?;
        }
    }
    Ok(())
}

impl SqliteCatalog {
    /// Opens (creating if needed) the database at `path`, with its parent directory, and brings
    /// its schema up to date. Safe while other processes have it open.
    pub async fn open(path: &Path) -> Result<SqliteCatalog> {
        let path = path.to_path_buf();
        let opened = tokio::task::spawn_blocking(move || -> Result<SqliteCatalog> {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::DirBuilder::new().recursive(true).mode(0o700).create(parent).map_err(|e| {
                    tracing::error!(error = %e, path = %parent.display(), "cannot create catalog directory");
                    CatalogError::Unavailable("cannot create the catalog directory".into())
                })?;
            }
            make_private(&path)?;
            let nonces_path = nonces::nonces_path(&path);
            make_private(&nonces_path)?;
            let mut nonce_writer = connect(Some(&nonces_path), false)?;
            nonces::prepare(&mut nonce_writer)?;
            let mut writer = connect(Some(&path), false)?;
            let carried = nonces::carry_over(&writer, &mut nonce_writer)?;
            if carried > 0 {
                tracing::info!(claims = carried, "nonce claims moved to the nonces file");
            }
            migrations::migrate(&mut writer)?;
            let checkpointers = vec![
                Checkpointer::start(&path, &writer)?,
                Checkpointer::start(&nonces_path, &nonce_writer)?,
            ];
            let readers = (0..READERS).map(|_| connect(Some(&path), true)).collect::<Result<Vec<_>>>()?;
            let upkeep = connect(Some(&nonces_path), false)?;
            Ok(SqliteCatalog {
                pool: Pool::new(writer, readers),
                nonces: Slots::new(vec![nonce_writer]),
                upkeep: Slots::new(vec![upkeep]),
                claims: Default::default(),
                upkeep_state: Default::default(),
                backfill: Default::default(),
                commits: Default::default(),
                _checkpointers: checkpointers,
            })
        })
        .await
        .map_err(|_| CatalogError::Internal("opening the catalog did not finish".into()))??;
        Ok(opened)
    }

    /// A private, empty in-memory catalog on a single connection, and its nonces on a second
    /// (tests and tools).
    pub async fn open_in_memory() -> Result<SqliteCatalog> {
        let mut conn = connect(None, false)?;
        migrations::migrate(&mut conn)?;
        let mut nonce_conn = connect(None, false)?;
        nonces::prepare(&mut nonce_conn)?;
        let nonces = Slots::new(vec![nonce_conn]);
        Ok(SqliteCatalog {
            pool: Pool::new(conn, Vec::new()),
            upkeep: nonces.clone(),
            nonces,
            claims: Default::default(),
            upkeep_state: Default::default(),
            backfill: Default::default(),
            commits: Default::default(),
            _checkpointers: Vec::new(),
        })
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction on the writer; commits if it returns `Ok`,
    /// rolls back if it returns an error (of any type a [`CatalogError`] converts into).
    async fn write<T, E, F>(&self, change: Change, f: F) -> Result<T, E>
    where
        F: FnOnce(&Transaction<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<CatalogError> + Send + 'static,
    {
        let commits = self.commits.clone();
        self.pool
            .write(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .db()?;
                // An error drops `tx`, rolling it back.
                let out = match f(&tx) {
                    Ok(out) => out,
                    Err(e) => return Ok(Err(e)),
                };
                tx.commit().db()?;
                if change == Change::Counted {
                    commits.fetch_add(1, std::sync::atomic::Ordering::Release);
                }
                Ok(Ok(out))
            })
            .await
            .map_err(E::from)?
    }

    /// Runs `f` on a read connection.
    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.pool.read(move |conn| f(conn)).await
    }

    /// Runs `f`, a read of bounded cost, on a read connection on the calling thread
    /// ([`Pool::read_here`]).
    async fn read_here<T, F>(&self, f: F) -> Result<T>
    where
        F: Fn(&Connection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.pool.read_here(move |conn| f(conn)).await
    }
}

/// Runs `f` in a `BEGIN IMMEDIATE` transaction on `conn`; commits if it returns `Ok` (an error
/// drops the transaction, rolling it back).
fn immediate<T>(conn: &mut Connection, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .db()?;
    let out = f(&tx)?;
    tx.commit().db()?;
    Ok(out)
}

/// Serves one [`Catalog`](crate::Catalog) method of the list in `crate::methods` (see its docs
/// for the kinds):
/// carries the arguments onto the blocking pool and lends them to the area function there, on a
/// read connection or in a write transaction (a `quick_` read keeps them on the caller's thread
/// unless SQLite is busy).
macro_rules! forward {
    (read $($call:tt)*) => {
        forward!(@on read() $($call)*)
    };
    (snapshot $($call:tt)*) => {
        forward!(@on read() $($call)*)
    };
    (quick_read $($call:tt)*) => {
        forward!(@on read_here() $($call)*)
    };
    (quick_snapshot $($call:tt)*) => {
        forward!(@on read_here() $($call)*)
    };
    (write $($call:tt)*) => {
        forward!(@on write(Change::Counted) $($call)*)
    };
    (quiet $($call:tt)*) => {
        forward!(@on write(Change::Quiet) $($call)*)
    };
    (@on $how:ident($($change:expr)?) $self:ident $name:ident($($arg:ident),*) $($route:ident)::+($($pass:expr),*)) => {{
        $(let $arg = Carry::carry($arg);)*
        $self
            .$how($($change,)? move |db| {
                $(let $arg = Lend::lend(&$arg);)*
                $($route)::+(db, $($pass),*)
            })
            .await
    }};
    (by_hand $($call:tt)*) => {
        by_hand!($($call)*)
    };
}

catalog_methods!(implement_catalog! SqliteCatalog, forward);

/// The methods the list in `crate::methods` leaves to the adapter (`by_hand`).
impl SqliteCatalog {
    async fn read_change_token(&self) -> Result<u64> {
        let others: i64 = self
            .pool
            .write(|conn| {
                conn.pragma_query_value(None, "data_version", |r| r.get(0))
                    .db()
            })
            .await?;
        let ours = self.commits.load(std::sync::atomic::Ordering::Acquire);
        Ok((others as u64).wrapping_add(ours))
    }

    async fn claim_nonce_batch(&self, nonces: &[SeenNonce], now: Timestamp) -> Result<Vec<bool>> {
        if nonces.is_empty() {
            return Ok(Vec::new());
        }
        // On the calling thread, like the hot reads: a batch's commit writes the WAL without
        // syncing it, so it is short, and handing every batch to the blocking pool and back cost
        // more CPU than the claims (bench/results.md, 2026-12-05T21:50Z).
        let nonces = nonces.to_vec();
        let state = self.claims.clone();
        self.nonces
            .run_here_or_wait(move |conn| {
                // Busy here changes nothing: tried again, or waited for, with the view intact.
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .db()?;
                let mut view = lock(&state);
                let won = view
                    .claim(&tx, &nonces, now)
                    .and_then(|won| tx.commit().db().map(|()| won));
                if won.is_err() {
                    // What the view read in the transaction may be rolled back.
                    view.reset();
                }
                won
            })
            .await
    }

    /// Reads the finished runs into this process's view before its first claim
    /// (`nonces::ClaimLog::preload`), on the upkeep's connection; claims wait meanwhile.
    async fn load_nonce_claims(&self, now: Timestamp) -> Result<u64> {
        let view = self.claims.clone();
        self.upkeep
            .run(move |conn| lock(&view).preload(conn, now, nonces::EPOCH_CLAIMS))
            .await
    }

    /// What this process's view of the claims and its upkeep hold (`nonces::ClaimLog::memory`),
    /// and what the view's checks did (`nonces::ClaimLog::checks`).
    async fn claim_view_stats(&self) -> Result<crate::ClaimView> {
        let upkeep_run = lock(&self.upkeep_state).memory();
        let view = lock(&self.claims);
        Ok(crate::ClaimView {
            memory: crate::ClaimMemory {
                upkeep_run,
                ..view.memory()
            },
            checks: view.checks(),
        })
    }

    /// One step of the nonces file's upkeep (`nonces::Upkeep::step`) on the upkeep's own
    /// connection: a run started if one is due (a short transaction), the claims of the run being
    /// written read with no lock held, then one short transaction of writes and deletes.
    async fn prune_nonce_claims(&self, now: Timestamp, limit: u32) -> Result<u64> {
        let (state, backfill, view) = (
            self.upkeep_state.clone(),
            self.backfill.clone(),
            self.claims.clone(),
        );
        self.upkeep
            .run(move |conn| {
                // Read first: most steps find no run due, and then take no write lock for it.
                let wall = wall_clock();
                if nonces::due_run(conn, wall)?.is_some() {
                    immediate(conn, |tx| nonces::start_run_if_due(tx, wall))?;
                }
                let mut upkeep = lock(&state);
                upkeep.load(conn)?;
                let limit = u64::from(limit);
                let done = immediate(conn, |tx| upkeep.step(tx, secs(now), limit))?;
                if done >= limit {
                    return Ok(done);
                }
                // Spare time: a run the view did not read, into its own filters.
                Ok(done + lock(&backfill).step(conn, &view)?)
            })
            .await
    }

    async fn link_key(&self) -> Result<(String, String)> {
        if let Some(key) = self.read(nonces::read_link_signing_key).await? {
            return Ok(key);
        }
        self.write(Change::Counted, nonces::create_link_signing_key)
            .await
    }
}
