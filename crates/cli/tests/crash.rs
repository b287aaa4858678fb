//! Crash safety of the copy engine: a worker killed with SIGKILL mid-copy leaves nothing visible in
//! the destination, and the copy completes, verified, on the next run, resuming from what the
//! killed workers already wrote rather than from zero.

mod common;

use common::*;
use std::time::{Duration, Instant};
use xbak_storage::resumable::PARTS_IN_FLIGHT;
use xbak_storage::PART_SIZE;

/// Bytes a process has written so far (`wchar` of `/proc/<pid>/io`: every write, the copy's
/// and the catalog's alike, so an upper bound of what it sent to the destination).
fn bytes_written_by(pid: u32) -> u64 {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).expect("reading /proc/<pid>/io");
    io.lines()
        .find_map(|l| l.strip_prefix("wchar: "))
        .and_then(|v| v.trim().parse().ok())
        .expect("wchar in /proc/<pid>/io")
}

#[test]
fn killed_copies_leave_nothing_visible_and_resume_on_restart() {
    let data = DataDir::new();
    data.seed();
    let file = make_file(data.path(), "big.xb", 256);
    data.register(&file, "2026-02-01T00:00:00Z");
    let size = std::fs::metadata(&file).unwrap().len();

    // Kill at several points of the copy: early, middle, late.
    let mut kills = 0u64;
    let mut killed_wrote = 0; // what the killed workers wrote, all wasted by a restart from zero
    for fraction in [0.1, 0.3, 0.5, 0.7, 0.85] {
        let mut child =
            spawn_quiet(&mut data.cmd(&["replicate", "--once", "--lease-seconds", "1"]));
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
        killed_wrote += bytes_written_by(child.id());
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

    // The last run took up the killed runs' staging file: it sent only the rest.
    let resumed = out
        .split(", resumed at byte ")
        .nth(1)
        .unwrap_or_else(|| panic!("the last run started from zero: {out}"));
    let mut numbers = resumed
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|n| n.parse::<u64>().unwrap());
    let (resumed_from, last_sent) = (numbers.next().unwrap(), numbers.next().unwrap());
    assert!(
        resumed_from > 0 && last_sent + resumed_from == size,
        "{out}"
    );
    let sent = killed_wrote + last_sent;
    let from_zero = killed_wrote + size;
    eprintln!(
        "{kills} kills: wrote {:.1} MB for a {:.1} MB set; restarts from zero would have written {:.1} MB",
        sent as f64 / 1e6,
        size as f64 / 1e6,
        from_zero as f64 / 1e6
    );
    // Each kill may cost the parts in flight (and what the catalog wrote); nothing else twice.
    let waste = kills * (PARTS_IN_FLIGHT as u64 + 1) * PART_SIZE as u64;
    assert!(sent < size + waste, "wrote {sent} for {size}");
    assert!(sent < from_zero, "wrote {sent}, from zero {from_zero}");

    // Nothing is left to do and nothing is queued twice.
    let again = data.ok(&["replicate", "--once"]);
    assert!(!again.contains("verified"), "{again}");
    assert_eq!(data.visible_files("cn-shanghai").len(), 1);
}
