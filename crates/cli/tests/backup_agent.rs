//! The backup agent through the real binary, against the MariaDB on 127.0.0.1:3306: instances
//! bound to a server, `backup run` (logical and physical), failed runs, a daily schedule run by
//! `serve`, and a restore drill fetched through the server's download links.
//! Fails when MariaDB or its tools are missing (`bash .ci/db-tools.sh` installs them).

mod common;

use common::*;
use std::process::Stdio;
use std::time::{Duration, Instant};

#[test]
fn backups_are_run_scheduled_and_restored_through_links() {
    let db = format!("xbak_cli_{}", std::process::id());
    let _cleanup = DropDatabase(db.clone());
    mariadb(&format!(
        "DROP DATABASE IF EXISTS `{db}`; CREATE DATABASE `{db}`;
         CREATE TABLE `{db}`.t (id INT PRIMARY KEY, v VARCHAR(100)) ENGINE=InnoDB;
         INSERT INTO `{db}`.t SELECT seq, REPEAT('v', seq % 100) FROM `{db}`.seq_1_to_3000;"
    ));
    let data = DataDir::new();
    data.ok(&["region", "add", "cn-hangzhou"]);
    data.ok(&["region", "add", "cn-shanghai"]);
    data.ok(&["account", "create", "alice"]);
    let out = create_mariadb_instance(
        &data,
        "rm-agent",
        &[
            "--instance-number",
            "111",
            "--dsn",
            "mysql://root:not-the-password@127.0.0.1:3306",
            "--standby-dsn",
            DSN,
            "--standby-instance-number",
            "222",
        ],
    );
    assert!(!out.contains("not-the-password"), "{out}");
    assert!(out.contains("InstanceId 222, the standby"), "{out}");
    data.ok(&["policy", "set", "rm-agent", "--cross-region", "cn-shanghai"]);

    // Taken from the standby: the set's name carries the standby's node number.
    let out = data.ok(&[
        "backup",
        "run",
        "rm-agent",
        "--method",
        "L",
        "--database",
        &db,
    ]);
    assert!(
        out.contains("_hins222_data_") && out.contains(".tar.gz"),
        "{out}"
    );
    let out = data.ok(&["backup", "run", "rm-agent", "--method", "P"]);
    assert!(out.contains("_qp.xb") && out.contains("LSN 0 -> "), "{out}");
    // Published before its checksums were read; they went beside the set and its queued copy.
    assert!(out.contains("published after "), "{out}");
    assert!(
        out.contains("stored beside the set and beside its copy in cn-shanghai after "),
        "{out}"
    );

    // Only the primary now, whose DSN has a wrong password: the run fails and says so.
    let out = data.ok(&[
        "instance",
        "connect",
        "rm-agent",
        "--dsn",
        "mysql://root:not-the-password@127.0.0.1:3306",
    ]);
    assert!(
        out.contains("mysql://root:***@127.0.0.1:3306 (InstanceId 111)"),
        "{out}"
    );
    let failed = data
        .cmd(&["backup", "run", "rm-agent", "--method", "L"])
        .output()
        .unwrap();
    assert!(!failed.status.success());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(stderr.contains("recorded as a failed run"), "{stderr}");
    assert!(!stderr.contains("not-the-password"), "{stderr}");
    let runs = data.ok(&["backup", "runs", "rm-agent"]);
    assert_eq!(
        runs.lines().filter(|l| l.contains(" failed ")).count(),
        1,
        "{runs}"
    );
    assert_eq!(
        runs.lines().filter(|l| l.contains(" completed ")).count(),
        2,
        "{runs}"
    );
    assert!(!runs.contains("not-the-password"), "{runs}");

    // A daily window opening now: `serve` runs it once.
    data.ok(&["instance", "connect", "rm-agent", "--dsn", DSN]);
    schedule_logical_now(&data, "rm-agent", &db);
    let server = Server::start(&data);
    wait_for_scheduled_run(&data, "rm-agent");
    let list = data.ok(&["schedule", "list"]);
    assert!(
        list.contains("rm-agent")
            && list.contains(&chrono::Utc::now().format("%Y-%m-%d").to_string()),
        "{list}"
    );

    // The copies are made by the server's workers; restore the scheduled set (copy 3) from the
    // destination region through the server's download links, as a drill.
    let deadline = Instant::now() + Duration::from_secs(120);
    let report = loop {
        let out = data
            .cmd(&[
                "restore",
                "3",
                "--region",
                "cn-shanghai",
                "--verify-only",
                "--endpoint",
                &server.url(),
            ])
            .output()
            .unwrap();
        if out.status.success() {
            break String::from_utf8(out.stdout).unwrap();
        }
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            err.contains("not completed") && Instant::now() < deadline,
            "restore failed: {err}"
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    assert!(
        report.contains("download links of http://127.0.0.1:"),
        "{report}"
    );
    assert!(report.contains(&format!("ok   {db}.t")), "{report}");
    assert!(report.contains("rows       3000"), "{report}");
    assert!(report.contains("all match the manifest"), "{report}");

    // The physical set (copy 2, completed by now): its checksums come from the manifest beside
    // the copy, fetched through a download link as well.
    let report = data.ok(&[
        "restore",
        "2",
        "--region",
        "cn-shanghai",
        "--verify-only",
        "--endpoint",
        &server.url(),
    ]);
    assert!(
        report.contains("row counts and checksums from the manifest stored beside the set"),
        "{report}"
    );
    assert!(report.contains(&format!("ok   {db}.t")), "{report}");
    assert!(report.contains("all match the manifest"), "{report}");
    drop(server);
}

/// A MariaDB-backed instance `id` (node 333 on the local server) of account alice in a fresh data
/// dir with regions cn-hangzhou and cn-shanghai; returns alice's key.
fn policy_world(data: &DataDir, id: &str) -> (String, String) {
    mariadb("SELECT 1");
    data.ok(&["region", "add", "cn-hangzhou"]);
    data.ok(&["region", "add", "cn-shanghai"]);
    let out = data.ok(&["account", "create", "alice", "--json"]);
    let account: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    create_mariadb_instance(data, id, &["--instance-number", "333", "--dsn", DSN]);
    (
        account["AccessKeyId"].as_str().unwrap().to_owned(),
        account["AccessKeySecret"].as_str().unwrap().to_owned(),
    )
}

/// Enables instance `id`'s policy to cn-shanghai through the API.
fn enable_policy(data: &DataDir, server: &Server, key: (&str, &str), id: &str) {
    let body = rds(
        data,
        server,
        key,
        "ModifyInstanceCrossBackupPolicy",
        &[
            "--RegionId",
            "cn-hangzhou",
            "--DBInstanceId",
            id,
            "--BackupEnabled",
            "1",
            "--CrossBackupRegion",
            "cn-shanghai",
            "--CrossBackupType",
            "1",
            "--RetentType",
            "1",
            "--Retention",
            "7",
        ],
    );
    assert_eq!(body["BackupEnabled"], "Enable", "{body}");
    assert_eq!(body["CrossBackupRegion"], "cn-shanghai", "{body}");
    assert_eq!(body["Retention"], 7, "{body}");
}

/// Waits for the policy backup of instance `id` (trigger `policy`) and its copy listed Completed
/// (BackupSetStatus 0); asserts exactly one backup was taken.
fn assert_policy_backup_copied(
    data: &DataDir,
    server: &Server,
    key: (&str, &str),
    id: &str,
    since: chrono::DateTime<chrono::Utc>,
) {
    let start = since.format("%Y-%m-%dT%H:%MZ").to_string();
    let end = (chrono::Utc::now() + chrono::Duration::hours(3))
        .format("%Y-%m-%dT%H:%MZ")
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(180);
    let (set_id, item) = loop {
        let runs = data.ok(&["backup", "runs", id]);
        assert!(
            !runs.lines().any(|l| l.contains(" failed ")),
            "the policy backup failed:\n{runs}"
        );
        let set = runs
            .lines()
            .find(|l| l.contains(" policy ") && l.contains(" completed "))
            .map(|l| l.split_whitespace().nth(4).unwrap().to_owned());
        if let Some(set) = set {
            let body = rds(
                data,
                server,
                key,
                "DescribeCrossRegionBackups",
                &[
                    "--RegionId",
                    "cn-hangzhou",
                    "--DBInstanceId",
                    id,
                    "--StartTime",
                    &start,
                    "--EndTime",
                    &end,
                    "--BackupId",
                    &set,
                ],
            );
            if let Some(item) = body["Items"]["Item"].as_array().and_then(|a| a.first()) {
                break (set, item.clone());
            }
        }
        assert!(
            Instant::now() < deadline,
            "no completed policy backup with a listed copy:\n{runs}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(item["BackupSetStatus"], 0, "{item}");
    assert_eq!(item["CrossBackupRegion"], "cn-shanghai", "{item}");
    assert_eq!(item["BackupType"], "F", "{item}");
    assert!(item["CrossBackupSetSize"].as_i64().unwrap() > 0, "{item}");
    // Exactly one backup was taken, and no request is left open.
    let runs = data.ok(&["backup", "runs", id]);
    assert_eq!(runs.lines().skip(1).count(), 1, "{runs}");
    assert!(runs.contains(&format!(" {set_id} ")), "{runs}");
}

/// Enabling the policy through the API on an instance without any backup set makes `serve`
/// take one (trigger `policy`), whose copy its workers then make.
#[test]
fn enabling_the_policy_without_a_recent_set_takes_and_copies_a_backup() {
    let data = DataDir::new();
    let (ak, secret) = policy_world(&data, "rm-polbk");
    let key = (ak.as_str(), secret.as_str());
    let server = Server::start(&data);
    let since = chrono::Utc::now() - chrono::Duration::minutes(5);
    enable_policy(&data, &server, key, "rm-polbk");
    assert_policy_backup_copied(&data, &server, key, "rm-polbk", since);
    drop(server);
}

/// The backup the API requests is a catalog row: a `serve --no-workers` killed (SIGKILL) right
/// after answering loses nothing; a `serve` with workers started later takes the backup and its
/// copy is listed.
#[test]
fn a_requested_backup_survives_a_killed_server_without_workers() {
    let data = DataDir::new();
    let (ak, secret) = policy_world(&data, "rm-polkill");
    let key = (ak.as_str(), secret.as_str());
    let since = chrono::Utc::now() - chrono::Duration::minutes(5);
    let mut api_only = Server::start_with(&data, &["--no-workers"], Stdio::piped());
    enable_policy(&data, &api_only, key, "rm-polkill");
    api_only.child.kill().unwrap(); // SIGKILL
    api_only.child.wait().unwrap();
    // Nothing took it: it waits in the catalog, and `backup runs` shows it.
    let runs = data.ok(&["backup", "runs", "rm-polkill"]);
    let waiting: Vec<_> = runs.lines().filter(|l| l.contains(" waiting ")).collect();
    assert_eq!(waiting.len(), 1, "{runs}");
    assert!(waiting[0].contains(" policy "), "{runs}");

    let server = Server::start(&data);
    assert_policy_backup_copied(&data, &server, key, "rm-polkill", since);
    drop(server);
}
