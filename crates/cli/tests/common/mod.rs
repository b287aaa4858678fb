//! Black-box helpers: run the real `xbak` binary on a temp data dir.

#![allow(dead_code)]

mod binlog_source;
#[allow(unused_imports)] // only the binlog tests use it
pub use binlog_source::*;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub struct DataDir {
    pub dir: tempfile::TempDir,
    /// `--catalog` of every command (through `XBAK_CATALOG`); `None`: the data dir's SQLite file.
    pub catalog: Option<String>,
}

impl DataDir {
    pub fn new() -> DataDir {
        DataDir {
            dir: tempfile::tempdir().unwrap(),
            catalog: None,
        }
    }

    /// A data dir whose commands use the catalog at `url`.
    pub fn with_catalog(url: &str) -> DataDir {
        DataDir {
            catalog: Some(url.to_string()),
            ..DataDir::new()
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_xbak"));
        c.arg("--data-dir").arg(self.path()).args(args);
        c.env_remove("RUST_LOG");
        match &self.catalog {
            Some(url) => c.env("XBAK_CATALOG", url),
            None => c.env_remove("XBAK_CATALOG"),
        };
        c
    }

    /// Runs a command that must succeed; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        succeeded(args, self.cmd(args).output().unwrap())
    }

    /// Regions cn-hangzhou and cn-shanghai, account `alice`, eligible instance `rm-bb0001` with a
    /// policy to cn-shanghai. Returns (AccessKeyId, AccessKeySecret).
    pub fn seed(&self) -> (String, String) {
        self.seed_to(None)
    }

    /// [`seed`](Self::seed) with cn-shanghai on the given store URL (default: a local folder).
    pub fn seed_to(&self, dest_store: Option<&str>) -> (String, String) {
        self.seed_stores(None, dest_store)
    }

    /// [`seed`](Self::seed) with cn-hangzhou and cn-shanghai on the given store URLs (default:
    /// local folders).
    pub fn seed_stores(
        &self,
        source_store: Option<&str>,
        dest_store: Option<&str>,
    ) -> (String, String) {
        for (region, store) in [("cn-hangzhou", source_store), ("cn-shanghai", dest_store)] {
            match store {
                Some(url) => self.ok(&["region", "add", region, "--store", url]),
                None => self.ok(&["region", "add", region]),
            };
        }
        let out = self.ok(&["account", "create", "alice", "--json"]);
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(v["AccountName"], "alice");
        let mut instance = instance_args("rm-bb0001", "MySQL", "5.7");
        instance.extend(["--instance-number", "8161055"]);
        self.ok(&instance);
        self.ok(&POLICY_ARGS);
        (
            v["AccessKeyId"].as_str().unwrap().to_owned(),
            v["AccessKeySecret"].as_str().unwrap().to_owned(),
        )
    }

    /// Registers `file` as a physical full set of `rm-bb0001` started (and ended) at `start`.
    pub fn register(&self, file: &Path, start: &str) -> String {
        self.ok(&register_args(file.to_str().unwrap(), "P", start))
    }

    /// Visible (non-staging) files of a region folder.
    pub fn visible_files(&self, region: &str) -> Vec<PathBuf> {
        let root = self.path().join("regions").join(region);
        let mut out = Vec::new();
        walk(&root, &mut out);
        out.retain(|p| {
            let rel = p.strip_prefix(&root).unwrap();
            !rel.components()
                .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
                && !rel.to_string_lossy().contains('#')
        });
        out
    }
}

/// `policy set` of `rm-bb0001` to cn-shanghai, with a retention long enough that the fixed 2026
/// sets of the tests never expire.
pub const POLICY_ARGS: [&str; 7] = [
    "policy",
    "set",
    "rm-bb0001",
    "--cross-region",
    "cn-shanghai",
    "--retention-days",
    "1825",
];

pub fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// A port nothing listens on now and that no earlier call in this test process returned. The
/// tests of a file run in parallel: a port freed here could otherwise be handed to two of them
/// before either server bound it (CI saw a metrics scrape answered by another test's server).
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<std::collections::BTreeSet<u16>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if GIVEN.lock().unwrap_or_else(|e| e.into_inner()).insert(port) {
            return port;
        }
    }
}

/// A running `xbak serve`, killed on drop.
pub struct Server {
    pub child: Child,
    pub port: u16,
    /// Port of the metrics listener (`--metrics-listen`).
    pub metrics_port: u16,
}

impl Server {
    /// `xbak serve` on a free port, its stderr kept for the test to read.
    pub fn start(data: &DataDir) -> Server {
        Server::start_with(data, &[], Stdio::piped())
    }

    /// `xbak serve` on a free port with `extra` flags, once it accepts connections.
    pub fn start_with(data: &DataDir, extra: &[&str], stderr: Stdio) -> Server {
        let port = free_port();
        let metrics_port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let metrics = format!("127.0.0.1:{metrics_port}");
        let mut args = vec![
            "serve",
            "--listen",
            listen.as_str(),
            "--metrics-listen",
            metrics.as_str(),
        ];
        args.extend_from_slice(extra);
        let child = data
            .cmd(&args)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        wait_for_listener(port);
        Server {
            child,
            port,
            metrics_port,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The metrics listener's `/metrics`.
    pub fn metrics_url(&self) -> String {
        format!("http://127.0.0.1:{}/metrics", self.metrics_port)
    }
}

/// Calls `probe` every `every` until it returns `Ok`, and returns its value; after `within`,
/// fails the test with the last `Err` (what is still missing).
pub fn wait_until<T>(
    within: Duration,
    every: Duration,
    mut probe: impl FnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        match probe() {
            Ok(done) => return done,
            Err(missing) => assert!(Instant::now() < deadline, "{missing}"),
        }
        std::thread::sleep(every);
    }
}

/// Waits (at most 30 s) until something accepts connections on 127.0.0.1:`port`.
pub fn wait_for_listener(port: u16) {
    wait_until(Duration::from_secs(30), Duration::from_millis(50), || {
        std::net::TcpStream::connect(("127.0.0.1", port))
            .map(drop)
            .map_err(|_| "xbak serve did not start".to_owned())
    })
}

/// Starts `cmd` with its stdout and stderr discarded.
pub fn spawn_quiet(cmd: &mut Command) -> Child {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// A plain GET of `url`.
pub async fn http_get(url: &str) -> reqwest::Response {
    reqwest::get(url).await.unwrap()
}

/// Runs `xbak rds ACTION params…` against `server` as `(AccessKeyId, secret)`; returns the JSON
/// body.
pub fn rds(
    data: &DataDir,
    server: &Server,
    (ak, secret): (&str, &str),
    action: &str,
    params: &[&str],
) -> serde_json::Value {
    let mut args = vec!["rds", action];
    args.extend_from_slice(params);
    let url = server.url();
    args.extend(["--endpoint", url.as_str()]);
    let out = data
        .cmd(&args)
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", ak)
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", secret)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "xbak rds {action} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

impl Drop for Server {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// SHA-256 of a file through the system's `sha256sum`, so the test does not trust our own hashing.
pub fn sha256_file(p: &Path) -> String {
    let out = Command::new("sha256sum").arg(p).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

/// A file of `mb` MiB of pseudo-random bytes.
pub fn make_file(dir: &Path, name: &str, mb: usize) -> PathBuf {
    use std::io::Write;
    let p = dir.join(name);
    let mut f = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
    xbak_testkit::noise::write_noise(&mut f, mb, mb as u64).unwrap();
    f.flush().unwrap();
    p
}

/// `xbak instance create ID` of a high-availability, local-SSD instance of account `alice` in
/// cn-hangzhou with this engine and version.
pub fn instance_args<'a>(id: &'a str, engine: &'a str, version: &'a str) -> Vec<&'a str> {
    vec![
        "instance",
        "create",
        id,
        "--region",
        "cn-hangzhou",
        "--account",
        "alice",
        "--engine",
        engine,
        "--engine-version",
        version,
        "--category",
        "HighAvailability",
        "--storage-type",
        "local_ssd",
    ]
}

/// `xbak backup register rm-bb0001` of `file` as a full set by `method`, started, ended and
/// consistent at `start`.
pub fn register_args<'a>(file: &'a str, method: &'a str, start: &'a str) -> Vec<&'a str> {
    vec![
        "backup",
        "register",
        "rm-bb0001",
        "--file",
        file,
        "--method",
        method,
        "--type",
        "F",
        "--start",
        start,
        "--end",
        start,
        "--consistent",
        start,
    ]
}

/// Runs `cmd`, which must succeed (its stderr in the message if not), and returns its output.
pub fn output_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The stdout of `xbak args`, which must have succeeded (its output in the message if not).
pub fn succeeded(args: &[&str], out: Output) -> String {
    assert!(
        out.status.success(),
        "xbak {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Largest staging file under a region folder (how far a copy got).
pub fn staged_bytes(data: &DataDir, region: &str) -> u64 {
    let mut files = Vec::new();
    walk(&data.path().join("regions").join(region), &mut files);
    let visible = data.visible_files(region);
    files
        .iter()
        .filter(|p| !visible.contains(p))
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .max()
        .unwrap_or(0)
}

/// MariaDB on 127.0.0.1:3306, for the backup agent's tests.
pub const DSN: &str = "mysql://root@127.0.0.1:3306";

pub fn mariadb(sql: &str) {
    let mut cmd = std::process::Command::new("mariadb");
    cmd.args([
        "--protocol=TCP",
        "-h",
        "127.0.0.1",
        "-P",
        "3306",
        "-u",
        "root",
        "-e",
        sql,
    ]);
    succeeds(cmd, &format!("MariaDB must run on 127.0.0.1:3306: {sql}"));
}

/// Runs `cmd` (a MariaDB tool, installed by `bash .ci/db-tools.sh`), which must succeed;
/// `what` and its stderr explain a failure.
pub fn succeeds(mut cmd: std::process::Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e} (bash .ci/db-tools.sh installs the tools)"));
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub struct DropDatabase(pub String);

impl Drop for DropDatabase {
    fn drop(&mut self) {
        mariadb(&format!("DROP DATABASE IF EXISTS `{}`", self.0));
    }
}

/// `xbak instance create ID` of a MariaDB 10.11 HA instance in cn-hangzhou for account alice,
/// with `nodes` (instance numbers and DSNs); returns what it printed.
pub fn create_mariadb_instance(data: &DataDir, id: &str, nodes: &[&str]) -> String {
    let mut args = instance_args(id, "MariaDB", "10.11");
    args.extend_from_slice(nodes);
    data.ok(&args)
}

/// A fresh MariaDB database `db` holding a 1000-row InnoDB table `t`, dropped with the guard.
#[must_use]
pub fn thousand_row_database(db: &str) -> DropDatabase {
    let guard = DropDatabase(db.to_owned());
    mariadb(&format!(
        "DROP DATABASE IF EXISTS `{db}`; CREATE DATABASE `{db}`;
         CREATE TABLE `{db}`.t (id INT PRIMARY KEY) ENGINE=InnoDB;
         INSERT INTO `{db}`.t SELECT seq FROM `{db}`.seq_1_to_1000;"
    ));
    guard
}

/// `xbak schedule set ID` of a daily logical backup of database `db` whose window opens now.
pub fn schedule_logical_now(data: &DataDir, id: &str, db: &str) {
    let now = chrono::Utc::now().format("%H:%M").to_string();
    data.ok(&[
        "schedule",
        "set",
        id,
        "--at",
        &now,
        "--method",
        "L",
        "--database",
        db,
    ]);
}

/// Waits (at most 2 minutes) until `backup runs ID` lists a completed scheduled run.
pub fn wait_for_scheduled_run(data: &DataDir, id: &str) {
    wait_until(Duration::from_secs(120), Duration::from_millis(300), || {
        let runs = data.ok(&["backup", "runs", id]);
        let done = runs
            .lines()
            .any(|l| l.contains("scheduled") && l.contains(" completed "));
        done.then_some(())
            .ok_or(format!("the scheduled backup did not run:\n{runs}"))
    })
}
