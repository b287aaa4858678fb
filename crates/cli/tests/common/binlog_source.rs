//! A scratch MariaDB source with binary logging on, and an instance `rm-log1` streaming it, for
//! the binlog tests.

use super::{free_port, instance_args, succeeds, wait_until, DataDir};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use xbak_catalog::sqlite::SqliteCatalog;
use xbak_catalog::Catalog;
use xbak_domain::LogFile;

/// A scratch `mariadbd` with binary logging on, on a free loopback port; killed on drop.
pub struct Source {
    child: Child,
    dir: tempfile::TempDir,
    pub port: u16,
}

impl Source {
    pub fn start() -> Source {
        let dir = tempfile::Builder::new()
            .prefix("xbak-binlog-")
            .tempdir()
            .unwrap();
        let datadir = dir.path().join("data");
        // Its own temporary directory: installs sharing /tmp at once fail now and then.
        let tmp = dir.path().join("tmp");
        std::fs::create_dir(&tmp).unwrap();
        let mut install = Command::new("mariadb-install-db");
        install
            .arg("--no-defaults")
            .arg(format!("--datadir={}", datadir.display()))
            .arg(format!("--tmpdir={}", tmp.display()))
            .args([
                "--user=root",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ]);
        succeeds(install, "mariadb-install-db");
        let source = Source::launch(dir, &datadir);
        source.sql(
            "CREATE USER repl@'127.0.0.1' IDENTIFIED BY 'pw';
             GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO repl@'127.0.0.1';
             CREATE DATABASE shop;
             CREATE TABLE shop.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(200)) ENGINE=InnoDB;",
        );
        source
    }

    /// A server on the data directory `datadir` (a restored one, say), with its socket, pid
    /// file and logs in a directory of its own.
    pub fn on_datadir(datadir: &std::path::Path) -> Source {
        let dir = tempfile::Builder::new()
            .prefix("xbak-restored-")
            .tempdir()
            .unwrap();
        Source::launch(dir, datadir)
    }

    /// Starts `mariadbd` on `datadir` with binary logging on, and waits until it answers.
    fn launch(dir: tempfile::TempDir, datadir: &std::path::Path) -> Source {
        let port = free_port();
        let child = Command::new("mariadbd")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", datadir.display()))
            .arg(format!("--port={port}"))
            .arg(format!("--socket={}", dir.path().join("sock").display()))
            .arg(format!("--pid-file={}", dir.path().join("pid").display()))
            .arg(format!(
                "--log-error={}",
                dir.path().join("error.log").display()
            ))
            .arg(format!("--log-bin={}", datadir.join("bin").display()))
            .args([
                "--user=root",
                "--bind-address=127.0.0.1",
                "--skip-name-resolve",
                "--server-id=1",
                "--binlog-format=ROW",
                "--innodb-buffer-pool-size=64M",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mariadbd");
        let source = Source { child, dir, port };
        let deadline = Instant::now() + Duration::from_secs(120);
        while !source
            .client()
            .args(["-e", "SELECT 1"])
            .output()
            .unwrap()
            .status
            .success()
        {
            assert!(Instant::now() < deadline, "mariadbd did not start");
            std::thread::sleep(Duration::from_millis(200));
        }
        source
    }

    pub fn client(&self) -> Command {
        let mut c = Command::new("mariadb");
        c.arg("--no-defaults")
            .arg(format!(
                "--socket={}",
                self.dir.path().join("sock").display()
            ))
            .args(["-uroot", "-N", "-B"]);
        c
    }

    /// Runs `sql`; returns its output.
    pub fn sql(&self, sql: &str) -> String {
        let out = self.client().args(["-e", sql]).output().unwrap();
        assert!(
            out.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Adds a user `xbak` with every privilege (what backups and restores need); returns its
    /// DSN.
    pub fn admin_dsn(&self) -> String {
        self.sql(
            "CREATE USER xbak@'127.0.0.1' IDENTIFIED BY 'pw';
             GRANT ALL PRIVILEGES ON *.* TO xbak@'127.0.0.1';",
        );
        format!("mysql://xbak:pw@127.0.0.1:{}", self.port)
    }

    /// The replication user's DSN.
    pub fn dsn(&self) -> String {
        format!("mysql://repl:pw@127.0.0.1:{}", self.port)
    }

    /// `SHOW BINARY LOGS`: the file names.
    pub fn binlogs(&self) -> Vec<String> {
        self.sql("SHOW BINARY LOGS")
            .lines()
            .map(|l| l.split('\t').next().unwrap().to_owned())
            .collect()
    }

    /// The current file and the offset its next event starts at.
    pub fn end(&self) -> (String, u64) {
        let out = self.sql("SHOW MASTER STATUS");
        let mut f = out.split('\t');
        (
            f.next().unwrap().to_owned(),
            f.next().unwrap().trim().parse().unwrap(),
        )
    }

    pub fn file(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir.path().join("data").join(name)).unwrap()
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// Regions, account alice, the instance `rm-log1` on `dsn` with log backup on to cn-shanghai.
/// Returns alice's AccessKeyId and AccessKeySecret.
pub fn setup(data: &DataDir, dsn: &str) -> (String, String) {
    data.ok(&["region", "add", "cn-hangzhou"]);
    data.ok(&["region", "add", "cn-shanghai"]);
    let account = data.ok(&["account", "create", "alice", "--json"]);
    let account: serde_json::Value = serde_json::from_str(account.trim()).unwrap();
    let mut args = instance_args("rm-log1", "MariaDB", "10.11");
    args.extend(["--dsn", dsn]);
    data.ok(&args);
    data.ok(&[
        "policy",
        "set",
        "rm-log1",
        "--cross-region",
        "cn-shanghai",
        "--log-backup",
    ]);
    let key = |k: &str| account[k].as_str().unwrap().to_owned();
    (key("AccessKeyId"), key("AccessKeySecret"))
}

pub fn worker(data: &DataDir) -> Child {
    data.cmd(&["worker", "--log-flush-seconds", "1"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

pub async fn catalog(data: &DataDir) -> SqliteCatalog {
    SqliteCatalog::open(&data.path().join("catalog.db"))
        .await
        .unwrap()
}

/// Runs `xbak worker` until the stream reached the source's end, then kills it.
pub fn stream_to_end(data: &DataDir, source: &Source) {
    let mut w = worker(data);
    wait_for_position(data, source);
    w.kill().unwrap();
    w.wait().unwrap();
}

/// The catalog and the catalog id of `rm-log1`.
pub async fn catalog_and_instance(data: &DataDir) -> (SqliteCatalog, i64) {
    let cat = catalog(data).await;
    let id = cat
        .instance_by_db_instance_id("rm-log1")
        .await
        .unwrap()
        .unwrap()
        .id;
    (cat, id)
}

/// Waits until the stream's durable position is the source's end (read again each time: the
/// source writes a binlog checkpoint event into a new file some time after it rotates).
pub fn wait_for_position(data: &DataDir, source: &Source) {
    let rt = runtime();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let at = rt.block_on(async {
            let (cat, id) = catalog_and_instance(data).await;
            cat.binlog_position(id).await.unwrap()
        });
        let end = source.end();
        if at.as_ref().map(|p| (p.file.clone(), p.offset)) == Some(end.clone()) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "stream stuck at {at:?}, source at {end:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The instance's log files in its own region, and its gaps.
pub fn stored(data: &DataDir) -> (Vec<LogFile>, Vec<xbak_domain::LogGap>) {
    runtime().block_on(async {
        let (cat, id) = catalog_and_instance(data).await;
        (
            in_region(cat.log_files(id).await.unwrap(), "cn-hangzhou"),
            cat.log_gaps(id).await.unwrap(),
        )
    })
}

pub fn in_region(files: Vec<LogFile>, region: &str) -> Vec<LogFile> {
    files
        .into_iter()
        .filter(|f| f.region_id == region)
        .collect()
}

/// Waits (at most 60 s) until cn-shanghai holds every log file cn-hangzhou holds, in the same
/// state and size (closed files whole, the open one up to the same segment); returns the copies.
pub fn wait_for_copies(data: &DataDir) -> Vec<LogFile> {
    wait_until(Duration::from_secs(60), Duration::from_millis(200), || {
        let files = runtime().block_on(async {
            let (cat, id) = catalog_and_instance(data).await;
            cat.log_files(id).await.unwrap()
        });
        let shape = |region: &str| -> Vec<_> {
            files
                .iter()
                .filter(|f| f.region_id == region)
                .map(|f| (f.file_name.clone(), f.state, f.size))
                .collect()
        };
        let (source, copies) = (shape("cn-hangzhou"), shape("cn-shanghai"));
        if source == copies {
            Ok(in_region(files, "cn-shanghai"))
        } else {
            Err(format!("cn-shanghai holds {copies:?} of {source:?}"))
        }
    })
}

/// `xbak restore --instance rm-log1 --region cn-shanghai --to-time T` with `target`.
pub fn restore_to(data: &DataDir, to_time: &str, target: &[&str]) -> std::process::Output {
    restore_in(data, "cn-shanghai", to_time, target)
}

/// `xbak restore --instance rm-log1 --region REGION --to-time T` with `target`.
pub fn restore_in(
    data: &DataDir,
    region: &str,
    to_time: &str,
    target: &[&str],
) -> std::process::Output {
    let mut args = vec![
        "restore",
        "--instance",
        "rm-log1",
        "--region",
        region,
        "--to-time",
        to_time,
    ];
    args.extend(target);
    data.cmd(&args).output().unwrap()
}
