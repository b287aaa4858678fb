//! Continuous binlog backup, black-box: `xbak worker` streams a MariaDB source that this test
//! starts with `--log-bin`, is killed with SIGKILL again and again while rows are written and
//! binlogs rotate, and the region ends up holding the source's binlog files byte for byte (no
//! gap, no event twice). Binlogs purged before they were read are recorded as a gap.

mod common;

use common::*;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use xbak_catalog::sqlite::SqliteCatalog;
use xbak_catalog::Catalog;
use xbak_domain::{LogFile, LogFileState};

/// A scratch `mariadbd` with binary logging on, on a free loopback port; killed on drop.
struct Source {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl Source {
    fn start() -> Source {
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
        source.sql(
            "CREATE USER repl@'127.0.0.1' IDENTIFIED BY 'pw';
             GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO repl@'127.0.0.1';
             CREATE DATABASE shop;
             CREATE TABLE shop.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(200)) ENGINE=InnoDB;",
        );
        source
    }

    fn client(&self) -> Command {
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
    fn sql(&self, sql: &str) -> String {
        let out = self.client().args(["-e", sql]).output().unwrap();
        assert!(
            out.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// The replication user's DSN.
    fn dsn(&self) -> String {
        format!("mysql://repl:pw@127.0.0.1:{}", self.port)
    }

    /// `SHOW BINARY LOGS`: the file names.
    fn binlogs(&self) -> Vec<String> {
        self.sql("SHOW BINARY LOGS")
            .lines()
            .map(|l| l.split('\t').next().unwrap().to_owned())
            .collect()
    }

    /// The current file and the offset its next event starts at.
    fn end(&self) -> (String, u64) {
        let out = self.sql("SHOW MASTER STATUS");
        let mut f = out.split('\t');
        (
            f.next().unwrap().to_owned(),
            f.next().unwrap().trim().parse().unwrap(),
        )
    }

    fn file(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir.path().join("data").join(name)).unwrap()
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// Writes one-row transactions (and now and then rotates the binlog) until stopped.
fn writer(source: &Source, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    let mut client = source
        .client()
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::spawn(move || {
        let mut stdin = client.stdin.take().unwrap();
        let mut n = 0u64;
        while !stop.load(Ordering::Relaxed) {
            n += 1;
            let sql = if n.is_multiple_of(150) {
                "FLUSH BINARY LOGS;\n".to_owned()
            } else {
                format!("INSERT INTO shop.t (v) VALUES (REPEAT('x{n}', 20));\n")
            };
            stdin.write_all(sql.as_bytes()).unwrap();
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(stdin);
        assert!(client.wait().unwrap().success());
        n
    })
}

/// Regions, account, the instance on `source` with log backup on.
fn setup(data: &DataDir, source: &Source) {
    data.ok(&["region", "add", "cn-hangzhou"]);
    data.ok(&["region", "add", "cn-shanghai"]);
    data.ok(&["account", "create", "alice"]);
    let dsn = source.dsn();
    let mut args = instance_args("rm-log1", "MariaDB", "10.11");
    args.extend(["--dsn", dsn.as_str()]);
    data.ok(&args);
    data.ok(&[
        "policy",
        "set",
        "rm-log1",
        "--cross-region",
        "cn-shanghai",
        "--log-backup",
    ]);
}

fn worker(data: &DataDir) -> Child {
    data.cmd(&["worker", "--log-flush-seconds", "1"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn catalog(data: &DataDir) -> SqliteCatalog {
    SqliteCatalog::open(&data.path().join("catalog.db"))
        .await
        .unwrap()
}

/// Runs `xbak worker` until the stream reached the source's end, then kills it.
fn stream_to_end(data: &DataDir, source: &Source) {
    let mut w = worker(data);
    wait_for_position(data, &source.end());
    w.kill().unwrap();
    w.wait().unwrap();
}

/// The catalog and the catalog id of `rm-log1`.
async fn catalog_and_instance(data: &DataDir) -> (SqliteCatalog, i64) {
    let cat = catalog(data).await;
    let id = cat
        .instance_by_db_instance_id("rm-log1")
        .await
        .unwrap()
        .unwrap()
        .id;
    (cat, id)
}

/// Waits until the stream's durable position is `end`.
fn wait_for_position(data: &DataDir, end: &(String, u64)) {
    let rt = runtime();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let at = rt.block_on(async {
            let (cat, id) = catalog_and_instance(data).await;
            cat.binlog_position(id).await.unwrap()
        });
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
fn stored(data: &DataDir) -> (Vec<LogFile>, Vec<xbak_domain::LogGap>) {
    runtime().block_on(async {
        let (cat, id) = catalog_and_instance(data).await;
        (
            in_region(cat.log_files(id).await.unwrap(), "cn-hangzhou"),
            cat.log_gaps(id).await.unwrap(),
        )
    })
}

fn in_region(files: Vec<LogFile>, region: &str) -> Vec<LogFile> {
    files
        .into_iter()
        .filter(|f| f.region_id == region)
        .collect()
}

/// Waits (at most 60 s) until the destination region holds a copy of each of `closed`; returns
/// the copies.
fn wait_for_copies(data: &DataDir, closed: usize) -> Vec<LogFile> {
    wait_until(Duration::from_secs(60), Duration::from_millis(200), || {
        let copies = runtime().block_on(async {
            let (cat, id) = catalog_and_instance(data).await;
            in_region(cat.log_files(id).await.unwrap(), "cn-shanghai")
        });
        if copies.len() >= closed {
            Ok(copies)
        } else {
            Err(format!("{} of {closed} closed files copied", copies.len()))
        }
    })
}

/// A log file's bytes rebuilt from the region: its object once closed, else the magic and
/// its segments (which must be contiguous).
fn rebuilt(data: &DataDir, f: &LogFile) -> Vec<u8> {
    let region = data.path().join("regions").join(&f.region_id);
    let read = |key: &str| std::fs::read(region.join(key)).unwrap();
    match f.state {
        LogFileState::Closed => read(f.object_key.as_deref().unwrap()),
        LogFileState::Open => {
            let mut bytes = vec![0xfe, b'b', b'i', b'n'];
            for s in &f.segments {
                assert_eq!(
                    s.offset,
                    bytes.len() as u64,
                    "segments of {} are contiguous",
                    f.file_name
                );
                bytes.extend(read(&s.object_key));
            }
            bytes
        }
    }
}

/// The open file on the source says "in use" in its format description's flags; the
/// replication protocol sends it cleared (as the file will be once closed).
fn without_in_use_flag(mut bytes: Vec<u8>) -> Vec<u8> {
    if bytes.len() > 21 {
        bytes[21] &= !1;
    }
    bytes
}

fn assert_same_files(data: &DataDir, source: &Source, files: &[LogFile]) {
    let names: Vec<_> = files.iter().map(|f| f.file_name.clone()).collect();
    assert_eq!(
        names,
        source.binlogs(),
        "every binlog of the source is stored, once"
    );
    for f in files {
        let ours = rebuilt(data, f);
        assert_eq!(ours.len() as u64, f.size, "{}", f.file_name);
        let theirs = source.file(&f.file_name);
        if f.state == LogFileState::Closed {
            let mut crc = crc64fast::Digest::new();
            crc.write(&theirs);
            assert_eq!(f.crc64, Some(crc.sum64()), "{}", f.file_name);
        }
        assert!(
            without_in_use_flag(ours) == without_in_use_flag(theirs),
            "{} differs from the source's file",
            f.file_name
        );
    }
}

#[test]
fn killed_streamers_resume_without_gap_or_duplicate() {
    let source = Source::start();
    let data = DataDir::new();
    setup(&data, &source);

    let stop = Arc::new(AtomicBool::new(false));
    let writes = writer(&source, stop.clone());
    for round in 0..10u64 {
        let mut w = worker(&data);
        std::thread::sleep(Duration::from_millis(1000 + 200 * round));
        w.kill().unwrap(); // SIGKILL
        w.wait().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    let written = writes.join().unwrap();
    assert!(written > 100, "the writer wrote ({written} statements)");
    source.sql("FLUSH BINARY LOGS");
    source.sql("INSERT INTO shop.t (v) VALUES ('last')");

    let mut w = worker(&data);
    let end = source.end();
    wait_for_position(&data, &end);
    let (files, _) = stored(&data);
    let closed: Vec<&LogFile> = files
        .iter()
        .filter(|f| f.state == LogFileState::Closed)
        .collect();
    let copies = wait_for_copies(&data, closed.len());
    w.kill().unwrap();
    w.wait().unwrap();

    // Every closed file is in the destination region too, byte for byte, and only those.
    let names = |fs: &[&LogFile]| fs.iter().map(|f| f.file_name.clone()).collect::<Vec<_>>();
    let copied: Vec<&LogFile> = copies.iter().collect();
    assert_eq!(names(&copied), names(&closed));
    for (copy, file) in copies.iter().zip(&closed) {
        assert_eq!(
            (copy.state, copy.size, copy.crc64),
            (file.state, file.size, file.crc64)
        );
        assert_eq!(
            rebuilt(&data, copy),
            source.file(&copy.file_name),
            "{}",
            copy.file_name
        );
    }

    let (files, gaps) = stored(&data);
    assert!(gaps.is_empty(), "no gap: {gaps:?}");
    assert!(
        files.len() >= 3,
        "the binlog rotated: {} files",
        files.len()
    );
    assert_eq!(files.last().unwrap().state, LogFileState::Open);
    assert!(files[..files.len() - 1]
        .iter()
        .all(|f| f.state == LogFileState::Closed));
    assert_same_files(&data, &source, &files);

    // The stored files replay: mariadb-binlog reads every one of them to the end.
    let region = data.path().join("regions").join("cn-hangzhou");
    let dir = tempfile::tempdir().unwrap();
    let mut paths: Vec<PathBuf> = Vec::new();
    for f in &files {
        let p = dir.path().join(&f.file_name);
        std::fs::write(&p, rebuilt(&data, f)).unwrap();
        paths.push(p);
    }
    let out = Command::new("mariadb-binlog")
        .args(&paths)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: u64 = source
        .sql("SELECT COUNT(*) FROM shop.t")
        .trim()
        .parse()
        .unwrap();
    assert_eq!(
        text.matches("Write_rows").count() as u64,
        rows,
        "one row event per row written"
    );
    // And each comes with its annotate-rows event (its statement), which MariaDB sends only
    // to a replica that asks for it.
    assert_eq!(
        text.matches("#Q> INSERT INTO shop.t").count() as u64,
        rows,
        "one annotate event per row written"
    );
    assert!(region.join("binlogs/rm-log1").is_dir());

    // Closed files are one object each: their segments (and any a killed streamer published
    // without recording) are gone; only the open file's remain.
    let open = files.last().unwrap();
    let mut objects = Vec::new();
    walk(&region.join("binlogs/rm-log1"), &mut objects);
    let segments: Vec<_> = objects
        .iter()
        .filter(|p| p.to_string_lossy().contains(".segments/"))
        .collect();
    assert!(!open.segments.is_empty(), "the open file has segments");
    let open_dir = format!("/{}.segments/", open.file_name);
    assert!(
        segments
            .iter()
            .all(|p| p.to_string_lossy().contains(&open_dir)),
        "segments of closed files left: {segments:?}"
    );
}

#[test]
fn binlogs_purged_before_they_were_read_are_a_recorded_gap() {
    let source = Source::start();
    let data = DataDir::new();
    setup(&data, &source);
    source.sql("INSERT INTO shop.t (v) VALUES ('a')");
    stream_to_end(&data, &source);
    let (before, _) = stored(&data);
    let streamed_to = before.last().unwrap().file_name.clone();

    // While no streamer runs: rotate twice and purge what it has not read.
    source.sql("INSERT INTO shop.t (v) VALUES ('lost')");
    source.sql("FLUSH BINARY LOGS");
    source.sql("FLUSH BINARY LOGS");
    let (current, _) = source.end();
    // The killed streamer's dump thread may still hold its file open for a moment, and the
    // source does not purge a file in use: purge until the oldest binlog it lists is `current`.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        source.sql(&format!("PURGE BINARY LOGS TO '{current}'"));
        let logs = source.sql("SHOW BINARY LOGS");
        if logs.split('\t').next() == Some(current.as_str()) {
            break;
        }
        assert!(Instant::now() < deadline, "not purged: {logs}");
        std::thread::sleep(Duration::from_millis(200));
    }
    source.sql("INSERT INTO shop.t (v) VALUES ('after')");

    stream_to_end(&data, &source);
    let (files, gaps) = stored(&data);
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(
        (gaps[0].from_file.as_str(), gaps[0].to_file.as_str()),
        (streamed_to.as_str(), current.as_str())
    );
    assert!(gaps[0].to_offset == 4 && gaps[0].from_offset > 4);
    assert!(gaps[0].reason.contains("purged"), "{}", gaps[0].reason);
    let runs = data.ok(&["backup", "runs", "rm-log1"]);
    let shown = format!(
        "log gap: {}:{} to {current}:4, recorded ",
        gaps[0].from_file, gaps[0].from_offset
    );
    assert!(runs.contains(&shown), "{runs}");
    // And `/metrics` counts it, beside how far the stored log reaches.
    let server = Server::start_with(&data, &["--no-workers"], Stdio::null());
    let text = runtime().block_on(async {
        let resp = http_get(&server.metrics_url()).await;
        assert_eq!(resp.status(), 200);
        resp.text().await.unwrap()
    });
    assert!(
        text.contains("xbak_log_backup_gaps{instance=\"rm-log1\"} 1\n")
            && text.contains(
                "xbak_log_backup_recovery_point_timestamp_seconds{instance=\"rm-log1\"} "
            ),
        "{text}"
    );
    let last = files.last().unwrap();
    assert_eq!(last.file_name, current);
    assert!(
        without_in_use_flag(rebuilt(&data, last)) == without_in_use_flag(source.file(&current))
    );
}
