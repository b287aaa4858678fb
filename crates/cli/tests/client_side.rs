//! The client-side commands against a running `xbak serve`, black-box: `xbak rds …` prints what
//! the API returns and pages with `--pager`, errors print Code/Message/RequestId with exit code
//! 3, `xbak backups list` in its three formats, and `xbak backups download` interrupted (killed),
//! resumed and given a fresh link after the saved one expired.

mod common;

use chrono::Utc;
use common::*;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use xbak_testkit::v1_params;

const INSTANCE: &str = "rm-bb0001";

/// A client command with only the given credentials and an empty HOME (no stray profiles).
fn client_cmd(data: &DataDir, home: &Path, env: &[(&str, &str)], args: &[&str]) -> Command {
    let mut c = data.cmd(args);
    for k in [
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        "ALIBABA_CLOUD_SECURITY_TOKEN",
        "ALICLOUD_ACCESS_KEY",
        "ALICLOUD_SECRET_KEY",
        "ALIBABA_CLOUD_REGION_ID",
        "ALIBABA_CLOUD_PROFILE",
        "ALIBABACLOUD_PROFILE",
        "XBAK_ENDPOINT",
    ] {
        c.env_remove(k);
    }
    c.env("HOME", home);
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

struct Env {
    data: DataDir,
    home: tempfile::TempDir,
    ak: String,
    secret: String,
    server: Server,
}

impl Env {
    fn creds(&self) -> Vec<(&str, &str)> {
        vec![
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", self.ak.as_str()),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", self.secret.as_str()),
            ("ALIBABA_CLOUD_REGION_ID", "cn-hangzhou"),
        ]
    }
    fn run(&self, args: &[&str]) -> Output {
        let url = self.server.url();
        let mut a: Vec<&str> = args.to_vec();
        a.extend(["--endpoint", url.as_str()]);
        client_cmd(&self.data, self.home.path(), &self.creds(), &a)
            .output()
            .unwrap()
    }
    fn ok(&self, args: &[&str]) -> String {
        succeeded(args, self.run(args))
    }
}

/// Seeds `n` small sets an hour apart from 2026-01-01T00:00:00Z, copies them, serves.
fn env_with_sets(n: usize, serve_flags: &[&str]) -> Env {
    let data = DataDir::new();
    let (ak, secret) = data.seed();
    let file = data.path().join("small.tar.gz");
    std::fs::write(&file, b"a small backup set").unwrap();
    for i in 0..n {
        let start = format!("2026-01-{:02}T{:02}:00:00Z", 1 + i / 24, i % 24);
        data.register(&file, &start);
    }
    if n > 0 {
        data.ok(&["replicate", "--once"]);
    }
    let server = Server::start_with(&data, serve_flags, Stdio::null());
    Env {
        data,
        home: tempfile::tempdir().unwrap(),
        ak,
        secret,
        server,
    }
}

/// The same call signed by hand (protocol crate, v1 GET): what the API returns.
async fn direct(env: &Env, params: &[(&str, &str)]) -> serde_json::Value {
    let q = v1_params("GET", &env.ak, &env.secret, params, Utc::now());
    let resp = reqwest::get(format!("{}/?{q}", env.server.url()))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap()
}

/// Drops `RequestId` and the query strings of download links (their `Expires` moves).
fn normalize(mut v: serde_json::Value) -> serde_json::Value {
    v.as_object_mut().unwrap().remove("RequestId");
    if let Some(items) = v["Items"]["Item"].as_array_mut() {
        for i in items {
            let link = i["CrossBackupDownloadLink"].as_str().unwrap();
            let base = link.split('?').next().unwrap().to_owned();
            i["CrossBackupDownloadLink"] = base.into();
        }
    }
    v
}

const WINDOW: [&str; 4] = [
    "--StartTime",
    "2026-01-01T00:00Z",
    "--EndTime",
    "2026-01-31T00:00Z",
];

/// `xbak rds DescribeCrossRegionBackups` of `instance` in cn-hangzhou with `extra`, over [`WINDOW`].
fn rds_describe<'a>(instance: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "rds",
        "DescribeCrossRegionBackups",
        "--RegionId",
        "cn-hangzhou",
    ];
    args.extend(["--DBInstanceId", instance]);
    args.extend_from_slice(extra);
    args.extend(WINDOW);
    args
}

#[tokio::test]
async fn rds_prints_what_the_api_returns_and_pager_merges_130_items() {
    let env = env_with_sets(130, &[]);
    let args = rds_describe(INSTANCE, &["--PageSize", "100", "--PageNumber", "2"]);
    let printed = env.ok(&args);
    assert!(
        printed.starts_with("{\n  \"RequestId\": \""),
        "pretty, in the server's key order: {printed}"
    );
    let printed: serde_json::Value = serde_json::from_str(&printed).unwrap();
    let api = direct(
        &env,
        &[
            ("RegionId", "cn-hangzhou"),
            ("DBInstanceId", INSTANCE),
            ("PageSize", "100"),
            ("PageNumber", "2"),
            ("StartTime", WINDOW[1]),
            ("EndTime", WINDOW[3]),
        ],
    )
    .await;
    assert_eq!(printed["PageRecordCount"], 30);
    assert_eq!(printed["TotalRecordCount"], 130);
    assert_eq!(normalize(printed.clone()), normalize(api.clone()));

    // v1 over GET, RegionId from the environment: the same answer.
    let mut v1_args: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| *a != "--RegionId" && *a != "cn-hangzhou")
        .collect();
    v1_args.extend(["--signature-version", "v1", "--method", "GET"]);
    let v1: serde_json::Value = serde_json::from_str(&env.ok(&v1_args)).unwrap();
    assert_eq!(normalize(v1), normalize(api));

    // --pager: every page, only the merged collection (as aliyun --pager prints it).
    let mut pager = vec![
        "rds",
        "DescribeCrossRegionBackups",
        "--DBInstanceId",
        INSTANCE,
        "--pager",
    ];
    pager.extend(WINDOW);
    let merged: serde_json::Value = serde_json::from_str(&env.ok(&pager)).unwrap();
    let items = merged["Items"]["Item"].as_array().unwrap();
    assert_eq!(merged.as_object().unwrap().len(), 1, "{merged}");
    assert_eq!(items.len(), 130);
    let ids: std::collections::HashSet<i64> = items
        .iter()
        .map(|i| i["CrossBackupId"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 130);
    // Same with the service's default page size of 30 (5 pages) and explicit fields.
    pager.extend(["--PageSize", "30", "--pager", "path=Items.Item"]);
    let merged: serde_json::Value = serde_json::from_str(&env.ok(&pager)).unwrap();
    assert_eq!(merged["Items"]["Item"].as_array().unwrap().len(), 130);

    // backups list walks every page too, in each format.
    let list = [
        "backups", "list", INSTANCE, "--start", WINDOW[1], "--end", WINDOW[3],
    ];
    let table = env.ok(&list);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 131, "{table}");
    assert!(lines[0].trim_start().starts_with("ID") && lines[0].contains("METHOD/TYPE"));
    assert!(lines[1].contains("physical/full") && lines[1].contains("18 B"));
    assert!(lines[1].contains("ok") && lines[1].ends_with("cn-shanghai"));
    let mut json_args = list.to_vec();
    json_args.extend(["--output", "json"]);
    let json: serde_json::Value = serde_json::from_str(&env.ok(&json_args)).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 130);
    let mut csv_args = list.to_vec();
    csv_args.extend(["--output", "csv"]);
    let csv = env.ok(&csv_args);
    assert_eq!(csv.lines().count(), 131);
    assert!(csv.starts_with("CrossBackupId,BackupStartTime,"));

    // --windows: each copy's recovery window; with no binlog copied, its own consistent time.
    json_args.push("--windows");
    let json: serde_json::Value = serde_json::from_str(&env.ok(&json_args)).unwrap();
    for item in json.as_array().unwrap() {
        let window = (&item["RecoveryBeginTime"], &item["RecoveryEndTime"]);
        let point = match item["BackupSetStatus"].as_i64() {
            Some(0) => &item["ConsistentTime"],
            _ => &serde_json::Value::Null, // a failed copy has no window
        };
        assert_eq!(window, (point, point), "{item}");
    }
    let mut table_args = list.to_vec();
    table_args.push("--windows");
    let table = env.ok(&table_args);
    assert!(
        table.lines().next().unwrap().ends_with("RESTORABLE (UTC)"),
        "{table}"
    );
    let first = json[0]["ConsistentTime"].as_str().unwrap();
    assert!(table.contains(&format!("{first} .. {first}")), "{table}");
}

#[tokio::test]
async fn errors_print_code_message_request_id_and_exit_nonzero() {
    let env = env_with_sets(0, &[]);
    let args = rds_describe("rm-nope", &[]);
    let out = env.run(&args);
    assert_eq!(out.status.code(), Some(3));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("ErrorCode: InvalidDBInstance.NotFound"),
        "{err}"
    );
    assert!(err.contains("Message: Specified instance does not exist or not support."));
    let rid = err
        .lines()
        .find_map(|l| l.strip_prefix("RequestId: "))
        .unwrap();
    assert_eq!(rid.len(), 36, "{err}");

    let out = env.run(&["backups", "list", "rm-nope"]);
    assert_eq!(out.status.code(), Some(3));
    let out = env.run(&[
        "rds",
        "DescribeCrossRegionBackups",
        "--DBInstanceId",
        INSTANCE,
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ErrorCode: ParameterAbsence"));

    // Usage errors: 2. No credentials: 1. Nobody listening: 4.
    let out = env.run(&["rds", "DescribeCrossRegionBackups", "DBInstanceId", "x"]);
    assert_eq!(out.status.code(), Some(2));
    let out = env.run(&["backups", "list", INSTANCE, "--since", "forever"]);
    assert_eq!(out.status.code(), Some(2));
    let out = client_cmd(
        &env.data,
        env.home.path(),
        &[],
        &["backups", "list", INSTANCE, "--endpoint", &env.server.url()],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ALIBABA_CLOUD_ACCESS_KEY_ID"));
    let closed = format!("http://127.0.0.1:{}", free_port());
    let out = client_cmd(
        &env.data,
        env.home.path(),
        &env.creds(),
        &["backups", "list", INSTANCE, "--endpoint", &closed],
    )
    .output()
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn profiles_from_the_aliyun_config_file() {
    let env = env_with_sets(1, &[]);
    let dir = env.home.path().join(".aliyun");
    std::fs::create_dir_all(&dir).unwrap();
    let config = serde_json::json!({
        "current": "default",
        "profiles": [
            {"name": "default", "mode": "AK", "access_key_id": "LTAIwrong", "access_key_secret": "x",
             "region_id": "cn-hangzhou", "endpoint": env.server.url()},
            {"name": "xbak", "mode": "AK", "access_key_id": env.ak, "access_key_secret": env.secret,
             "region_id": "cn-hangzhou", "endpoint": env.server.url(), "output_format": "json"}
        ],
        "meta_path": ""
    });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    let list = |extra: &[&str]| {
        let mut a = vec![
            "backups", "list", INSTANCE, "--start", WINDOW[1], "--end", WINDOW[3],
        ];
        a.extend_from_slice(extra);
        client_cmd(&env.data, env.home.path(), &[], &a)
    };
    let out = output_ok(&mut list(&["--profile", "xbak"]));
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 2);
    // The current profile's key is unknown to the server.
    let out = list(&[]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("InvalidAccessKeyId.NotFound"));
    output_ok(&mut client_cmd(
        &env.data,
        env.home.path(),
        &[("ALIBABA_CLOUD_PROFILE", "xbak")],
        &[
            "rds",
            "DescribeCrossRegionBackups",
            "--DBInstanceId",
            INSTANCE,
            "--CrossBackupId",
            "1",
        ],
    ));
}

/// Polls until `path` holds at least `n` bytes.
fn wait_for_len(path: &Path, n: u64, within: Duration) -> u64 {
    wait_until(within, Duration::from_millis(20), || {
        let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        if len >= n {
            Ok(len)
        } else {
            Err(format!("{} stayed at {len} bytes", path.display()))
        }
    })
}

#[tokio::test]
async fn download_killed_then_resumed_with_a_fresh_link_and_verified() {
    // Links live 2 s, so the one saved by the killed run has expired when the second run starts.
    let env = env_with_sets(0, &["--link-ttl-seconds", "2"]);
    let file = make_file(env.data.path(), "big.xb", 16);
    let start = (Utc::now() - chrono::Duration::hours(1))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    env.data.register(&file, &start);
    // The server's copy worker copies it; wait until it is listed.
    let deadline = Instant::now() + Duration::from_secs(30);
    let listed = loop {
        let out = env.ok(&[
            "backups", "list", INSTANCE, "--since", "1d", "--output", "json",
        ]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        if let Some(item) = v.as_array().unwrap().first() {
            break item.clone();
        }
        assert!(Instant::now() < deadline, "the copy never appeared");
        std::thread::sleep(Duration::from_millis(200));
    };
    let id = listed["CrossBackupId"].as_i64().unwrap().to_string();
    let size = listed["CrossBackupSetSize"].as_u64().unwrap();
    assert_eq!(size, 16 << 20);
    let want = sha256_file(&file);

    let dest = env.data.path().join("restore").join("set.xb");
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    let part = dest.with_file_name("set.xb.part");
    let dest_s = dest.to_str().unwrap();
    let url = env.server.url();
    let mut child = client_cmd(
        &env.data,
        env.home.path(),
        &env.creds(),
        &[
            "backups",
            "download",
            INSTANCE,
            &id,
            "-o",
            dest_s,
            "--limit-rate",
            "4M",
            "--endpoint",
            &url,
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let at_kill = wait_for_len(&part, 2 << 20, Duration::from_secs(20));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(at_kill < size, "killed mid-download");
    assert!(!dest.exists());
    assert!(dest.with_file_name("set.xb.part.json").exists());
    std::thread::sleep(Duration::from_millis(2500));

    let kept = std::fs::metadata(&part).unwrap().len();
    let out = env.run(&[
        "backups", "download", INSTANCE, &id, "-o", dest_s, "--sha256", &want,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("resuming at byte {kept} of {size}")),
        "{stderr}"
    );
    assert!(stderr.contains("link had expired"), "{stderr}");
    assert!(stderr.contains("link renewed 1x"), "{stderr}");
    assert!(stderr.contains("verified: size, sha256"), "{stderr}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{want}  {dest_s}\n"),
        "sha256sum format"
    );
    assert_eq!(sha256_file(&dest), want);
    assert!(!part.exists());

    // Into a folder: named after CrossBackupSetFile; an existing file is refused (exit 1).
    let folder = env.data.path().join("dl");
    std::fs::create_dir_all(&folder).unwrap();
    let folder_s = folder.to_str().unwrap();
    env.ok(&[
        "backups", "download", INSTANCE, &id, "-o", folder_s, "--quiet",
    ]);
    let name = listed["CrossBackupSetFile"].as_str().unwrap();
    assert_eq!(sha256_file(&folder.join(name)), want);
    let out = env.run(&["backups", "download", INSTANCE, &id, "-o", folder_s]);
    assert_eq!(out.status.code(), Some(1));
    // Into a folder that does not exist yet (`-o DIR/`): created.
    let missing = env.data.path().join("new/deeper/");
    let missing_s = format!("{}/", missing.to_str().unwrap().trim_end_matches('/'));
    env.ok(&[
        "backups", "download", INSTANCE, &id, "-o", &missing_s, "--quiet",
    ]);
    assert_eq!(sha256_file(&missing.join(name)), want);
    // A wrong expected checksum: exit 5, nothing left behind.
    let out = env.run(&[
        "backups",
        "download",
        INSTANCE,
        &id,
        "-o",
        folder_s,
        "--force",
        "--sha256",
        &"0".repeat(64),
    ]);
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!folder.join(format!("{name}.part")).exists());
}

#[test]
fn completions_and_help() {
    let data = DataDir::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = data.ok(&["completions", shell]);
        assert!(out.contains("backups") && out.contains("rds"), "{shell}");
    }
    let help = data.ok(&["backups", "download", "--help"]);
    assert!(help.contains("Exit codes:") && help.contains("Examples:"));
    let help = data.ok(&["rds", "DescribeCrossRegionBackups", "--help"]);
    assert!(help.contains("--pager"));
}
