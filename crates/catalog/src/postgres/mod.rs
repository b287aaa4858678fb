//! The PostgreSQL catalog: one database shared by any number of API servers, workers and CLI
//! commands, on any number of machines.
//!
//! Connections come from `deadpool-postgres` pools; statements are prepared once per connection.
//! The API's hot path reads on a few connections shared by concurrent callers, which pipeline their
//! statements ([`readers`]). Every multi-statement operation runs in one transaction (READ
//! COMMITTED, with row locks where a read decides a write: job claims take `FOR UPDATE SKIP
//! LOCKED`); a listing is one statement (one snapshot), or past a kept total's first page one
//! REPEATABLE READ snapshot. Times are BIGINT unix seconds, exactly as in SQLite, so both backends
//! return equal results.
//!
//! The change token: every counted write adds one to a random row of `catalog_changes` inside
//! its own transaction, so the sum moves exactly when such a write commits, in any process.
//! Quiet writes (nonces, heartbeats, resume checkpoints) do not touch it.

mod accounts;
mod agent;
mod backups;
mod binlogs;
mod bulk;
mod copies;
mod cross_instances;
mod cross_policy;
mod errors;
mod instances;
mod leases;
mod log_retention;
mod migrations;
mod nonces;
mod queue;
mod readers;
mod requests;
mod retention;
mod rows;

use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Transaction};
use rand::Rng;

use errors::{translate_pool, PgResultExt};

use crate::{CatalogError, Result, SeenNonce};
use xbak_domain::time::Timestamp;

/// Connections of the main pool (writes, and reads off the API's hot path): deadpool's default (two
/// per core of its machine), at least 4 and at most [`MOST_CONNECTIONS`]. Statements are short, so
/// more connections only queue inside PostgreSQL: on two cores with the database on the same
/// machine, 4 served a median 10 % more uncached listings a second than 8, with a lower p99 in 17
/// of 19 alternated rounds, and 2 served 12 % fewer (bench/results.md, 2026-12-07T08:03Z).
fn pool_size() -> usize {
    deadpool_postgres::PoolConfig::default()
        .max_size
        .clamp(4, MOST_CONNECTIONS)
}

/// Shared connections per process for the hot path's reads ([`readers`]): one per core (half of
/// [`pool_size`]), at least 2. A shared connection keeps its backend busy while statements
/// wait on it, so more would only queue inside PostgreSQL.
fn readers_size() -> usize {
    (pool_size() / 2).max(2)
}

/// The most connections of a process's main pool, so that a process takes at most 26 with the
/// shared readers and the claims' pool, whatever its machine.
const MOST_CONNECTIONS: usize = 16;

/// How long a call waits for a pooled connection, or for a new one to be made, before it fails
/// with `Unavailable`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections of the nonce pool: one replay-guard writer per server batches its claims.
const NONCE_POOL_SIZE: usize = 2;

/// A [`Catalog`](crate::Catalog) in a PostgreSQL database.
pub struct PostgresCatalog {
    pool: Pool,
    /// Connections whose commits do not wait for the WAL flush (`synchronous_commit = off`),
    /// for replay-nonce claims only: a claim is on every signed request's path, and a flush
    /// costs ~3.5 ms on this class of disk against ~0.1 ms without. What it risks is what
    /// SQLite's `synchronous = NORMAL` risks: a crash of the database server (not of xbak)
    /// may forget the claims of its last ~0.6 s (3 × `wal_writer_delay`); never consistency.
    nonce_pool: Pool,
    /// Shared connections for the hot path's one-statement reads (see [`readers`]).
    readers: readers::Readers,
}

impl PostgresCatalog {
    /// Connects to the database at `url` (`postgres://user@host:port/dbname?…`, as libpq
    /// takes it) and brings its schema up to date. Safe while other processes do the same.
    /// `Unavailable` if the server cannot be reached.
    pub async fn open(url: &str) -> Result<PostgresCatalog> {
        let mut config = tokio_postgres::Config::from_str(url).map_err(|e| {
            // The URL may hold a password: say what is wrong, not what was given.
            CatalogError::Internal(format!("invalid PostgreSQL URL: {e}"))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("xbak");
        }
        let mut nonce_config = config.clone();
        let options = match config.get_options() {
            Some(given) => format!("{given} -c synchronous_commit=off"),
            None => "-c synchronous_commit=off".to_string(),
        };
        nonce_config.options(&options);
        let catalog = PostgresCatalog {
            pool: build_pool(config.clone(), pool_size())?,
            nonce_pool: build_pool(nonce_config, NONCE_POOL_SIZE)?,
            readers: readers::Readers::new(build_pool(config, readers_size())?),
        };
        let mut client = catalog.client().await?;
        migrations::migrate(&mut client).await?;
        drop(client);
        Ok(catalog)
    }

    async fn client(&self) -> Result<Object> {
        self.pool.get().await.map_err(translate_pool)
    }
}

/// A pool of at most `size` connections made from `config`.
fn build_pool(config: tokio_postgres::Config, size: usize) -> Result<Pool> {
    let manager = Manager::from_config(
        config,
        tokio_postgres::NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .wait_timeout(Some(CONNECT_TIMEOUT))
        .create_timeout(Some(CONNECT_TIMEOUT))
        .build()
        .map_err(|e| CatalogError::Internal(format!("cannot build the connection pool: {e}")))
}

/// Starts a READ COMMITTED transaction.
async fn begin(client: &mut Object) -> Result<Transaction<'_>> {
    client.transaction().await.db()
}

/// Commits `tx`; a `counted` one moves the change token in the same transaction.
async fn commit(tx: Transaction<'_>, counted: bool) -> Result<()> {
    if counted {
        let slot = rand::rng().random_range(0..migrations::CHANGE_SLOTS);
        rows::execute(
            &tx,
            "UPDATE catalog_changes SET n = n + 1 WHERE slot = $1",
            &[&slot],
            || "change token".to_string(),
        )
        .await?;
    }
    tx.commit().await.db()
}

/// Runs `$body` (an expression using the transaction `$tx`, evaluating to a future of
/// `Result<T>`) in a transaction and commits it, counted (`write`) or not (`quiet`). On error the
/// transaction is dropped, which rolls it back.
macro_rules! transact {
    ($self:ident, $counted:expr, |$tx:ident| $body:expr) => {{
        let mut client = $self.client().await?;
        let $tx = begin(&mut client).await?;
        let out = $body.await?;
        commit($tx, $counted).await?;
        Ok(out)
    }};
}

macro_rules! write {
    ($self:ident, |$tx:ident| $body:expr) => {
        transact!($self, true, |$tx| $body)
    };
}

macro_rules! write_quiet {
    ($self:ident, |$tx:ident| $body:expr) => {
        transact!($self, false, |$tx| $body)
    };
}

/// Runs `$body` (using the pooled connection `$c`) outside any explicit transaction.
macro_rules! read {
    ($self:ident, |$c:ident| $body:expr) => {{
        let client = $self.client().await?;
        let $c = &client;
        $body.await
    }};
}

/// Serves one [`Catalog`](crate::Catalog) method of the list in `crate::methods` (see its docs
/// for the kinds).
macro_rules! forward {
    // The hot path reads on a shared connection; a `quick_snapshot` area function is given the
    // shared readers and the pool, for the snapshot it may need.
    (quick_read $self:ident $name:ident($($arg:ident),*) $($route:ident)::+($($pass:expr),*)) => {{
        let client = $self.readers.get().await?;
        $($route)::+(&*client, $($pass),*).await
    }};
    (quick_snapshot $self:ident $name:ident($($arg:ident),*) $($route:ident)::+($($pass:expr),*)) => {{
        $($route)::+(&$self.readers, &$self.pool, $($pass),*).await
    }};
    (read $self:ident $name:ident($($arg:ident),*) $($route:ident)::+($($pass:expr),*)) => {
        read!($self, |c| $($route)::+(c, $($pass),*))
    };
    (snapshot $self:ident $name:ident($($arg:ident),*) $($route:ident)::+($($pass:expr),*)) => {{
        let mut client = $self.client().await?;
        $($route)::+(&mut client, $($pass),*).await
    }};
    (write $self:ident $name:ident($($arg:ident),*) $($route:ident)::+($($pass:expr),*)) => {
        write!($self, |tx| $($route)::+(&tx, $($pass),*))
    };
    (quiet $self:ident $name:ident($($arg:ident),*) $($route:ident)::+($($pass:expr),*)) => {
        write_quiet!($self, |tx| $($route)::+(&tx, $($pass),*))
    };
    (by_hand $($call:tt)*) => {
        by_hand!($($call)*)
    };
}

catalog_methods!(implement_catalog! PostgresCatalog, forward);

/// The methods the list in `crate::methods` leaves to the adapter (`by_hand`).
impl PostgresCatalog {
    async fn claim_nonce_batch(&self, nonces: &[SeenNonce], now: Timestamp) -> Result<Vec<bool>> {
        if nonces.is_empty() {
            return Ok(Vec::new());
        }
        // One statement, so its own transaction: a single round trip on the hot path, on a
        // connection that does not wait for the WAL flush (see `nonce_pool`).
        let client = self.nonce_pool.get().await.map_err(translate_pool)?;
        nonces::claim_nonces(&client, nonces, now).await
    }

    /// Every claim is looked up in the `nonce_claims` table: nothing to read first.
    async fn load_nonce_claims(&self, _now: Timestamp) -> Result<u64> {
        Ok(0)
    }

    async fn claim_view_stats(&self) -> Result<crate::ClaimView> {
        Ok(crate::ClaimView::default())
    }

    async fn prune_nonce_claims(&self, now: Timestamp, limit: u32) -> Result<u64> {
        read!(self, |c| nonces::prune_nonces(c, now, limit))
    }

    async fn read_change_token(&self) -> Result<u64> {
        read!(self, |c| async {
            let row = rows::query_one(
                c,
                "SELECT COALESCE(SUM(n), 0)::BIGINT FROM catalog_changes",
                &[],
            )
            .await?;
            Ok(rows::get::<i64>(&row, 0)? as u64)
        })
    }

    async fn link_key(&self) -> Result<(String, String)> {
        if let Some(key) = read!(self, |c| nonces::read_link_signing_key(c))? {
            return Ok(key);
        }
        write!(self, |tx| nonces::create_link_signing_key(&tx))
    }
}
