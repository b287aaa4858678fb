//! Point-in-time recovery, black-box: a MariaDB source this test starts with `--log-bin` is
//! backed up once (`xbak backup run`), then written to for several seconds while `xbak worker`
//! streams its binlog and copies set and log files to cn-shanghai; `xbak restore --instance
//! --to-time` then restores it in cn-shanghai to ten times of the window, and each restored
//! server holds exactly the rows stamped at or before its time.

mod common;

use common::*;
use std::time::Duration;
use xbak_catalog::Catalog;
use xbak_domain::{BackupRunStatus, CopyQuery, CopyStatus, LogFileState, PageSize};

/// A child process killed when the test ends, even by a failed assertion (a worker left
/// running would hold the test's output open).
struct KilledOnDrop(std::process::Child);

impl Drop for KilledOnDrop {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

/// Rows of `shop.ticks` (id, and the second its insert was stamped in the binlog) at or
/// before `t` (`YYYY-MM-DD HH:MM:SS`, UTC), on `server`, as one string.
fn rows_until(server: &Source, t: &str) -> String {
    server.sql(&format!(
        "SELECT COUNT(*), COALESCE(GROUP_CONCAT(id ORDER BY id), '') FROM shop.ticks WHERE at <= '{t}'"
    ))
}

/// Waits until every set taken and every log file (the open one up to its last segment) are in
/// cn-shanghai.
fn wait_for_destination(data: &DataDir) {
    wait_for_copies(data);
    wait_until(Duration::from_secs(60), Duration::from_millis(200), || {
        let done = runtime().block_on(async {
            let (cat, id) = catalog_and_instance(data).await;
            let listing = cat
                .list_copies(&CopyQuery::first_page(id, PageSize::Thirty))
                .await
                .unwrap();
            let copied = listing
                .items
                .iter()
                .filter(|c| c.status == CopyStatus::Completed)
                .count();
            let taken = cat.backup_runs(id, 10).await.unwrap();
            let taken = taken
                .iter()
                .filter(|r| r.status == BackupRunStatus::Completed)
                .count();
            copied == taken
        });
        if done {
            Ok(())
        } else {
            Err("the sets' copies to cn-shanghai did not complete".to_owned())
        }
    });
}

#[test]
fn restores_to_any_second_of_the_window() {
    let source = Source::start();
    let dsn = source.admin_dsn();
    source.sql(
        "CREATE TABLE shop.ticks (id INT AUTO_INCREMENT PRIMARY KEY, at DATETIME NOT NULL) ENGINE=InnoDB;
         INSERT INTO shop.ticks (at) VALUES (UTC_TIMESTAMP()), (UTC_TIMESTAMP());",
    );
    let data = DataDir::new();
    let (ak, secret) = setup(&data, &dsn);
    let w = KilledOnDrop(worker(&data));
    // Setting the policy requested a backup, which the worker takes or finds not needed; once
    // it is done, a logical and a physical set of our own, before any write.
    wait_until(Duration::from_secs(120), Duration::from_millis(200), || {
        let open = runtime().block_on(async {
            let (cat, id) = catalog_and_instance(&data).await;
            cat.open_requested_backups(id).await.unwrap()
        });
        if open.is_empty() {
            Ok(())
        } else {
            Err(format!("the requested backup is still open: {open:?}"))
        }
    });
    data.ok(&["backup", "run", "rm-log1", "--method", "L"]);
    data.ok(&["backup", "run", "rm-log1", "--method", "P"]);

    // One-row transactions for about 6 s, each stamped (`at`) with the second its statement
    // began, which is its events' time in the binlog; the log rotates midway, and the rows
    // after that stay in the open file, which reaches cn-shanghai as segments.
    for n in 0..60 {
        if n == 30 {
            source.sql("FLUSH BINARY LOGS");
        }
        source.sql("INSERT INTO shop.ticks (at) VALUES (UTC_TIMESTAMP())");
        std::thread::sleep(Duration::from_millis(100));
    }
    wait_for_position(&data, &source);
    wait_for_destination(&data);
    drop(w);

    // The copied log files, as `xbak backups logs` lists them through the API.
    let copies: Vec<String> = {
        let (files, _) = stored(&data);
        let mut names: Vec<String> = files
            .into_iter()
            .filter(|f| f.state == LogFileState::Closed)
            .map(|f| f.file_name)
            .collect();
        names.sort();
        names
    };
    let server = Server::start_with(&data, &["--no-workers"], std::process::Stdio::null());
    let url = server.url();
    let logs = |output: &str| {
        let args = [
            "backups",
            "logs",
            "rm-log1",
            "--since",
            "1h",
            "--region",
            "cn-hangzhou",
            "--endpoint",
            &url,
            "--output",
            output,
        ];
        let out = data
            .cmd(&args)
            .env("ALIBABA_CLOUD_ACCESS_KEY_ID", &ak)
            .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", &secret)
            .output()
            .unwrap();
        succeeded(&args, out)
    };
    let listed: serde_json::Value = serde_json::from_str(&logs("json")).unwrap();
    let mut names: Vec<String> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            assert_eq!(i["CrossBackupRegion"], "cn-shanghai", "{i}");
            assert!(
                i["CrossDownloadLink"].as_str().unwrap().starts_with("http"),
                "{i}"
            );
            i["LogFileName"].as_str().unwrap().to_owned()
        })
        .collect();
    names.sort();
    assert_eq!(names, copies, "every copied file, once");
    let table = logs("table");
    assert!(
        table.starts_with("ID") && table.contains("EVENTS (UTC)"),
        "{table}"
    );
    assert_eq!(table.lines().count(), copies.len() + 1, "{table}");
    drop(server);

    let target = Source::start();
    let target_dsn = target.admin_dsn();

    // The window: from the set's consistent second to the last row's (at least).
    let seconds: Vec<String> = source
        .sql("SELECT DISTINCT DATE_FORMAT(at, '%Y-%m-%d %H:%i:%s') FROM shop.ticks WHERE id > 2 ORDER BY 1")
        .lines()
        .map(str::to_owned)
        .collect();
    assert!(seconds.len() >= 5, "the writes span seconds: {seconds:?}");
    // Ten times: every few seconds of the writes, the first and the last included.
    let step = (seconds.len() - 1) as f64 / 9.0;
    let picks: Vec<&String> = (0..10)
        .map(|i| &seconds[(i as f64 * step).round() as usize])
        .collect();
    for t in picks {
        let rfc3339 = format!("{}Z", t.replace(' ', "T"));
        target.sql("DROP DATABASE IF EXISTS shop");
        let out = restore_to(&data, &rfc3339, &["--target", &target_dsn]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "restore to {rfc3339}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains(&format!("rolled forward to {rfc3339}")),
            "{stdout}"
        );
        assert_eq!(
            rows_until(&target, "9999-12-31 00:00:00"),
            rows_until(&source, t),
            "restored to {rfc3339}: exactly the rows stamped at or before it"
        );
    }

    // In the instance's own region, from the set itself and the log files there.
    let last = seconds.last().unwrap();
    let rfc3339 = format!("{}Z", last.replace(' ', "T"));
    target.sql("DROP DATABASE IF EXISTS shop");
    let out = restore_in(&data, "cn-hangzhou", &rfc3339, &["--target", &target_dsn]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "restore in cn-hangzhou: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        rows_until(&target, "9999-12-31 00:00:00"),
        rows_until(&source, last),
        "restored in cn-hangzhou to {rfc3339}"
    );

    // A time outside the window is refused, naming it.
    for outside in ["2000-01-01T00:00:00Z", "2999-01-01T00:00:00Z"] {
        let out = restore_to(&data, outside, &["--verify-only"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{outside} restored");
        assert!(
            stderr.contains(&format!(
                "{outside} is outside the recovery window of rm-log1 in cn-shanghai: 20"
            )),
            "{stderr}"
        );
    }

    // Into a data directory, the newest set is the physical one: prepared, started, rolled
    // forward to a second of the writes.
    let middle = &seconds[seconds.len() / 2];
    let rfc3339 = format!("{}Z", middle.replace(' ', "T"));
    let restored = tempfile::tempdir().unwrap();
    let datadir = restored.path().join("data");
    let out = restore_to(&data, &rfc3339, &["--datadir", datadir.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("physical"), "{stdout}");
    let server = Source::on_datadir(&datadir);
    assert_eq!(
        rows_until(&server, "9999-12-31 00:00:00"),
        rows_until(&source, middle),
        "restored to {rfc3339} from the physical set"
    );
}
