//! Roles on one catalog, black-box: a `replicate --once` killed mid-copy is taken over at once by
//! the next one on this host (not after its 60 s lease), a live worker's job is named as skipped,
//! and two `xbak worker`s (SQLite file and PostgreSQL) run a daily schedule once and each
//! retention period's sweep once.

mod common;

use common::*;
use std::collections::HashMap;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use xbak_catalog::suite::scratch::ScratchDatabase;
use xbak_catalog::Catalog;

/// A `replicate --once` of the registered 16 MB set throttled to `rate`.
fn replicate_throttled(data: &DataDir, rate: &str) -> Child {
    spawn_quiet(&mut data.cmd(&["replicate", "--once", "--bwlimit", rate]))
}

/// Waits (at most 60 s) until `ready` holds, while `child` is still running.
fn wait_while_running(child: &mut Child, what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "replicate ended before {what}"
        );
        assert!(Instant::now() < deadline, "no {what} within 60 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits (see [`wait_while_running`]) until a copy of `data`'s catalog is claimed: its lease
/// shows as soon as `child` takes the copy, staged bytes only later.
fn wait_for_claimed_copy(data: &DataDir, child: &mut Child) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let catalog = rt
        .block_on(xbak_catalog::sqlite::SqliteCatalog::open(
            &data.path().join("catalog.db"),
        ))
        .unwrap();
    wait_while_running(child, "a claimed copy", || {
        let held = catalog.held_leases(xbak_catalog::LeasedQueue::Copies, chrono::Utc::now());
        !rt.block_on(held).unwrap().is_empty()
    });
}

/// A throttled `replicate --once` (1 MB/s: 16 s for the set), two seconds after it claimed the
/// copy. Not "once bytes are staged": the parts in flight may all land near the end of the copy,
/// and a staged file that lives a few milliseconds before it is published was missed by a 20 ms
/// poll now and then (the copy then ran to its end, and the test failed).
fn replicate_mid_copy(data: &DataDir) -> Child {
    let mut child = replicate_throttled(data, "1M");
    wait_for_claimed_copy(data, &mut child);
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        child.try_wait().unwrap().is_none(),
        "replicate ended 2 s into a 16 s copy"
    );
    child
}

fn seeded_with_a_set() -> (DataDir, std::path::PathBuf) {
    let data = DataDir::new();
    data.seed();
    let file = make_file(data.path(), "big.xb", 16);
    data.register(&file, "2026-02-01T00:00:00Z");
    (data, file)
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
fn a_killed_replicate_is_taken_over_at_once_and_completed_once() {
    let (data, file) = seeded_with_a_set();
    let mut killed = replicate_mid_copy(&data);
    killed.kill().unwrap(); // SIGKILL, mid-copy, its 60 s lease still running
    killed.wait().unwrap();

    let out = data.ok(&["replicate", "--once"]);
    assert!(out.contains("1 copies completed"), "{out}");
    assert!(out.contains(", 0 skipped"), "{out}");
    let copies = data.visible_files("cn-shanghai");
    assert_eq!(copies.len(), 1, "{copies:?}");
    assert_eq!(sha256_file(&copies[0]), sha256_file(&file));

    // Completed once, and nothing is left to do.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let catalog = rt
        .block_on(xbak_catalog::sqlite::SqliteCatalog::open(
            &data.path().join("catalog.db"),
        ))
        .unwrap();
    let copy = rt.block_on(catalog.copy(1)).unwrap().unwrap();
    assert_eq!(copy.status, xbak_domain::CopyStatus::Completed);
    let counts = rt.block_on(catalog.copy_counts()).unwrap();
    assert_eq!((counts.pending, counts.completed), (0, 1));
    let again = data.ok(&["replicate", "--once"]);
    assert!(again.contains("0 copies completed"), "{again}");
    assert_eq!(data.visible_files("cn-shanghai").len(), 1);
}

#[test]
fn a_job_held_by_a_live_worker_is_named_as_skipped() {
    let (data, _file) = seeded_with_a_set();
    // Slow enough (64 s) that its copy is still running when the second run looks.
    let mut live = replicate_throttled(&data, "256K");
    wait_for_claimed_copy(&data, &mut live);
    let out = data.ok(&["replicate", "--once"]);
    live.kill().unwrap();
    live.wait().unwrap();
    let held = format!(
        "copy 1: skipped, held by {} pid {} until ",
        host_name(),
        live.id()
    );
    assert!(out.contains(&held), "{out}");
    assert!(
        out.contains("0 copies completed") && out.contains(", 1 skipped"),
        "{out}"
    );
}

/// `xbak worker` logging to a file, with 1 s retention periods.
fn start_worker(data: &DataDir, log: &std::path::Path) -> Child {
    data.cmd(&["worker", "--retention-every", "1"])
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

/// SIGTERM, then waits for a graceful exit.
fn terminate(child: &mut Child) {
    let pid = child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "worker exited with {status}");
}

/// Without ANSI colours.
fn plain(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Two workers on `data`'s catalog with a daily window opening now: one scheduled backup, and
/// one retention sweep per period.
fn two_workers_run_each_schedule_and_sweep_once(data: &DataDir, name: &str) {
    let db = format!("xbak_roles_{}_{name}", std::process::id());
    let _cleanup = thousand_row_database(&db);
    data.ok(&["region", "add", "cn-hangzhou"]);
    data.ok(&["region", "add", "cn-shanghai"]);
    data.ok(&["account", "create", "alice"]);
    create_mariadb_instance(
        data,
        "rm-roles",
        &["--instance-number", "111", "--dsn", DSN],
    );
    schedule_logical_now(data, "rm-roles", &db);
    let logs = [data.path().join("w1.log"), data.path().join("w2.log")];
    let mut workers: Vec<Child> = logs.iter().map(|l| start_worker(data, l)).collect();
    wait_for_scheduled_run(data, "rm-roles");
    // Let both workers look at the schedule again and sweep a few periods.
    std::thread::sleep(Duration::from_secs(4));
    for w in &mut workers {
        terminate(w);
    }

    let runs = data.ok(&["backup", "runs", "rm-roles"]);
    assert_eq!(
        runs.lines().filter(|l| l.contains("scheduled")).count(),
        1,
        "{runs}"
    );
    let logs: Vec<String> = logs
        .iter()
        .map(|l| plain(&std::fs::read_to_string(l).unwrap()))
        .collect();
    let all = logs.join("\n");
    assert_eq!(all.matches("scheduled backup starting").count(), 1, "{all}");
    // Each retention period swept by one worker only.
    let mut periods: HashMap<String, usize> = HashMap::new();
    for line in all.lines().filter(|l| l.contains("retention sweep")) {
        let period = line
            .split("period=")
            .nth(1)
            .and_then(|p| p.split_whitespace().next())
            .unwrap_or_else(|| panic!("no period in {line}"));
        *periods.entry(period.to_owned()).or_default() += 1;
    }
    assert!(periods.len() >= 3, "{periods:?}\n{all}");
    assert!(periods.values().all(|&n| n == 1), "{periods:?}\n{all}");
    // Both stopped gracefully on SIGTERM.
    assert!(
        logs.iter().all(|l| l.contains("xbak worker stopped")),
        "{all}"
    );
}

#[test]
fn two_workers_on_a_sqlite_catalog_run_a_schedule_once() {
    two_workers_run_each_schedule_and_sweep_once(&DataDir::new(), "sqlite");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_a_postgres_catalog_run_a_schedule_once() {
    let scratch = ScratchDatabase::create().await;
    let data = DataDir::with_catalog(scratch.url());
    tokio::task::spawn_blocking(move || two_workers_run_each_schedule_and_sweep_once(&data, "pg"))
        .await
        .unwrap();
}
