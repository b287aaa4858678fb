//! Continuous binlog backup, black-box: `xbak worker` streams a MariaDB source that this test
//! starts with `--log-bin`, is killed with SIGKILL again and again while rows are written and
//! binlogs rotate, and the region ends up holding the source's binlog files byte for byte (no
//! gap, no event twice). Binlogs purged before they were read are recorded as a gap.

mod common;

use common::*;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use xbak_domain::{LogFile, LogFileState};

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
    // A user that can also take the logical set the restore at the end starts from (taken
    // before any worker runs, so the policy's requested backup finds it and is not needed).
    setup(&data, &source.admin_dsn());
    data.ok(&["backup", "run", "rm-log1", "--method", "L"]);

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
    wait_for_position(&data, &source);
    let copies = wait_for_copies(&data);
    w.kill().unwrap();
    w.wait().unwrap();

    // The destination region holds every file too, byte for byte: each closed file whole, the
    // open one as the same segments.
    let (files, _) = stored(&data);
    assert_eq!(copies.len(), files.len());
    for (copy, file) in copies.iter().zip(&files) {
        assert_eq!(
            (&copy.file_name, copy.state, copy.size, copy.crc64),
            (&file.file_name, file.state, file.size, file.crc64)
        );
        assert!(
            rebuilt(&data, copy) == rebuilt(&data, file),
            "{}",
            copy.file_name
        );
    }

    // A restore in the destination to its latest second (its last copied event) equals the
    // source: every row, once, by count and table checksum.
    let latest = copies.iter().filter_map(|f| f.last_event_at).max().unwrap();
    let latest = latest.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let target = Source::start();
    let target_dsn = target.admin_dsn();
    target.sql("DROP DATABASE shop");
    let restored = restore_to(&data, &latest, &["--target", &target_dsn]);
    succeeded(&["restore", "--to-time", &latest], restored);
    let table = |s: &Source| s.sql("SELECT COUNT(*) FROM shop.t; CHECKSUM TABLE shop.t");
    assert_eq!(table(&target), table(&source), "restored to {latest}");

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

    // Closed files are one object each, in both regions: their segments (and any a killed
    // streamer published without recording) are gone; only the open file's remain.
    let open = files.last().unwrap();
    let mut objects = Vec::new();
    walk(&region.join("binlogs/rm-log1"), &mut objects);
    let dest_region = data.path().join("regions").join("cn-shanghai");
    walk(&dest_region.join("binlogs/rm-log1"), &mut objects);
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

    // A streamer killed between recording a file closed and deleting its segments leaves them:
    // the next one to claim the stream deletes them at once.
    let orphan = region.join("binlogs/rm-log1").join(format!(
        "{}.segments/000000000004-000000000100",
        files[0].file_name
    ));
    std::fs::create_dir_all(orphan.parent().unwrap()).unwrap();
    std::fs::write(&orphan, b"left by a killed streamer").unwrap();
    let mut w = worker(&data);
    wait_until(Duration::from_secs(30), Duration::from_millis(100), || {
        if orphan.exists() {
            Err(format!("{} is still there", orphan.display()))
        } else {
            Ok(())
        }
    });
    w.kill().unwrap();
    w.wait().unwrap();
    assert!(
        open.segments
            .iter()
            .all(|s| region.join(&s.object_key).exists()),
        "the open file's segments are kept"
    );
}

#[test]
fn binlogs_purged_before_they_were_read_are_a_recorded_gap() {
    let source = Source::start();
    let data = DataDir::new();
    setup(&data, &source.dsn());
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
