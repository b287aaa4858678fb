//! The README's path, black-box: seed through the CLI, copy, serve, list with a signed call, download.

mod common;

use chrono::Utc;
use common::*;
use std::io::Read;
use std::process::Stdio;
use xbak_testkit::v1_params;

#[tokio::test]
async fn from_nothing_to_a_listed_downloadable_copy() {
    let data = DataDir::new();
    let (ak, secret) = data.seed();
    let file = make_file(data.path(), "set.xb", 3);
    let out = data.register(&file, "2026-01-02T03:04:05Z");
    assert!(out.contains("cross-region copy"), "{out}");
    // Nothing copied yet: the destination holds no visible object.
    assert!(data.visible_files("cn-shanghai").is_empty());
    let out = data.ok(&["replicate", "--once"]);
    assert!(out.contains("verified"), "{out}");
    let copies = data.visible_files("cn-shanghai");
    assert_eq!(copies.len(), 1, "{copies:?}");
    assert_eq!(sha256_file(&copies[0]), sha256_file(&file));

    let server = Server::start(&data);
    let q = v1_params(
        "GET",
        &ak,
        &secret,
        &[
            ("DBInstanceId", "rm-bb0001"),
            ("RegionId", "cn-hangzhou"),
            ("StartTime", "2026-01-01T00:00Z"),
            ("EndTime", "2026-01-03T00:00Z"),
        ],
        Utc::now(),
    );
    let resp = http_get(&format!("{}/?{q}", server.url())).await;
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(body["TotalRecordCount"], 1, "{body}");
    let item = &body["Items"]["Item"][0];
    assert_eq!(
        item["CrossBackupSetFile"],
        "cn-hangzhou_rm-bb0001_hins8161055_data_20260102030405_qp.xb"
    );
    assert_eq!(item["InstanceId"], 8161055);
    let link = item["CrossBackupDownloadLink"].as_str().unwrap();
    assert!(link.starts_with(&server.url()), "{link}");
    let bytes = http_get(link).await.bytes().await.unwrap();
    assert_eq!(bytes.len() as u64, std::fs::metadata(&file).unwrap().len());
    assert_eq!(bytes.as_ref(), std::fs::read(&file).unwrap().as_slice());
}

#[test]
fn serve_on_an_empty_data_dir_says_what_to_do_next() {
    let data = DataDir::new();
    let mut server = Server::start(&data);
    server.child.kill().unwrap();
    let mut err = String::new();
    server
        .child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(
        err.contains("region add cn-hangzhou") && err.contains("account create"),
        "{err}"
    );
}

#[test]
fn bad_cli_input_is_refused_with_a_message() {
    let data = DataDir::new();
    data.seed();
    // `args` with the value after `flag` replaced.
    let with = |mut args: Vec<&'static str>, flag: &str, value: &'static str| {
        let at = args.iter().position(|a| *a == flag).unwrap() + 1;
        args[at] = value;
        args
    };
    let t0 = "2026-01-01T00:00:00Z";
    let cases: Vec<Vec<&str>> = vec![
        vec!["region", "add", "CN_Shanghai"],
        vec!["account", "create", "alice"],
        instance_args("rm-bb0001", "MySQL", "5.7"),
        with(instance_args("rm-x", "MySQL", "5.7"), "--region", "nowhere"),
        with(
            instance_args("rm-y", "MySQL", "5.7"),
            "--category",
            "Premium",
        ),
        vec!["policy", "set", "rm-bb0001", "--cross-region", "nowhere"],
        with(POLICY_ARGS.to_vec(), "--retention-days", "3"),
        register_args("/nonexistent", "P", t0),
        register_args("/etc/hostname", "X", t0),
        with(
            register_args("/etc/hostname", "P", t0),
            "--start",
            "yesterday",
        ),
    ];
    for args in &cases {
        let out = data
            .cmd(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("error"), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[tokio::test]
async fn serve_runs_copies_and_reports_them_in_metrics() {
    let data = DataDir::new();
    data.seed();
    let server = Server::start(&data);
    let file = make_file(data.path(), "set.xb", 2);
    data.register(&file, "2026-01-05T00:00:00Z");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let text = http_get(&server.metrics_url()).await.text().await.unwrap();
        if text.contains("xbak_copies_completed_total 1") {
            let two_mib = 2 * 1024 * 1024;
            // The set started 2026-01-05T00:00:00Z and is copied: no lag, that recovery point.
            for line in [
                format!("xbak_copy_bytes_completed_total {two_mib}"),
                "xbak_catalog_copies{state=\"completed\"} 1".to_owned(),
                format!("xbak_copy_bytes_total{{dest_region=\"cn-shanghai\"}} {two_mib}"),
                "xbak_copy_lag_seconds{instance=\"rm-bb0001\"} 0".to_owned(),
                "xbak_recovery_point_timestamp_seconds{instance=\"rm-bb0001\"} 1767571200"
                    .to_owned(),
            ] {
                assert!(text.contains(&line), "{line} missing from:\n{text}");
            }
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the server's worker never completed the copy:\n{text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let copies = data.visible_files("cn-shanghai");
    assert_eq!(copies.len(), 1);
    assert_eq!(sha256_file(&copies[0]), sha256_file(&file));
}

/// `replicate --once` copies (throttled by `--bwlimit`), then deletes copies older than the
/// policy's retention (1825 days in the seed): the 2020 set is copied and expired at once.
#[test]
fn replicate_once_throttles_then_applies_retention() {
    let data = DataDir::new();
    data.seed();
    let old = make_file(data.path(), "old.xb", 1);
    let new = make_file(data.path(), "new.xb", 1);
    data.register(&old, "2020-01-01T00:00:00Z");
    data.register(&new, "2026-01-05T00:00:00Z");
    let out = data
        .cmd(&["replicate", "--once", "--bwlimit", "fast"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--bwlimit"), "{err}");
    let out = data.ok(&["replicate", "--once", "--bwlimit", "64M"]);
    assert!(out.contains("2 copies completed"), "{out}");
    assert!(out.contains("1 expired copies deleted"), "{out}");
    let copies = data.visible_files("cn-shanghai");
    assert_eq!(copies.len(), 1, "{copies:?}");
    assert_eq!(sha256_file(&copies[0]), sha256_file(&new));
    let out = data.ok(&["replicate", "--once"]);
    assert!(out.contains("0 expired copies deleted"), "{out}");
}

/// `policy set --off` stops new copies; turning it back on queues the copy of the newest set of
/// the last 24 hours (as ModifyInstanceCrossBackupPolicy does), once.
#[test]
fn policy_set_off_then_on_copies_the_latest_set_once() {
    let data = DataDir::new();
    data.seed();
    let off = policy_set(&data, &["--off"]);
    assert!(off.contains("cross-region copies off"), "{off}");
    let file = make_file(data.path(), "recent.xb", 1);
    let hour_ago = (chrono::Utc::now() - chrono::Duration::hours(1))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    data.register(&file, &hour_ago);
    let idle = data.ok(&["replicate", "--once"]);
    assert!(idle.contains("0 copies completed"), "{idle}");

    let on = policy_set(&data, &["--retention-days", "30", "--log-backup"]);
    assert!(on.contains("queued copy"), "{on}");
    let copied = data.ok(&["replicate", "--once"]);
    assert!(copied.contains("1 copies completed"), "{copied}");
    assert_eq!(data.visible_files("cn-shanghai").len(), 1);

    let again = policy_set(&data, &[]);
    assert!(
        again.contains("no backup set of the last 24 hours"),
        "{again}"
    );
    // Options not given keep the stored values (as the API does).
    assert!(again.contains("kept 30 days"), "{again}");
    let mut refused = data.cmd(&policy_set_args(&["--off", "--log-backup"]));
    let out = refused.output().unwrap();
    assert!(
        !out.status.success(),
        "--off with --log-backup must be refused"
    );
}

/// `policy set rm-bb0001 --cross-region cn-shanghai` and `extra`.
fn policy_set_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "policy",
        "set",
        "rm-bb0001",
        "--cross-region",
        "cn-shanghai",
    ];
    args.extend_from_slice(extra);
    args
}

fn policy_set(data: &DataDir, extra: &[&str]) -> String {
    data.ok(&policy_set_args(extra))
}
