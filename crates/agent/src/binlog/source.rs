//! The source side: a replica connection to the instance's server and what it lists.

use std::time::Duration;
use xbak_domain::Dsn;

use super::wire::ReplicaConnection;
use super::BinlogError;
use crate::db::{Endpoint, Session};

/// MariaDB's `MARIA_SLAVE_CAPABILITY_GTID`: the source then sends its GTID, GTID list,
/// annotate and checkpoint events as they are in the file, not replaced by dummies.
const MARIADB_SLAVE_CAPABILITY: u32 = 4;

/// `ER_MASTER_FATAL_ERROR_READING_BINLOG`: the source cannot send from the position asked for.
const FATAL_READING_BINLOG: u16 = 1236;

/// The source's binary logs, oldest first (`SHOW BINARY LOGS`: file name and size).
pub(super) async fn binary_logs(dsn: &Dsn) -> Result<Vec<(String, u64)>, BinlogError> {
    let mut s = Session::connect(&Endpoint::Tcp(dsn.clone())).await?;
    let rows: Vec<mysql_async::Row> = s.all("SHOW BINARY LOGS").await?;
    s.close().await;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let name: String = r.get(0)?;
            let size: u64 = r.get(1)?;
            Some((name, size))
        })
        .collect())
}

/// Opens a binlog stream from `file` at `offset`, as replica `server_id`, with heartbeats and
/// checksums as the source writes them.
pub(super) async fn open_stream(
    dsn: &Dsn,
    server_id: u32,
    file: &str,
    offset: u64,
    heartbeat: Duration,
) -> Result<ReplicaConnection, BinlogError> {
    let mut conn = ReplicaConnection::connect(dsn).await?;
    conn.execute(&format!(
        "SET @master_binlog_checksum = @@global.binlog_checksum, \
         @mariadb_slave_capability = {MARIADB_SLAVE_CAPABILITY}, \
         @master_heartbeat_period = {}",
        heartbeat.as_nanos()
    ))
    .await?;
    conn.dump(server_id, file, offset).await?;
    Ok(conn)
}

/// Whether the source refused to send from the position asked for (typically: its file was
/// purged). The caller checks the list of binary logs before calling it a gap.
pub(super) fn cannot_read_from(e: &BinlogError) -> bool {
    matches!(e, BinlogError::Replication(w) if w.server_code() == Some(FATAL_READING_BINLOG))
}
