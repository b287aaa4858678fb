//! The replay guard's cost: latency of `NonceGuard::check_and_remember` (a catalog claim, group
//! committed) at a steady request rate, and the process's memory over the run.
//!
//! ```text
//! cargo run --release -p xbak-server --example nonce_guard_bench -- BACKEND RATE SECONDS TASKS
//! ```
//!
//! BACKEND is `sqlite` (a fresh file under the system temp dir) or `postgres` (a scratch database
//! on `XBAK_TEST_POSTGRES_URL`); RATE checks/s in total, paced over TASKS tasks (default 15000,
//! 60, 32). Every check is a fresh nonce, so every one is a catalog claim. Prints the latency
//! percentiles (10 µs resolution) and VmRSS every 10 s.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use xbak_catalog::Catalog;
use xbak_server::nonces::NonceGuard;
use xbak_testkit::bench::arg;

/// Latency buckets of 10 µs up to 100 ms (the last also counts anything slower).
const BUCKETS: usize = 10_000;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let backend = args.next().unwrap_or_else(|| "sqlite".into());
    let rate: u64 = arg(&mut args, "RATE", 15_000);
    let seconds: u64 = arg(&mut args, "SECONDS", 60);
    let tasks: u64 = arg(&mut args, "TASKS", 32);
    let dir = tempfile::tempdir().unwrap();
    let scratch;
    let catalog: Arc<dyn Catalog> = match backend.as_str() {
        "sqlite" => Arc::new(
            xbak_catalog::sqlite::SqliteCatalog::open(&dir.path().join("catalog.db"))
                .await
                .unwrap(),
        ),
        "postgres" => {
            scratch = xbak_catalog::suite::scratch::ScratchDatabase::create().await;
            Arc::new(
                xbak_catalog::postgres::PostgresCatalog::open(scratch.url())
                    .await
                    .unwrap(),
            )
        }
        other => panic!("BACKEND: sqlite or postgres, not {other}"),
    };
    let guard = Arc::new(NonceGuard::new(catalog, Duration::from_secs(900)));
    let histogram: Arc<Vec<AtomicU64>> =
        Arc::new((0..BUCKETS).map(|_| AtomicU64::new(0)).collect());
    println!(
        "{backend}: {rate} checks/s over {tasks} tasks for {seconds} s; VmRSS at start {} KiB",
        status("VmRSS")
    );
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let period = Duration::from_secs_f64(tasks as f64 / rate as f64);
    let workers: Vec<_> = (0..tasks)
        .map(|t| {
            let (guard, histogram) = (guard.clone(), histogram.clone());
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(period);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let mut i = 0u64;
                while Instant::now() < deadline {
                    tick.tick().await;
                    let nonce = format!("{t}-{i}-{:032x}", rand::random::<u128>());
                    let started = Instant::now();
                    let fresh = guard
                        .check_and_remember("LTAIbench", &nonce, chrono::Utc::now())
                        .await
                        .expect("catalog claim");
                    assert!(fresh);
                    let bucket = (started.elapsed().as_micros() / 10) as usize;
                    histogram[bucket.min(BUCKETS - 1)].fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
            })
        })
        .collect();
    let watcher = tokio::spawn(async move {
        let started = Instant::now();
        loop {
            tokio::time::sleep(Duration::from_secs(10)).await;
            println!(
                "t={:>4}s VmRSS {} KiB",
                started.elapsed().as_secs(),
                status("VmRSS")
            );
        }
    });
    for w in workers {
        w.await.unwrap();
    }
    watcher.abort();
    let counts: Vec<u64> = histogram
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .collect();
    let total: u64 = counts.iter().sum();
    let pct = |p: f64| {
        let want = (total as f64 * p).ceil() as u64;
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= want {
                return format!("{:.2} ms", (i + 1) as f64 / 100.0);
            }
        }
        "-".into()
    };
    println!(
        "{total} checks ({:.0}/s): p50 ≤ {}, p90 ≤ {}, p99 ≤ {}, p99.9 ≤ {}; VmRSS {} KiB, VmHWM {} KiB",
        total as f64 / seconds as f64,
        pct(0.5),
        pct(0.9),
        pct(0.99),
        pct(0.999),
        status("VmRSS"),
        status("VmHWM"),
    );
}

/// A `/proc/self/status` field in KiB (0 where there is none).
fn status(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
        .unwrap_or(0)
}
