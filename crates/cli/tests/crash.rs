//! Crash safety of the copy engine: a worker killed with SIGKILL mid-copy leaves nothing visible in
//! the destination, and the copy completes, verified, on the next run.

mod common;

use common::*;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Largest staging file under a region folder (how far a copy got).
fn staged_bytes(data: &DataDir, region: &str) -> u64 {
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

#[test]
fn killed_copies_leave_nothing_visible_and_finish_on_restart() {
    let data = DataDir::new();
    data.seed();
    let file = make_file(data.path(), "big.xb", 256);
    data.register(&file, "2026-02-01T00:00:00Z");
    let size = std::fs::metadata(&file).unwrap().len();

    // Kill at several points of the copy: early, middle, late.
    let mut kills = 0;
    for fraction in [0.1, 0.5, 0.85] {
        let mut child = data
            .cmd(&["replicate", "--once", "--lease-seconds", "1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        let target = (size as f64 * fraction) as u64;
        let mut finished = false;
        while staged_bytes(&data, "cn-shanghai") < target {
            if child.try_wait().unwrap().is_some() {
                finished = true;
                break;
            }
            assert!(Instant::now() < deadline, "copy made no progress");
            std::thread::sleep(Duration::from_millis(5));
        }
        if finished {
            // The machine copied faster than we could aim; the point of this round is moot.
            break;
        }
        child.kill().unwrap(); // SIGKILL
        kills += 1;
        child.wait().unwrap();
        assert!(
            data.visible_files("cn-shanghai").is_empty(),
            "a half-copied object became visible after a kill at {fraction}"
        );
        // Let the 1 s lease lapse (the catalog keeps whole seconds).
        std::thread::sleep(Duration::from_millis(2100));
    }

    assert!(kills >= 2, "only {kills} kills landed mid-copy");
    let out = data.ok(&["replicate", "--once", "--lease-seconds", "1"]);
    assert!(out.contains("1 copies completed"), "{out}");
    let copies = data.visible_files("cn-shanghai");
    assert_eq!(copies.len(), 1, "{out}: {copies:?}");
    assert_eq!(sha256_file(&copies[0]), sha256_file(&file));
    // Nothing is left to do and nothing is queued twice.
    let again = data.ok(&["replicate", "--once"]);
    assert!(!again.contains("verified"), "{again}");
    assert_eq!(data.visible_files("cn-shanghai").len(), 1);
}
