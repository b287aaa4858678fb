//! Talking SQL to a MySQL-family server (`mysql_async`), for metadata only: versions, table
//! lists, row counts and `CHECKSUM TABLE`, snapshots. Data moves through the real tools.

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder};
use serde::{Deserialize, Serialize};
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

/// A SQL failure, with the statement's purpose (never a password: DSNs are shown redacted).
#[derive(Debug, thiserror::Error)]
#[error("{what} on {endpoint}: {source}")]
pub struct SqlError {
    pub what: String,
    pub endpoint: String,
    #[source]
    pub source: mysql_async::Error,
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

    pub async fn exec(&mut self, sql: &str) -> Result<(), SqlError> {
        let what = first_words(sql);
        let endpoint = self.endpoint.clone();
        self.conn.query_drop(sql).await.map_err(|source| SqlError {
            what,
            endpoint,
            source,
        })
    }

    pub async fn first<T: mysql_async::prelude::FromRow + Send + 'static>(
        &mut self,
        sql: &str,
    ) -> Result<Option<T>, SqlError> {
        let what = first_words(sql);
        let endpoint = self.endpoint.clone();
        self.conn.query_first(sql).await.map_err(|source| SqlError {
            what,
            endpoint,
            source,
        })
    }

    pub async fn all<T: mysql_async::prelude::FromRow + Send + 'static>(
        &mut self,
        sql: &str,
    ) -> Result<Vec<T>, SqlError> {
        let what = first_words(sql);
        let endpoint = self.endpoint.clone();
        self.conn.query(sql).await.map_err(|source| SqlError {
            what,
            endpoint,
            source,
        })
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
            "SELECT TABLE_SCHEMA, TABLE_NAME, COALESCE(ENGINE, '') FROM information_schema.TABLES
             WHERE TABLE_TYPE = 'BASE TABLE' AND {filter} ORDER BY TABLE_SCHEMA, TABLE_NAME"
        );
        let rows: Vec<(String, String, String)> = self.all(&sql).await?;
        Ok(rows
            .into_iter()
            .map(|(schema, name, engine)| TableRef {
                schema,
                name,
                engine,
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
            let name = format!("{}.{}", quote_ident(&t.schema), quote_ident(&t.name));
            let checksum: Option<(String, Option<u64>)> =
                self.first(&format!("CHECKSUM TABLE {name}")).await?;
            let checksum = checksum.and_then(|(_, c)| c);
            let rows = match checksum {
                // CHECKSUM TABLE answers NULL for a missing table instead of failing.
                None => None,
                Some(_) => {
                    self.first::<u64>(&format!("SELECT COUNT(*) FROM {name}"))
                        .await?
                }
            };
            out.push(TableState {
                schema: t.schema.clone(),
                name: t.name.clone(),
                engine: t.engine.clone(),
                rows,
                checksum,
            });
        }
        Ok(out)
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
    fn option_files_carry_the_password_quoted() {
        let e = Endpoint::Tcp(Dsn::parse("mysql://u:p%22w@127.0.0.1:3307").unwrap());
        let o = e.client_options();
        assert!(o.contains("password=\"p\\\"w\"\n"), "{o}");
        assert!(o.contains("port=3307\n"));
        assert!(!format!("{e:?}").contains("p\"w"));
    }
}
