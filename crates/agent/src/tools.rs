//! The MariaDB command-line tools xbak drives: where they are, how they get credentials (an
//! option file readable only by us, never the command line), and what to keep of their stderr.

use crate::db::Endpoint;
use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// Paths (or names looked up on `PATH`) of the tools.
#[derive(Debug, Clone)]
pub struct Tools {
    pub mariadb: PathBuf,
    pub mariadb_dump: PathBuf,
    pub mariabackup: PathBuf,
    pub mbstream: PathBuf,
    pub mariadbd: PathBuf,
    pub mariadb_install_db: PathBuf,
    pub mariadb_binlog: PathBuf,
}

impl Default for Tools {
    fn default() -> Self {
        Tools {
            mariadb: "mariadb".into(),
            mariadb_dump: "mariadb-dump".into(),
            mariabackup: "mariabackup".into(),
            mbstream: "mbstream".into(),
            mariadbd: find_sbin("mariadbd"),
            mariadb_install_db: "mariadb-install-db".into(),
            mariadb_binlog: "mariadb-binlog".into(),
        }
    }
}

/// Whether `tool` is an executable file, given as a path or found on `PATH`.
fn is_executable(tool: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let runnable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if tool.components().count() > 1 {
        return runnable(tool);
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| runnable(&dir.join(tool))))
}

/// `mariadbd` lives in `/usr/sbin`, which is not on every `PATH`.
fn find_sbin(name: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/local/sbin", "/usr/local/mysql/bin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    name.into()
}

/// A tool could not be run or failed.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("cannot run {tool}: {error} (is it installed? see .ci/db-tools.sh)")]
    Spawn { tool: String, error: std::io::Error },
    #[error("{tool} failed ({status}): {stderr}")]
    Failed {
        tool: String,
        status: String,
        stderr: String,
    },
    #[error("{0}")]
    Io(String),
}

impl Tools {
    /// The tools that cannot be found (not an executable path, nor on `PATH`).
    pub fn missing(&self) -> Vec<String> {
        [
            &self.mariadb,
            &self.mariadb_dump,
            &self.mariabackup,
            &self.mbstream,
            &self.mariadbd,
            &self.mariadb_install_db,
            &self.mariadb_binlog,
        ]
        .into_iter()
        .filter(|t| !is_executable(t))
        .map(|t| t.display().to_string())
        .collect()
    }

    /// `tool --version`, first line (e.g. `mariadb-dump from 11.x …`).
    pub async fn version(&self, tool: &Path) -> Result<String, ToolError> {
        let out = tokio::process::Command::new(tool)
            .arg("--version")
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|error| ToolError::Spawn {
                tool: tool.display().to_string(),
                error,
            })?;
        // mariabackup prints its version on stderr.
        let text = if out.stdout.is_empty() {
            out.stderr
        } else {
            out.stdout
        };
        let text = String::from_utf8_lossy(&text);
        Ok(text
            .lines()
            .rfind(|l| l.contains("Ver") || l.contains("based on"))
            .or_else(|| text.lines().next())
            .unwrap_or("")
            .trim()
            .to_owned())
    }
}

/// A `--defaults-extra-file` holding the connection options (mode 0600), removed on drop.
pub struct OptionFile {
    file: tempfile::NamedTempFile,
}

impl OptionFile {
    /// An option file with `[client]` (read by `mariadb`, `mariadb-dump`) and `[mariabackup]`
    /// groups for `endpoint`.
    pub fn for_endpoint(endpoint: &Endpoint) -> Result<OptionFile, ToolError> {
        let body = endpoint.client_options();
        let text = format!("[client]\n{body}\n[mariabackup]\n{body}");
        let mut file = tempfile::Builder::new()
            .prefix("xbak-client-")
            .suffix(".cnf")
            .tempfile()
            .map_err(|e| ToolError::Io(format!("creating an option file: {e}")))?;
        // NamedTempFile is created 0600.
        file.write_all(text.as_bytes())
            .and_then(|_| file.flush())
            .map_err(|e| ToolError::Io(format!("writing an option file: {e}")))?;
        Ok(OptionFile { file })
    }

    /// `--defaults-extra-file=PATH`: must be the first argument of the tool.
    pub fn arg(&self) -> String {
        format!("--defaults-extra-file={}", self.file.path().display())
    }
}

/// The last lines a tool wrote on stderr, for error messages.
#[derive(Debug, Default, Clone)]
pub struct StderrTail {
    lines: VecDeque<String>,
}

impl StderrTail {
    const KEEP: usize = 12;

    /// The tail of a finished tool's captured stderr.
    pub fn from_output(stderr: &[u8]) -> StderrTail {
        let mut tail = StderrTail::default();
        for line in String::from_utf8_lossy(stderr).lines() {
            tail.push(line);
        }
        tail
    }

    pub fn push(&mut self, line: &str) {
        if self.lines.len() == Self::KEEP {
            self.lines.pop_front();
        }
        self.lines.push_back(line.trim_end().to_owned());
    }

    pub fn text(&self) -> String {
        self.lines.iter().cloned().collect::<Vec<_>>().join(" | ")
    }
}

/// Checks a finished tool's exit status.
pub fn check_status(
    tool: &str,
    status: std::process::ExitStatus,
    tail: &StderrTail,
) -> Result<(), ToolError> {
    if status.success() {
        Ok(())
    } else {
        Err(ToolError::Failed {
            tool: tool.to_owned(),
            status: status.to_string(),
            stderr: tail.text(),
        })
    }
}

/// What [`widen_pipe`] asks for: Linux's default cap for unprivileged processes
/// (`/proc/sys/fs/pipe-max-size`).
const PIPE_SIZE: libc::c_int = 1024 * 1024;

/// Widens the pipe behind `fd` (a tool's stdout) from the default 64 KiB to 1 MiB, so the tool
/// keeps writing while the reader is busy handing a part on (measured: `mariabackup --stream`
/// of 1.3 GB into 8 MiB parts, 5.1 s with 64 KiB, 3.2 s with 1 MiB). Best effort: a refusal
/// leaves the pipe as it was.
pub fn widen_pipe(fd: &impl std::os::fd::AsRawFd) {
    // SAFETY: fcntl(2) F_SETPIPE_SZ takes the descriptor and an integer; no memory is shared.
    let rc = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_SIZE) };
    if rc < 0 {
        tracing::debug!(error = %std::io::Error::last_os_error(), "cannot widen the tool's pipe");
    }
}

/// Sends `signal` to `pid`.
pub fn signal(pid: u32, signal: libc::c_int) -> std::io::Result<()> {
    // SAFETY: kill(2) takes plain integers and has no memory effects in this process.
    let rc = unsafe { libc::kill(pid as libc::pid_t, signal) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Waits (up to `timeout`) until `pid` is stopped (`T` in `/proc/PID/stat`).
pub async fn wait_stopped(pid: u32, timeout: std::time::Duration) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Ok(stat) = tokio::fs::read_to_string(format!("/proc/{pid}/stat")).await {
            // pid (comm) state ...: comm may hold spaces, so read after the last ')'.
            if let Some(state) = stat
                .rsplit(')')
                .next()
                .and_then(|r| r.split_whitespace().next())
            {
                if state == "T" || state == "t" {
                    return true;
                }
            }
        } else {
            return false;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
}

/// `tool` as one end of a pipe: stdin and stdout as given, stderr piped (for a
/// [`StderrTail`]), killed when dropped.
pub fn pipe_command(tool: &Path, stdin: Stdio, stdout: Stdio) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(tool);
    cmd.stdin(stdin)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// A closure-friendly spawn error.
pub fn spawn_error(tool: &Path) -> impl FnOnce(std::io::Error) -> ToolError + '_ {
    move |error| ToolError::Spawn {
        tool: tool.display().to_string(),
        error,
    }
}
