//! Scratch servers: a `mariadbd` that xbak starts on a data directory, on a free loopback port
//! and a private socket, to restore into or to verify a prepared physical set, then shuts down.

use super::RestoreError;
use crate::db::{Endpoint, Session};
use crate::tools::{signal, spawn_error, Tools};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

/// How long a scratch server may take to accept connections (crash recovery included).
const START_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a clean shutdown may take before the server is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(120);

/// A running scratch `mariadbd`. Dropping it kills the server; [`ScratchServer::shutdown`]
/// stops it cleanly (what a data directory that is kept needs).
pub struct ScratchServer {
    child: Child,
    run_dir: tempfile::TempDir,
    port: u16,
    datadir: PathBuf,
}

impl ScratchServer {
    /// Initialises an empty data directory with `mariadb-install-db` (root without a password,
    /// reachable on the socket only).
    pub async fn install(tools: &Tools, datadir: &Path) -> Result<(), RestoreError> {
        std::fs::create_dir_all(datadir)?;
        // Its own temporary directory: installs sharing /tmp at once fail now and then
        // ("Unknown table 'mysql.tmp_user_sys'").
        let tmp = tempfile::Builder::new()
            .prefix("xbak-install-")
            .tempdir_in("/tmp")?;
        let out = Command::new(&tools.mariadb_install_db)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", datadir.display()))
            .arg(format!("--tmpdir={}", tmp.path().display()))
            .args([
                "--user=root",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ])
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(spawn_error(&tools.mariadb_install_db))?;
        if !out.status.success() {
            return Err(RestoreError::Io(format!(
                "mariadb-install-db failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .rev()
                    .take(5)
                    .collect::<Vec<_>>()
                    .join(" | ")
            )));
        }
        Ok(())
    }

    /// Starts `mariadbd` on `datadir` and waits until it accepts connections.
    /// `skip_grant_tables` lets xbak in whatever accounts a restored physical set holds; the
    /// server then listens on 127.0.0.1 and its private socket only, for as long as the check.
    pub async fn start(
        tools: &Tools,
        datadir: &Path,
        skip_grant_tables: bool,
    ) -> Result<ScratchServer, RestoreError> {
        let run_dir = tempfile::Builder::new()
            .prefix("xbak-mysqld-")
            .tempdir_in("/tmp")?;
        let port = free_port()?;
        let datadir = std::fs::canonicalize(datadir)?;
        let mut cmd = Command::new(&tools.mariadbd);
        cmd.arg("--no-defaults")
            .arg(format!("--datadir={}", datadir.display()))
            .arg(format!("--port={port}"))
            .arg("--bind-address=127.0.0.1")
            .arg(format!(
                "--socket={}",
                run_dir.path().join("mysqld.sock").display()
            ))
            .arg(format!(
                "--pid-file={}",
                run_dir.path().join("mysqld.pid").display()
            ))
            .arg(format!(
                "--log-error={}",
                run_dir.path().join("error.log").display()
            ))
            .args([
                "--user=root",
                "--skip-log-bin",
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=256M",
                "--max-allowed-packet=1G",
            ]);
        if skip_grant_tables {
            cmd.arg("--skip-grant-tables");
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let child = cmd.spawn().map_err(spawn_error(&tools.mariadbd))?;
        let mut server = ScratchServer {
            child,
            run_dir,
            port,
            datadir,
        };
        server.wait_ready().await?;
        Ok(server)
    }

    async fn wait_ready(&mut self) -> Result<(), RestoreError> {
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(RestoreError::Io(format!(
                    "mariadbd on {} exited ({status}): {}",
                    self.datadir.display(),
                    self.error_log_tail()
                )));
            }
            if self.run_dir.path().join("mysqld.sock").exists() {
                if let Ok(s) = Session::connect(&self.endpoint()).await {
                    s.close().await;
                    return Ok(());
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(RestoreError::Io(format!(
                    "mariadbd on {} did not accept connections within {START_TIMEOUT:?}: {}",
                    self.datadir.display(),
                    self.error_log_tail()
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The last lines of the server's error log.
    pub fn error_log_tail(&self) -> String {
        std::fs::read_to_string(self.run_dir.path().join("error.log"))
            .unwrap_or_default()
            .lines()
            .rev()
            .take(6)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join(" | ")
    }

    /// Root on the private socket.
    pub fn endpoint(&self) -> Endpoint {
        Endpoint::Socket {
            path: self.run_dir.path().join("mysqld.sock"),
            user: "root".into(),
        }
    }

    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn datadir(&self) -> &Path {
        &self.datadir
    }

    /// Stops the server cleanly (SIGTERM, then waits); kills it after a timeout.
    pub async fn shutdown(mut self) -> Result<(), RestoreError> {
        if let Some(pid) = self.child.id() {
            signal(pid, libc::SIGTERM)?;
        }
        match tokio::time::timeout(STOP_TIMEOUT, self.child.wait()).await {
            Ok(status) => {
                let status = status?;
                if !status.success() {
                    tracing::warn!(%status, "scratch mariadbd exited uncleanly");
                }
                Ok(())
            }
            Err(_) => {
                self.child.kill().await.ok();
                Err(RestoreError::Io(format!(
                    "mariadbd on {} did not shut down within {STOP_TIMEOUT:?}; killed",
                    self.datadir.display()
                )))
            }
        }
    }
}

/// A free TCP port on 127.0.0.1 (free when asked; the server binds it right after).
pub fn free_port() -> std::io::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}
