//! Talking SQL to a MySQL-family server (`mysql_async`), for metadata only: versions, table
//! lists, row counts and `CHECKSUM TABLE`, snapshots. Data moves through the real tools.

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use xbak_domain::Dsn;

/// Schemas that are never part of a manifest: the server's own.
pub const SYSTEM_SCHEMAS: [&str; 4] = ["mysql", "information_schema", "performance_schema", "sys"];

/// Where a server is reached: over TCP with a DSN, or over a local socket as `user` (the scratch
/// servers xbak starts itself).
#[derive(Clone, PartialEq, Eq)]
pub enum Endpoint {
    Tcp(Dsn),
    Socket { path: PathBuf, user: String },
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Tcp(dsn) => write!(f, "{dsn}"),
            Endpoint::Socket { path, user } => write!(f, "{user}@unix:{}", path.display()),
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

impl Endpoint {
    /// The `[client]` option-file lines the command-line tools read (`--defaults-extra-file`),
    /// so that no password appears on a command line.
    pub fn client_options(&self) -> String {
        let mut s = String::new();
        match self {
            Endpoint::Tcp(dsn) => {
                s.push_str(&format!("user={}\n", option_value(&dsn.user)));
                if let Some(p) = &dsn.password {
                    s.push_str(&format!("password={}\n", option_value(p)));
                }
                s.push_str(&format!(
                    "host={}\nport={}\nprotocol=TCP\n",
                    dsn.host, dsn.port
                ));
            }
            Endpoint::Socket { path, user } => {
                s.push_str(&format!(
                    "user={}\nsocket={}\nprotocol=SOCKET\n",
                    option_value(user),
                    path.display()
                ));
            }
        }
        s
    }
}

/// A value for an option file: quoted, with `\` and `"` escaped.
fn option_value(v: &str) -> String {
    format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A row type a query can return.
pub trait Row: mysql_async::prelude::FromRow + Send + 'static {}
impl<T: mysql_async::prelude::FromRow + Send + 'static> Row for T {}

/// A SQL failure, with the statement's purpose (never a password: DSNs are shown redacted).
#[derive(Debug, thiserror::Error)]
#[error("{what} on {endpoint}: {source}")]
pub struct SqlError {
    pub what: String,
    pub endpoint: String,
    #[source]
    pub source: mysql_async::Error,
}

impl SqlError {
    /// The server said the table does not exist (`ER_NO_SUCH_TABLE`, 1146).
    pub fn is_no_such_table(&self) -> bool {
        matches!(&self.source, mysql_async::Error::Server(e) if e.code == 1146)
    }
}

/// One connection and the endpoint it came from (for error messages).
pub struct Session {
    pub conn: Conn,
    endpoint: String,
}

impl Session {
    pub async fn connect(endpoint: &Endpoint) -> Result<Session, SqlError> {
        let opts = match endpoint {
            Endpoint::Tcp(dsn) => OptsBuilder::default()
                .ip_or_hostname(dsn.host.clone())
                .tcp_port(dsn.port)
                .user(Some(dsn.user.clone()))
                .pass(dsn.password.clone())
                .prefer_socket(false),
            Endpoint::Socket { path, user } => OptsBuilder::default()
                .socket(Some(path.display().to_string()))
                .user(Some(user.clone())),
        };
        let name = endpoint.to_string();
        let conn = Conn::new(opts).await.map_err(|source| SqlError {
            what: "connecting".into(),
            endpoint: name.clone(),
            source,
        })?;
        Ok(Session {
            conn,
            endpoint: name,
        })
    }

    /// Turns a driver error of `sql` into a [`SqlError`] naming the statement and the server.
    fn error_of(&self, sql: &str) -> impl FnOnce(mysql_async::Error) -> SqlError {
        let what = first_words(sql);
        let endpoint = self.endpoint.clone();
        move |source| SqlError {
            what,
            endpoint,
            source,
        }
    }

    /// Runs `sql`, dropping any result.
    pub async fn exec(&mut self, sql: &str) -> Result<(), SqlError> {
        let error = self.error_of(sql);
        self.conn.query_drop(sql).await.map_err(error)
    }

    /// The first row of `sql`'s result, if any.
    pub async fn first<T: Row>(&mut self, sql: &str) -> Result<Option<T>, SqlError> {
        let error = self.error_of(sql);
        self.conn.query_first(sql).await.map_err(error)
    }

    /// Every row of `sql`'s result.
    pub async fn all<T: Row>(&mut self, sql: &str) -> Result<Vec<T>, SqlError> {
        let error = self.error_of(sql);
        self.conn.query(sql).await.map_err(error)
    }

    /// `SELECT VERSION()`.
    pub async fn version(&mut self) -> Result<String, SqlError> {
        Ok(self
            .first::<String>("SELECT VERSION()")
            .await?
            .unwrap_or_default())
    }

    /// Opens a consistent snapshot (REPEATABLE READ) on this session; later reads see the data
    /// as of this moment. Returns the server's UTC time inside the snapshot.
    pub async fn start_snapshot(&mut self) -> Result<chrono::DateTime<chrono::Utc>, SqlError> {
        self.exec("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .await?;
        self.exec("START TRANSACTION WITH CONSISTENT SNAPSHOT")
            .await?;
        let now: Option<String> = self
            .first("SELECT DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%dT%H:%i:%s.%fZ')")
            .await?;
        let now = now.unwrap_or_default();
        chrono::DateTime::parse_from_rfc3339(&now)
            .map(|t| t.with_timezone(&chrono::Utc))
            .map_err(|_| SqlError {
                what: format!("reading UTC_TIMESTAMP (got {now:?})"),
                endpoint: self.endpoint.clone(),
                source: mysql_async::Error::Other("unparsable time".into()),
            })
    }

    /// Base tables outside the system schemas (or of `database` only), sorted.
    pub async fn user_tables(&mut self, database: Option<&str>) -> Result<Vec<TableRef>, SqlError> {
        let excluded = SYSTEM_SCHEMAS
            .iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let filter = match database {
            Some(db) => format!("TABLE_SCHEMA = {}", quote_string(db)),
            None => format!("TABLE_SCHEMA NOT IN ({excluded})"),
        };
        let sql = format!(
            "SELECT TABLE_SCHEMA, TABLE_NAME, COALESCE(ENGINE, ''),
                    COALESCE(DATA_LENGTH, 0) + COALESCE(INDEX_LENGTH, 0)
             FROM information_schema.TABLES
             WHERE TABLE_TYPE = 'BASE TABLE' AND {filter} ORDER BY TABLE_SCHEMA, TABLE_NAME"
        );
        let rows: Vec<(String, String, String, u64)> = self.all(&sql).await?;
        Ok(rows
            .into_iter()
            .map(|(schema, name, engine, size)| TableRef {
                schema,
                name,
                engine,
                size_bytes: Some(size),
            })
            .collect())
    }

    /// Whether a database exists.
    pub async fn database_exists(&mut self, database: &str) -> Result<bool, SqlError> {
        let sql = format!(
            "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = {}",
            quote_string(database)
        );
        Ok(self.first::<u64>(&sql).await?.unwrap_or(0) > 0)
    }

    /// Row count and `CHECKSUM TABLE` of each table, in this session (inside its snapshot, if
    /// one is open). A table that does not exist has no row count: `rows` is `None`.
    pub async fn table_states(&mut self, tables: &[TableRef]) -> Result<Vec<TableState>, SqlError> {
        let mut out = Vec::with_capacity(tables.len());
        for t in tables {
            let checksum = self.checksum_table(t).await?;
            let rows = match checksum {
                // CHECKSUM TABLE answers NULL for a missing table instead of failing.
                None => None,
                Some(_) => self.row_count(t).await?,
            };
            out.push(t.state(rows, checksum));
        }
        Ok(out)
    }

    /// `CHECKSUM TABLE`; `None` when the table does not exist.
    pub async fn checksum_table(&mut self, t: &TableRef) -> Result<Option<u64>, SqlError> {
        let checksum: Option<(String, Option<u64>)> = self
            .first(&format!("CHECKSUM TABLE {}", t.quoted()))
            .await?;
        Ok(checksum.and_then(|(_, c)| c))
    }

    /// `SELECT COUNT(*)` (an error if the table does not exist).
    pub async fn row_count(&mut self, t: &TableRef) -> Result<Option<u64>, SqlError> {
        self.first::<u64>(&format!("SELECT COUNT(*) FROM {}", t.quoted()))
            .await
    }

    /// `information_schema.TABLES.DATA_LENGTH` of each of `tables`, in their order (0 when the
    /// server does not say or the table is gone): an estimate of what reading it costs.
    pub async fn data_lengths(&mut self, tables: &[TableRef]) -> Result<Vec<u64>, SqlError> {
        let excluded = SYSTEM_SCHEMAS
            .iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT TABLE_SCHEMA, TABLE_NAME, COALESCE(DATA_LENGTH, 0) FROM information_schema.TABLES
             WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN ({excluded})"
        );
        let rows: Vec<(String, String, u64)> = self.all(&sql).await?;
        let sizes: HashMap<(String, String), u64> = rows
            .into_iter()
            .map(|(schema, name, size)| ((schema, name), size))
            .collect();
        Ok(tables
            .iter()
            .map(|t| {
                sizes
                    .get(&(t.schema.clone(), t.name.clone()))
                    .copied()
                    .unwrap_or(0)
            })
            .collect())
    }

    /// Binary log coordinates consistent with this session's snapshot (MariaDB's
    /// `binlog_snapshot_*`), when the server writes a binary log.
    pub async fn snapshot_binlog_position(&mut self) -> Result<Option<BinlogPosition>, SqlError> {
        let log_bin: Option<u64> = self.first("SELECT @@log_bin").await?;
        if log_bin != Some(1) {
            return Ok(None);
        }
        let rows: Vec<(String, String)> = self.all("SHOW STATUS LIKE 'binlog_snapshot_%'").await?;
        let get = |k: &str| {
            rows.iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.clone())
        };
        let gtid: Option<String> = self.first("SELECT @@gtid_binlog_pos").await?;
        Ok(Some(BinlogPosition {
            file: get("binlog_snapshot_file").unwrap_or_default(),
            position: get("binlog_snapshot_position")
                .and_then(|p| p.parse().ok())
                .unwrap_or(0),
            gtid: gtid.unwrap_or_default(),
        }))
    }

    pub async fn close(self) {
        if let Err(e) = self.conn.disconnect().await {
            tracing::debug!(error = %e, "closing a database session");
        }
    }
}

/// What [`Session::table_states`] answers, with the work spread over `sessions` and read
/// concurrently; in `tables`' order.
///
/// The unit of work is one statement: each table's `CHECKSUM TABLE` and its `COUNT(*)` are two
/// pieces, so one big table's two scans run side by side too. Pieces are dealt out largest
/// first, each to the least-loaded session ([`split_by_size`]); a checksum weighs the table's
/// `sizes` entry ([`Session::data_lengths`]), a count half of it (it may scan a smaller index
/// and computes no CRC).
///
/// Each session reads in its own snapshot, if it has one open: the caller must make sure those
/// snapshots see the same committed state (opened while no transaction could commit), or the
/// result mixes instants.
pub async fn table_states_in_sessions(
    sessions: &mut [Session],
    tables: &[TableRef],
    sizes: &[u64],
) -> Result<Vec<TableState>, SqlError> {
    #[derive(Clone, Copy)]
    enum Piece {
        Checksum(usize),
        Count(usize),
    }
    let pieces: Vec<Piece> = (0..tables.len())
        .map(Piece::Checksum)
        .chain((0..tables.len()).map(Piece::Count))
        .collect();
    let weights: Vec<u64> = pieces
        .iter()
        .map(|p| match *p {
            Piece::Checksum(i) => sizes.get(i).copied().unwrap_or(0),
            Piece::Count(i) => sizes.get(i).copied().unwrap_or(0) / 2,
        })
        .collect();
    let groups = split_by_size(&weights, sessions.len().max(1));
    let mut checksums: Vec<Option<u64>> = vec![None; tables.len()];
    // `Err`: the table does not exist (kept: it matters only if its checksum says it does).
    let mut counts: Vec<Option<Result<Option<u64>, SqlError>>> =
        (0..tables.len()).map(|_| None).collect();
    let work = sessions.iter_mut().zip(groups).map(|(session, group)| {
        let pieces = &pieces;
        async move {
            let mut done = Vec::with_capacity(group.len());
            for p in group.into_iter().map(|g| pieces[g]) {
                match p {
                    Piece::Checksum(i) => {
                        let c = session.checksum_table(&tables[i]).await?;
                        done.push((p, Ok(c)));
                    }
                    Piece::Count(i) => match session.row_count(&tables[i]).await {
                        Ok(n) => done.push((p, Ok(n))),
                        Err(e) if e.is_no_such_table() => done.push((p, Err(e))),
                        Err(e) => return Err(e),
                    },
                }
            }
            Ok::<_, SqlError>(done)
        }
    });
    for (piece, result) in futures::future::try_join_all(work)
        .await?
        .into_iter()
        .flatten()
    {
        match piece {
            Piece::Checksum(i) => checksums[i] = result.ok().flatten(),
            Piece::Count(i) => counts[i] = Some(result),
        }
    }
    let mut out = Vec::with_capacity(tables.len());
    for ((t, checksum), count) in tables.iter().zip(checksums).zip(counts) {
        // As in `table_states`: no checksum (a missing table), no row count.
        let rows = match checksum {
            None => None,
            Some(_) => count.expect("every table was counted")?,
        };
        out.push(t.state(rows, checksum));
    }
    Ok(out)
}

/// Splits item indices `0..sizes.len()` into `k` groups of similar total size: largest first,
/// each to the group with the least so far (ties: the earlier item, the lower group). Every
/// item counts one byte more than its size, so empty tables spread too.
pub fn split_by_size(sizes: &[u64], k: usize) -> Vec<Vec<usize>> {
    let k = k.max(1);
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(sizes[i]), i));
    let mut groups = vec![Vec::new(); k];
    let mut loads = vec![0u64; k];
    for i in order {
        let g = (0..k)
            .min_by_key(|&g| (loads[g], g))
            .expect("at least one group");
        loads[g] = loads[g].saturating_add(sizes[i]).saturating_add(1);
        groups[g].push(i);
    }
    groups
}

fn first_words(sql: &str) -> String {
    sql.split_whitespace().take(4).collect::<Vec<_>>().join(" ")
}

/// `` `name` `` with backticks doubled.
pub fn quote_ident(s: &str) -> String {
    format!("`{}`", s.replace('`', "``"))
}

/// `'text'` with quotes and backslashes escaped.
pub fn quote_string(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

/// A table to account for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRef {
    pub schema: String,
    pub name: String,
    pub engine: String,
    /// Data and index length when the table was listed (`information_schema.TABLES`).
    pub size_bytes: Option<u64>,
}

impl TableRef {
    /// `` `schema`.`name` ``.
    fn quoted(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.name))
    }

    fn state(&self, rows: Option<u64>, checksum: Option<u64>) -> TableState {
        TableState {
            schema: self.schema.clone(),
            name: self.name.clone(),
            engine: self.engine.clone(),
            rows,
            checksum,
            size_bytes: self.size_bytes,
        }
    }
}

/// A table's contents at a point in time, as recorded in a manifest and checked after a restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableState {
    pub schema: String,
    pub name: String,
    pub engine: String,
    /// `SELECT COUNT(*)`; `None` when the table does not exist.
    pub rows: Option<u64>,
    /// `CHECKSUM TABLE` (MariaDB's row-by-row CRC; the same data in the same table definition
    /// on the same server version gives the same value).
    pub checksum: Option<u64>,
    /// Data and index length in bytes, as `information_schema.TABLES` reported it when the
    /// tables were listed for the set (what `DescribeCrossBackupMetaList` reports as `Size`);
    /// absent in manifests written before xbak recorded it. Not verified after a restore.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
}

/// A binary log position and the GTID position at the same point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BinlogPosition {
    pub file: String,
    pub position: u64,
    pub gtid: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_escapes_what_it_must() {
        assert_eq!(quote_ident("a`b"), "`a``b`");
        assert_eq!(quote_string("it's \\"), "'it''s \\\\'");
    }

    #[test]
    fn tables_are_split_largest_first_to_the_least_loaded_session() {
        // 100 alone; 60 then 30 then 5 and 0 fill the other two.
        let sizes = [5, 100, 0, 60, 30];
        assert_eq!(
            split_by_size(&sizes, 3),
            vec![vec![1], vec![3], vec![4, 0, 2]]
        );
        assert_eq!(split_by_size(&sizes, 1), vec![vec![1, 3, 4, 0, 2]]);
        // More sessions than tables: the extra ones get nothing.
        assert_eq!(split_by_size(&[0, 0], 3), vec![vec![0], vec![1], vec![]]);
        let all: usize = split_by_size(&sizes, 2).iter().map(Vec::len).sum();
        assert_eq!(all, sizes.len());
    }

    #[test]
    fn option_files_carry_the_password_quoted() {
        let e = Endpoint::Tcp(Dsn::parse("mysql://u:p%22w@127.0.0.1:3307").unwrap());
        let o = e.client_options();
        assert!(o.contains("password=\"p\\\"w\"\n"), "{o}");
        assert!(o.contains("port=3307\n"));
        assert!(!format!("{e:?}").contains("p\"w"));
    }
}
